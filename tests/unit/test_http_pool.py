"""The shared upstream client's pool, on both wires (aiohttp's, the default, and httpx2's own): connections are
reused, a connection the server closed is noticed before it is reused, and on httpx2's pool the lean liveness
check is in place (it reaches into httpx2's pool, so an upgrade that moves it fails here)."""

from __future__ import annotations

import socket
import struct
import threading

import anyio
import anyio.abc
import httpcore2
import pytest

from mcp_gateway import http
from mcp_gateway.http import _LeanLivenessBackend, _LeanLivenessStream, _SafeRequestResend, httpx, new_client


@pytest.fixture(autouse=True, params=["aiohttp", "httpcore"])
def wire(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(http, "DEFAULT_WIRE", request.param)
    return str(request.param)


class CountingServer:
    """A tiny HTTP/1.1 server on loopback: counts connections; closes each after one response when asked."""

    def __init__(self, close_after_response: bool) -> None:
        self.connections = 0
        self.close_after_response = close_after_response

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        async with stream:
            buffer = b""
            while True:
                try:
                    chunk = await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    _, buffer = buffer.split(b"\r\n\r\n", 1)
                    body = b'{"ok": true}'
                    closing = b"Connection: close\r\n" if self.close_after_response else b""
                    await stream.send(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + closing
                        + b"Content-Length: %d\r\n\r\n" % len(body)
                        + body
                    )
                    if self.close_after_response:
                        return


async def _requests(close_after_response: bool, rounds: int, concurrency: int) -> tuple[int, int]:
    """`rounds` times, `concurrency` requests at once; then the server's connection count and the calls made."""
    server = CountingServer(close_after_response)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    statuses: list[int] = []
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, server.handle)
        async with new_client(timeout=10.0) as client:

            async def request() -> None:
                statuses.append((await client.get(f"http://127.0.0.1:{port}/items/1")).status_code)

            for _ in range(rounds):
                async with anyio.create_task_group() as workers:
                    for _ in range(concurrency):
                        workers.start_soon(request)
                await anyio.sleep(0.02)  # every connection idle at once (and a closing server's FIN arrives first)
        group.cancel_scope.cancel()
    assert statuses == [200] * rounds * concurrency
    return server.connections, len(statuses)


def test_connections_are_reused_beyond_twenty_concurrent_calls() -> None:
    connections, calls = anyio.run(_requests, False, 5, 32)
    assert calls == 160
    # Every concurrent call keeps its connection (before: only 20 were kept, the other 12 reopened every time).
    assert connections <= 32


def test_a_connection_the_server_closed_is_not_reused() -> None:
    connections, calls = anyio.run(_requests, True, 5, 1)
    assert connections == calls == 5


def test_the_pool_uses_the_lean_liveness_check(wire: str) -> None:
    if wire != "httpcore":
        pytest.skip("httpx2's own pool only")
    client = new_client()
    transport = client._transport
    assert isinstance(transport, _SafeRequestResend)
    pool = getattr(transport._inner, "_pool", None)
    assert isinstance(pool, httpcore2.AsyncConnectionPool)
    assert isinstance(pool._network_backend, _LeanLivenessBackend)


def _resetting_server(connected: threading.Event) -> tuple[socket.socket, threading.Thread]:
    """A loopback listener that resets (RST) the one connection it accepts once the client holds it, as a server
    being killed does."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)

    def reset_one() -> None:
        connection, _ = listener.accept()
        connected.wait(timeout=30)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()

    thread = threading.Thread(target=reset_one, daemon=True)
    thread.start()
    return listener, thread


async def _wrap_a_reset_connection() -> None:
    connected = threading.Event()
    listener, thread = _resetting_server(connected)
    try:
        inner = await httpcore2.AnyIOBackend().connect_tcp("127.0.0.1", listener.getsockname()[1], timeout=30)
        connected.set()
        with pytest.raises(httpcore2.ReadError):
            await inner.read(1, timeout=30)  # the reset has arrived: the event loop has closed the transport
        stream = _LeanLivenessStream(inner)
        assert stream.get_extra_info("is_readable") is True  # closed, so the pool drops it rather than reuse it
        with pytest.raises(httpcore2.NetworkError):
            await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=30)
        await stream.aclose()
    finally:
        connected.set()
        thread.join(timeout=30)
        listener.close()


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_a_connection_reset_as_it_is_made_fails_as_a_network_error(use_uvloop: bool) -> None:
    # The gateway serves on uvloop where installed (cli.py); there a lost transport has no socket left, and
    # asking anyio for it raised AttributeError out of the pool: an "Internal server error" to the MCP client.
    if use_uvloop:
        pytest.importorskip("uvloop")
    anyio.run(_wrap_a_reset_connection, backend_options={"use_uvloop": use_uvloop})


class ClosingIdleServer:
    """Answers the first request on each connection and keeps it open, then closes it without an answer when the
    next request arrives: a keep-alive timeout that fires as the client reuses the connection."""

    def __init__(self) -> None:
        self.connections = 0
        self.answered = 0

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        async with stream:
            buffer = b""
            served = False
            while True:
                try:
                    buffer += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                if b"\r\n\r\n" not in buffer:
                    continue
                if served:
                    return  # closed with the request unanswered
                served = True
                _, buffer = buffer.split(b"\r\n\r\n", 1)
                self.answered += 1
                await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


async def _second_request_on_a_closing_connection(method: str) -> tuple[ClosingIdleServer, list[str]]:
    server = ClosingIdleServer()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    outcomes: list[str] = []
    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, server.handle)
        async with new_client(timeout=10.0) as client:
            for _ in range(2):
                try:
                    response = await client.request(method, f"http://127.0.0.1:{port}/items/1")
                    outcomes.append(str(response.status_code))
                except httpx.TransportError as error:
                    outcomes.append(type(error).__name__)
        group.cancel_scope.cancel()
    return server, outcomes


def test_a_safe_request_the_server_closed_on_is_sent_again_on_a_new_connection() -> None:
    server, outcomes = anyio.run(_second_request_on_a_closing_connection, "GET")
    assert outcomes == ["200", "200"]
    assert server.connections == 2 and server.answered == 2


def test_an_unsafe_request_the_server_closed_on_is_never_sent_twice() -> None:
    server, outcomes = anyio.run(_second_request_on_a_closing_connection, "POST")
    assert outcomes == ["200", "RemoteProtocolError"]
    assert server.connections == 1 and server.answered == 1
