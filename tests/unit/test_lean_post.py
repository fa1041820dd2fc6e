"""A lean call's POST sent on the upstream client's aiohttp session (upstreams/lean_post.py) arrives as the client
would have sent it and comes back as the client would have returned it; where the client's own layers could make a
difference (auth, cookies, unknown hooks), the client sends it. Against a real server on loopback."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import anyio.abc
import pytest

from mcp_gateway import request_id
from mcp_gateway.http import httpx, new_client
from mcp_gateway.request_id import tag_outbound_hook
from mcp_gateway.upstreams.lean_post import LeanPost
from tests.e2e.gateway_process import free_port
from tests.unit.test_http_wire import _header, _response, scripted_server

pytestmark = pytest.mark.anyio

BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}'
CALL_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json",
                "mcp-method": "tools/call", "mcp-name": "echo"}
ANSWER = b'{"jsonrpc":"2.0","id":1,"result":{"content":[]}}'


async def plain(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
    await stream.send(_response("200 OK", ANSWER, "Content-Type: application/json"))


def gateway_client(**options: Any) -> httpx.AsyncClient:
    """An upstream client as upstreams/mcp.py builds it: the request-id tag is its one request hook."""
    client = new_client(timeout=10.0, **options)
    client.event_hooks["request"].append(tag_outbound_hook)
    return client


@pytest.fixture
def client_sends(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The requests the client's own `send` made (by URL path)."""
    sent: list[str] = []
    original = httpx.AsyncClient.send

    async def counting(self: httpx.AsyncClient, request: httpx.Request, **options: Any) -> httpx.Response:
        sent.append(request.url.path)
        return await original(self, request, **options)

    monkeypatch.setattr(httpx.AsyncClient, "send", counting)
    yield sent


def heads_alike(head: bytes) -> set[tuple[str, str]]:
    lines = head.decode().split("\r\n")[1:]
    return {(name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines)}


async def test_a_plain_answer_is_read_on_the_session_with_the_headers_the_client_would_send(
    client_sends: list[str],
) -> None:
    client = gateway_client(headers={"X-Api-Key": "secret"})
    async with scripted_server(plain) as (url, heads), client:
        token = request_id._current.set("req-42")
        try:
            by_client = await client.post(f"{url}/mcp", content=BODY, headers=CALL_HEADERS)  # opens the session
            by_session = await LeanPost(client, f"{url}/mcp").send(BODY, CALL_HEADERS)
        finally:
            request_id._current.reset(token)
    assert client_sends == ["/mcp"]  # the second POST did not go through the client
    assert by_session == ANSWER == by_client.content
    assert heads_alike(heads[1]) == heads_alike(heads[0])
    assert _header(heads[1], "x-request-id") == ["req-42"] and _header(heads[1], "x-api-key") == ["secret"]
    assert heads[1].split(b"\r\n")[0] == b"POST /mcp HTTP/1.1"


async def test_an_answer_that_is_not_plain_comes_back_as_the_clients_response(client_sends: list[str]) -> None:
    async def encoded(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(_response("200 OK", gzip.compress(ANSWER), "Content-Type: application/json",
                                    "Content-Encoding: gzip", "Set-Cookie: sticky=a"))

    hooked: list[int] = []

    async def on_response(response: httpx.Response) -> None:
        hooked.append(response.status_code)

    client = gateway_client()
    client.event_hooks["response"].append(on_response)
    async with scripted_server(encoded) as (url, _), client:
        await client.post(f"{url}/open", content=BODY, headers=CALL_HEADERS)
        client.cookies.clear()  # as if the session had been opened without a cookie
        post = LeanPost(client, f"{url}/mcp")
        response = await post.send(BODY, CALL_HEADERS)
        assert isinstance(response, httpx.Response)
        try:
            assert json.loads(await response.aread()) == json.loads(ANSWER)  # decoded by httpx2
        finally:
            await response.aclose()
        assert client.cookies.get("sticky") == "a"
        assert client_sends == ["/open"]
        await post.send(BODY, CALL_HEADERS)  # with a cookie in the jar, the client sends it
    assert client_sends == ["/open", "/mcp"]
    assert hooked == [200, 200, 200]


async def test_an_event_stream_answer_is_read_through_the_client_response() -> None:
    async def events(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        event = b"event: message\ndata: " + ANSWER + b"\n\n"
        await stream.send(_response("200 OK", event, "Content-Type: text/event-stream"))

    client = gateway_client()
    async with scripted_server(events) as (url, heads), client:
        await client.post(f"{url}/mcp", content=BODY, headers=CALL_HEADERS)
        post = LeanPost(client, f"{url}/mcp")
        for _ in range(2):
            response = await post.send(BODY, CALL_HEADERS)
            assert isinstance(response, httpx.Response)
            try:
                data = [event.data async for event in httpx.EventSource(response)]
            finally:
                await response.aclose()
            assert data == [ANSWER.decode()]
    assert len(heads) == 3


async def test_a_client_with_auth_sends_the_post_itself(client_sends: list[str]) -> None:
    client = gateway_client(auth=httpx.BasicAuth("u", "p"))
    async with scripted_server(plain) as (url, heads), client:
        await client.post(f"{url}/open", content=BODY, headers=CALL_HEADERS)
        assert await LeanPost(client, f"{url}/mcp").send(BODY, CALL_HEADERS) is not None
    assert client_sends == ["/open", "/mcp"]
    assert _header(heads[1], "authorization") == ["Basic dTpw"]


async def test_a_refused_connection_is_httpx2s_connect_error() -> None:
    client = gateway_client()
    async with scripted_server(plain) as (url, _), client:
        await client.post(f"{url}/open", content=BODY, headers=CALL_HEADERS)
        with pytest.raises(httpx.ConnectError):
            await LeanPost(client, f"http://127.0.0.1:{free_port()}/mcp").send(BODY, CALL_HEADERS)
