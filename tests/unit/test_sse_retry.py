"""The retry hint of a request's event stream is rewritten to 0, whole lines only, nothing else touched."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mcp_gateway.http import httpx
from mcp_gateway.upstreams.sse_retry import resume_request_streams_at_once


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


async def _read(method: str, chunks: list[bytes], content_type: str = "text/event-stream") -> bytes:
    request = httpx.Request(method, "http://upstream.test/mcp")
    response = httpx.Response(200, headers={"content-type": content_type}, stream=_Chunks(chunks), request=request)
    await resume_request_streams_at_once(response)
    return b"".join([chunk async for chunk in response.aiter_raw()])


@pytest.mark.anyio
async def test_a_post_streams_retry_hint_becomes_zero_even_split_across_chunks() -> None:
    body = await _read("POST", [b"id: a::1\r\nret", b"ry: 5000\r\ndata: \r\n\r\ndata: retry: 7\n", b"retry:300"])
    assert body == b"id: a::1\r\nretry: 0\r\ndata: \r\n\r\ndata: retry: 7\nretry: 0"


@pytest.mark.anyio
async def test_the_standalone_stream_and_json_answers_keep_what_the_server_sent() -> None:
    assert await _read("GET", [b"retry: 5000\n\n"]) == b"retry: 5000\n\n"
    assert await _read("POST", [b'{"retry: 5000\n"}'], "application/json") == b'{"retry: 5000\n"}'
