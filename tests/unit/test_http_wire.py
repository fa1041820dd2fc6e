"""The upstream client behaves the same on both wires (aiohttp's, the default, and httpx2's own pool), against a
real server on loopback that answers each request as a test scripts it: what arrives, what comes back, how
failures surface (as httpx2's exception types, which invoke.py and the MCP upstream code catch)."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest

from mcp_gateway import http
from mcp_gateway.http import httpx, new_client
from mcp_gateway.openapi.invoke import describe_transport_error

pytestmark = pytest.mark.anyio

Answer = Callable[[anyio.abc.SocketStream, bytes, bytes], Awaitable[None]]
"""Writes the answer to one request, given its head (request line and headers) and body."""


@pytest.fixture(autouse=True, params=["aiohttp", "httpcore"])
def wire(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(http, "DEFAULT_WIRE", request.param)
    return str(request.param)


async def _read_request(stream: anyio.abc.SocketStream, buffer: bytes) -> tuple[bytes, bytes, bytes] | None:
    while b"\r\n\r\n" not in buffer:
        try:
            buffer += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += await stream.receive()
    return head, rest[:length], rest[length:]


@asynccontextmanager
async def scripted_server(answer: Answer) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback HTTP/1.1 server; yields its base URL and the heads of the requests it received."""
    heads: list[bytes] = []

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            buffer = b""
            while (request := await _read_request(stream, buffer)) is not None:
                head, body, buffer = request
                heads.append(head)
                await answer(stream, head, body)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{port}", heads
        group.cancel_scope.cancel()


def _response(status: str, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _header(head: bytes, name: str) -> list[str]:
    found = []
    for line in head.decode().split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            found.append(value.strip())
    return found


async def test_a_request_arrives_as_built_and_its_answer_comes_back_whole() -> None:
    async def echo(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        payload = json.dumps({"line": head.split(b"\r\n")[0].decode(), "body": body.decode()}).encode()
        await stream.send(_response("201 Created", gzip.compress(payload), "Content-Encoding: gzip",
                                    "Set-Cookie: a=1", "Set-Cookie: b=2", "Content-Type: application/json"))

    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.raw_path.decode())

    client = new_client(timeout=10.0, auth=httpx.BasicAuth("u", "p"))
    async with scripted_server(echo) as (url, heads), client:
        client.event_hooks["request"].append(hook)
        response = await client.post(
            f"{url}/items/a%2Fb?q=caf%C3%A9&q=2", content=b'{"x": 1}',
            headers=[("X-Trace", "one"), ("X-Trace", "two"), ("Content-Type", "application/json")],
        )
    assert response.status_code == 201 and response.reason_phrase == "Created"
    assert response.json() == {"line": "POST /items/a%2Fb?q=caf%C3%A9&q=2 HTTP/1.1", "body": '{"x": 1}'}
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.http_version == "HTTP/1.1"
    assert seen == ["/items/a%2Fb?q=caf%C3%A9&q=2"]
    head = heads[0]
    assert _header(head, "x-trace") in (["one", "two"], ["one, two"])
    assert _header(head, "authorization") == ["Basic dTpw"]
    assert _header(head, "host") == [url.removeprefix("http://")]
    assert _header(head, "content-length") == ["8"]
    assert len(_header(head, "user-agent")) == 1 and len(_header(head, "accept-encoding")) == 1


async def test_a_redirect_is_answered_not_followed() -> None:
    async def redirect(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(_response("302 Found", b"", "Location: http://example.invalid/elsewhere"))

    async with scripted_server(redirect) as (url, heads), new_client(timeout=10.0) as client:
        response = await client.get(f"{url}/old")
    assert response.status_code == 302 and response.headers["location"] == "http://example.invalid/elsewhere"
    assert len(heads) == 1


async def test_a_streamed_body_arrives_chunk_by_chunk() -> None:
    release = anyio.Event()

    async def stream_events(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        await stream.send(b"8\r\ndata: 1\n\r\n")
        await release.wait()  # the second chunk only after the client has read the first
        await stream.send(b"8\r\ndata: 2\n\r\n0\r\n\r\n")

    chunks = []
    async with (
        scripted_server(stream_events) as (url, _),
        new_client(timeout=10.0) as client,
        client.stream("GET", f"{url}/events") as response,
    ):
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            release.set()
    assert b"".join(chunks) == b"data: 1\ndata: 2\n" and chunks[0] == b"data: 1\n"


async def test_a_refused_connection_is_a_connect_error_that_says_so() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once the probe is closed
    async with new_client(timeout=10.0) as client:
        with pytest.raises(httpx.ConnectError) as raised:
            await client.get(f"http://127.0.0.1:{port}/")
    assert describe_transport_error(raised.value) == "connection refused"


async def test_opening_a_connection_is_retried_when_asked() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def open_later() -> None:
        await anyio.sleep(0.2)  # after the first attempt, before the retries run out (0, 0.5 and 1 s later)
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)

        async def answer(stream: anyio.abc.SocketStream) -> None:
            async with stream:
                await _read_request(stream, b"")
                await stream.send(_response("200 OK", b"late"))

        await listener.serve(answer)

    async with anyio.create_task_group() as group, new_client(timeout=10.0, connect_retries=3) as client:
        group.start_soon(open_later)
        response = await client.get(f"http://127.0.0.1:{port}/")
        group.cancel_scope.cancel()
    assert response.text == "late"


async def test_an_upstream_that_never_answers_is_a_read_timeout() -> None:
    async def silent(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await anyio.sleep_forever()

    async with scripted_server(silent) as (url, _), new_client(timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}/slow")


async def test_a_body_that_stalls_is_a_read_timeout() -> None:
    async def stalls(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await anyio.sleep_forever()

    async with scripted_server(stalls) as (url, _), new_client(timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}/stalls")


async def test_a_connection_closed_without_an_answer_is_a_remote_protocol_error() -> None:
    async def hang_up(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.aclose()

    async with scripted_server(hang_up) as (url, heads), new_client(timeout=10.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(f"{url}/once", content=b"{}")
    assert len(heads) == 1  # a POST is never sent twice


async def test_a_body_cut_short_is_a_remote_protocol_error() -> None:
    async def cut(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await stream.aclose()

    async with scripted_server(cut) as (url, _), new_client(timeout=10.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{url}/cut")


async def test_garbage_instead_of_http_is_a_remote_protocol_error() -> None:
    async def garbage(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await stream.aclose()

    async with scripted_server(garbage) as (url, _), new_client(timeout=10.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{url}/")


async def test_waiting_for_a_pooled_connection_times_out() -> None:
    async def stream_forever(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
        await anyio.sleep_forever()

    async with scripted_server(stream_forever) as (url, _), new_client(timeout=10.0, max_connections=1) as client:
        client.timeout = httpx.Timeout(10.0, pool=0.3)
        async with client.stream("GET", f"{url}/held"):
            # httpx2's pool says PoolTimeout; aiohttp's cannot tell a pool wait from connecting (ConnectTimeout).
            with pytest.raises((httpx.PoolTimeout, httpx.ConnectTimeout)):
                await client.get(f"{url}/waits")


async def test_a_cancelled_call_leaves_the_client_usable() -> None:
    answered = 0

    async def slow_first(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        nonlocal answered
        answered += 1
        if answered == 1:
            await anyio.sleep_forever()
        await stream.send(_response("200 OK", b"ok"))

    async with scripted_server(slow_first) as (url, _), new_client(timeout=10.0) as client:
        with anyio.move_on_after(0.2) as scope:
            await client.get(f"{url}/first")
        assert scope.cancelled_caught
        assert (await client.get(f"{url}/second")).text == "ok"


async def test_a_long_header_is_read_as_httpx2_reads_it() -> None:
    cookie = "x" * 12_000  # over aiohttp's 8 KiB default, within h11's 16 KiB

    async def long_header(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(_response("200 OK", b"ok", f"Set-Cookie: big={cookie}"))

    async with scripted_server(long_header) as (url, _), new_client(timeout=10.0) as client:
        response = await client.get(f"{url}/")
    assert response.headers["set-cookie"] == f"big={cookie}"


async def test_a_multipart_upload_arrives_whole() -> None:
    async def echo_body(stream: anyio.abc.SocketStream, head: bytes, body: bytes) -> None:
        await stream.send(_response("200 OK", body))

    async with scripted_server(echo_body) as (url, heads), new_client(timeout=10.0) as client:
        response = await client.post(f"{url}/upload", files={"file": ("a.txt", b"hello " * 1000, "text/plain")})
    assert _header(heads[0], "content-length") == [str(len(response.content))]
    assert b'filename="a.txt"' in response.content and response.content.count(b"hello ") == 1000
