"""The one place that picks the HTTP client library for upstream and provider calls.

The mcp 2.x SDK already depends on httpx2, the maintained line of httpx with the same API; keeping the
import here lets a benchmark swap it in one line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx2 as httpx

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "httpx", "new_client"]

_DRAIN_SECONDS = 0.25
"""How long closing an event stream may wait for the rest of it (the server ends a response's stream right after
the response), to keep its connection for the next request."""

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


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
    have reached the upstream is never sent twice. `reuse_event_stream_connections`: for MCP streamable HTTP
    (see `_EventStreamReuse`)."""
    limits = DEFAULT_LIMITS
    if max_connections is not None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport: httpx.AsyncBaseTransport | None = None
    if connect_retries or reuse_event_stream_connections:
        transport = httpx.AsyncHTTPTransport(limits=limits, retries=connect_retries, trust_env=False)
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
