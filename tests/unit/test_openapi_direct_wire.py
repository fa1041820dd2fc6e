"""An OpenAPI call sent straight on the client's aiohttp wire (http.direct_wire) comes back exactly as through the
client: the same results for every kind of answer, the client's cookies and timeouts, a safe request resent once
when a pooled connection was closed under it, and the client itself used whenever it would do more."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.abc
import mcp_types
import pytest

from mcp_gateway.http import direct_wire, new_client
from mcp_gateway.openapi import invoke as invoke_module
from mcp_gateway.openapi.invoke import invoke
from mcp_gateway.openapi.model import HttpBinding, ParameterBinding, ToolSpec
from tests.unit.test_http_wire import _response, scripted_server

pytestmark = pytest.mark.anyio

GET_ITEM = ToolSpec(
    name="getItem",
    source_name="getItem",
    description="",
    input_schema={"type": "object"},
    binding=HttpBinding("GET", "/items/{id}", (ParameterBinding("id", "id", "path", required=True),)),
)
POST_ITEM = ToolSpec(
    name="postItem",
    source_name="postItem",
    description="",
    input_schema={"type": "object"},
    binding=HttpBinding("POST", "/items/{id}", (ParameterBinding("id", "id", "path", required=True),)),
)

Answer = Callable[[anyio.abc.SocketStream, bytes, bytes], Awaitable[None]]


def _answers() -> dict[str, bytes]:
    document = json.dumps({"id": "a", "tags": ["x"]}).encode()
    return {
        "json": _response("200 OK", document, "Content-Type: application/json"),
        "gzip": _response("200 OK", gzip.compress(document), "Content-Type: application/json",
                          "Content-Encoding: gzip"),
        "chunked": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        "error": _response("503 Service Unavailable", b'{"error": "down"}', "Content-Type: application/json"),
        "binary": _response("200 OK", b"\x89PNG\r\n\x1a\n", "Content-Type: image/png"),
        "empty": _response("204 No Content", b""),
        "latin": _response("200 OK", "café".encode("latin-1"), "Content-Type: text/plain; charset=latin-1"),
    }


async def _answer_by_path(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
    path = head.split(b" ")[1].decode()
    await stream.send(_answers()[path.rsplit("/", 1)[1]])


async def _results(monkeypatch: pytest.MonkeyPatch, *, direct: bool) -> list[mcp_types.CallToolResult]:
    if not direct:
        monkeypatch.setattr(invoke_module, "direct_wire", lambda client: None)
    results = []
    async with scripted_server(_answer_by_path) as (url, _), new_client(timeout=10.0) as client:
        await invoke(client, GET_ITEM, url, {"id": "json"})  # the first request opens the wire's session
        if direct:
            assert direct_wire(client) is not None
        for kind in _answers():
            results.append(await invoke(client, GET_ITEM, url, {"id": kind}))
    monkeypatch.undo()
    return results


async def test_every_kind_of_answer_comes_back_as_through_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    through_client = await _results(monkeypatch, direct=False)
    direct = await _results(monkeypatch, direct=True)

    def comparable(result: mcp_types.CallToolResult) -> dict[str, Any]:
        # The binary result's URI names the port of its own server.
        dumped = result.model_dump(mode="json", by_alias=True)
        for block in dumped["content"]:
            block.get("resource", {}).pop("uri", None)
        return dumped

    assert [comparable(result) for result in direct] == [comparable(result) for result in through_client]
    assert "café" in json.dumps(comparable(direct[-1]), ensure_ascii=False)
    assert direct[3].is_error and "HTTP 503 Service Unavailable" in json.dumps(comparable(direct[3]))


async def test_the_wire_is_used_only_where_the_client_would_add_nothing() -> None:
    async with scripted_server(_answer_by_path) as (url, _), new_client(timeout=10.0) as client:
        assert direct_wire(client) is None  # no session before the first request
        await invoke(client, GET_ITEM, url, {"id": "json"})
        assert direct_wire(client) is not None

        async def hook(message: Any) -> None:
            pass

        for kind in ("request", "response"):
            client.event_hooks[kind].append(hook)
            assert direct_wire(client) is None
            client.event_hooks[kind].clear()
        client.follow_redirects = True
        assert direct_wire(client) is None
        client.follow_redirects = False
        request_log = logging.getLogger("httpx2")
        level = request_log.level
        request_log.setLevel(logging.INFO)
        try:
            assert direct_wire(client) is None
        finally:
            request_log.setLevel(level)
        assert direct_wire(client) is not None
    assert direct_wire(client) is None  # closed


async def test_cookies_set_by_the_upstream_land_in_the_clients_jar() -> None:
    async def set_cookie(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(_response("200 OK", b"ok", "Content-Type: text/plain", "Set-Cookie: session=s1; Path=/"))

    async with scripted_server(set_cookie) as (url, _), new_client(timeout=10.0) as client:
        await invoke(client, GET_ITEM, url, {"id": "1"})
        client.cookies.clear()
        assert direct_wire(client) is not None
        result = await invoke(client, GET_ITEM, url, {"id": "2"})
        assert not result.is_error
        assert client.cookies.get("session") == "s1"


def _closing_every_second_answer() -> Answer:
    """Answers a connection's first request, then closes it when the next one arrives (a keep-alive timeout met
    in flight)."""
    answered: set[int] = set()

    async def answer(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        if id(stream) in answered:
            await stream.aclose()
            return
        answered.add(id(stream))
        await stream.send(_response("200 OK", b'{"ok": true}', "Content-Type: application/json"))

    return answer


async def test_a_safe_request_on_a_connection_closed_under_it_is_sent_once_more() -> None:
    answer = _closing_every_second_answer()
    async with scripted_server(answer) as (url, heads), new_client(timeout=10.0) as client:
        assert not (await invoke(client, GET_ITEM, url, {"id": "1"})).is_error
        assert direct_wire(client) is not None
        result = await invoke(client, GET_ITEM, url, {"id": "2"})
    assert not result.is_error, result
    assert len(heads) == 3  # the first call, the second on the closed connection, and once more on a new one


async def test_an_unsafe_request_is_never_sent_twice() -> None:
    answer = _closing_every_second_answer()
    async with scripted_server(answer) as (url, heads), new_client(timeout=10.0) as client:
        assert not (await invoke(client, POST_ITEM, url, {"id": "1"})).is_error
        assert direct_wire(client) is not None
        result = await invoke(client, POST_ITEM, url, {"id": "2"})
    assert result.is_error
    assert "upstream unreachable" in json.dumps(result.model_dump(mode="json"))
    assert len(heads) == 2
