"""A response whose body the caller read on aiohttp's wire (http_wire.as_httpx_response with `content`) is the
response httpx2 builds around the same bytes, and a body decoded as UTF-8 in one go is what httpx2's incremental
decoder makes of it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from mcp_gateway.http import httpx
from mcp_gateway.http_wire import as_httpx_response
from mcp_gateway.openapi.response import to_call_result

REQUEST = httpx.Request("GET", "http://api.example/items/1")


def _wire_answer(status: int, headers: list[tuple[bytes, bytes]]) -> aiohttp.ClientResponse:
    answer = SimpleNamespace(status=status, raw_headers=headers, version=SimpleNamespace(major=1, minor=1),
                             reason="OK")
    return cast("aiohttp.ClientResponse", answer)


@given(st.binary(max_size=300))
def test_a_body_read_on_the_wire_is_the_response_httpx2_builds(body: bytes) -> None:
    headers = [(b"Content-Type", b"text/plain"), (b"Content-Length", str(len(body)).encode())]
    ours = as_httpx_response(_wire_answer(200, headers), REQUEST, body)
    theirs = httpx.Response(200, headers=headers, content=body, request=REQUEST)
    assert ours.content == theirs.content == body
    assert ours.text == theirs.text
    assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert (ours.is_stream_consumed, ours.is_closed) == (True, True)
    assert ours.request is REQUEST and ours.reason_phrase == "OK" and ours.http_version == "HTTP/1.1"


@given(st.binary(min_size=1, max_size=300) | st.text(min_size=1, max_size=100).map(lambda text: text.encode()))
def test_a_utf8_body_is_decoded_as_httpx2_decodes_it(body: bytes) -> None:
    def result_text(content_type: str) -> Any:
        response = httpx.Response(200, headers={"content-type": content_type}, content=body, request=REQUEST)
        return to_call_result(response).content[0]

    plain = result_text("text/plain")
    assert plain.text == httpx.Response(200, content=body, headers={"content-type": "text/plain"}).text
    assert result_text("text/plain; charset=utf-8").text == plain.text
