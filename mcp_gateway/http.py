"""The one place that picks the HTTP client library for upstream and provider calls.

The mcp 2.x SDK already depends on httpx2, the maintained line of httpx with the same API; keeping the
import here lets a benchmark swap it in one line. Under that API, requests go out on aiohttp's wire
(mcp_gateway/http_wire.py, about half the client-side CPU per call); `DEFAULT_WIRE = "httpcore"` puts them back
on httpx2's own pool, which benchmarks/upstream_calls.py compares against.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import aiohttp
import anyio
import httpcore2
import httpx2 as httpx
from httpcore2._utils import is_socket_readable

from mcp_gateway.http_wire import AiohttpTransport

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WIRE",
    "Wire",
    "aiohttp_session",
    "direct_wire",
    "httpx",
    "new_client",
    "open_on_wire",
]

Wire = Literal["aiohttp", "httpcore"]
DEFAULT_WIRE: Wire = "aiohttp"

_DRAIN_SECONDS = 0.25
"""How long closing an event stream may wait for the rest of it (the server ends a response's stream right after
the response), to keep its connection for the next request."""

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""Every connection stays pooled: with fewer kept alive than opened, every call beyond that many concurrent calls
opened and closed a connection of its own."""


class _DrainedOnClose(httpx.AsyncByteStream):
    """A response body that, closed before its end, reads the rest (briefly) so its connection can be reused."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk
        self._ended = True

    async def aclose(self) -> None:
        if self._ended:
            # Nothing left to drain, and reading a finished body again waits for bytes that never come: it held
            # every stream the server ended mid-call for the whole drain time, so a resumption came too late.
            await self._stream.aclose()
            return
        try:
            with anyio.move_on_after(_DRAIN_SECONDS):
                async for _ in self._stream:
                    pass
        except httpx.HTTPError:
            pass  # the connection is not reusable after all; closing it below is the whole answer
        await self._stream.aclose()


class _EventStreamReuse(httpx.AsyncBaseTransport):
    """The MCP SDK's streamable-HTTP client closes a POST's event stream as soon as the response event arrives,
    a moment before the server ends it; the pool then drops the connection, so every call opened a new one
    (measured: ~2 ms of CPU per call at the gateway). Draining that last moment keeps the connection."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and response.headers.get("content-type", "").startswith("text/event-stream"):
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _DrainedOnClose(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _SafeRequestResend(httpx.AsyncBaseTransport):
    """A server may close an idle pooled connection (its keep-alive timeout) in the very moment a request goes out
    on it; the request then ends without a response, though the server never acted on it. The pool's liveness
    check cannot see a close that is still in flight. A safe request (RFC 9110 9.2.1: GET, HEAD, OPTIONS) that
    got no response is sent once more, on another connection, as browsers and urllib3 do. Any other request fails
    as before: it may have reached the upstream, and is never sent twice. Measured before: 1 call in ~4000 of a
    loaded soak failed this way ("Server disconnected without sending a response")."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            # Raised before any response header arrived: errors within a body come from the response stream.
            if request.method not in _SAFE_METHODS:
                raise
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _LeanLivenessStream(httpcore2.AsyncNetworkStream):
    """A pooled connection whose "has the server closed it?" check polls its socket directly.

    The pool asks that of every idle connection whenever a request starts or ends; anyio answers it by building
    the stream's whole attribute table (a `getpeername` system call included) first. With 32 connections that was
    13% of the gateway's CPU per OpenAPI call (py-spy, benchmarks/peers.py)."""

    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self._inner = inner
        self._lost = False
        self._socket: socket.socket | None = None
        try:
            self._socket = inner.get_extra_info("socket")
        except AttributeError:
            # uvloop lets go of a transport's socket as soon as the connection is lost, and anyio then fails to
            # build the attribute table it answers from. Seen when a server resets a connection as it accepts it
            # (a process being killed): the request on it fails as a plain read/write error, never as this.
            self._lost = True

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        return _LeanLivenessStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._lost:
            return True  # how the pool learns that a connection is closed
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class _LeanLivenessBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self, inner: httpcore2.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _LeanLivenessStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _lean_transport(limits: httpx.Limits, retries: int) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(limits=limits, retries=retries, trust_env=False)
    # httpx2 takes no network backend; its pool does. tests/unit/test_http.py fails if an upgrade moves `_pool`.
    pool = transport._pool
    if isinstance(pool, httpcore2.AsyncConnectionPool):
        pool._network_backend = _LeanLivenessBackend(pool._network_backend)
    return transport


def new_client(
    *,
    timeout: float | None = None,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
    max_connections: int | None = None,
    connect_retries: int = 0,
    reuse_event_stream_connections: bool = False,
) -> httpx.AsyncClient:
    """One shared client per upstream: pooled connections, explicit timeouts, no redirects to other hosts.

    `connect_retries` retries only opening a connection (refused, reset during connect, DNS): a request that may
    have reached the upstream is never sent twice (a safe one that got no answer is, see `_SafeRequestResend`).
    `reuse_event_stream_connections`: for MCP streamable HTTP
    (see `_EventStreamReuse`)."""
    limits = DEFAULT_LIMITS
    if max_connections is not None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    wire: httpx.AsyncBaseTransport
    if DEFAULT_WIRE == "aiohttp":
        wire = AiohttpTransport(limits, connect_retries)
    else:
        wire = _lean_transport(limits, connect_retries)
    transport: httpx.AsyncBaseTransport = _SafeRequestResend(wire)
    if reuse_event_stream_connections:
        transport = _EventStreamReuse(transport)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)) if timeout else DEFAULT_TIMEOUT,
        limits=limits,
        transport=transport,
        headers=headers,
        auth=auth,
        follow_redirects=False,
        trust_env=False,
    )


def aiohttp_session(client: httpx.AsyncClient) -> aiohttp.ClientSession | None:
    """The aiohttp session under a `new_client` client on aiohttp's wire, once its first request opened it; None
    for any other client (httpx2's own pool, a test's transport)."""
    wire = _wire_of(client)
    return wire.session if wire is not None else None


_request_log = logging.getLogger("httpx2")


def direct_wire(client: httpx.AsyncClient) -> AiohttpTransport | None:
    """The aiohttp wire under a `new_client` client, when sending a request there (`open_on_wire`) changes nothing
    the client itself would do for a request sent without its auth flow: it has no event hooks, follows no
    redirects, does not log requests (httpx2's INFO line), and has sent its first request (which opened the wire's
    session). None otherwise: the request goes through the client.

    Why: the client's layers above the wire (the auth and redirect loops, hooks, the resend wrapper, the response's
    byte-stream adapters) cost about a third of an OpenAPI tool call's upstream request in CPU (py-spy, c=1)."""
    if client.is_closed or client.follow_redirects or _request_log.isEnabledFor(logging.INFO):
        return None
    hooks = client.event_hooks
    if hooks["request"] or hooks["response"]:
        return None
    wire = _wire_of(client)
    if wire is None or wire.session is None or wire.session.closed:
        return None
    return wire


async def open_on_wire(
    client: httpx.AsyncClient, wire: AiohttpTransport, request: httpx.Request
) -> aiohttp.ClientResponse:
    """Send `request` on `wire` (from `direct_wire(client)`) as `client.send` would without auth: the client's
    timeouts, a safe request that got no answer sent once more (`_SafeRequestResend`), httpx2's errors."""
    if "timeout" not in request.extensions:
        request.extensions = {**request.extensions, "timeout": client.timeout.as_dict()}
    try:
        return await wire.open(request)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        if request.method not in _SAFE_METHODS:
            raise
    return await wire.open(request)


def _wire_of(client: httpx.AsyncClient) -> AiohttpTransport | None:
    transport = client._transport  # httpx2 keeps the transport it was given there; no public accessor
    while isinstance(transport, _EventStreamReuse | _SafeRequestResend):
        transport = transport._inner
    return transport if isinstance(transport, AiohttpTransport) else None
