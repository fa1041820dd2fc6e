"""Resume a relayed request's event stream at once when an upstream closes it mid-call (SEP-1699 polling).

A server may close the event stream of a request in flight and tell the client, in the stream's `retry:` field,
how long to wait before resuming it (GET with `Last-Event-ID`). The SDK client waits exactly that long. For the
gateway that wait is pure delay: a downstream client is blocked on the relayed call, and the upstream usually has
the result moments later. Worse, some servers lose a result sent while no stream is attached: the TypeScript SDK's
server (1.27.1, the conformance suite's reference server) stores an event for replay only while the request's
stream is open, so its `test_reconnection` tool, which closes the stream and answers 100 ms later while asking
for a 5 s retry, answers nobody who honours the retry (measured: the Python SDK client directly, and the gateway
before this, time out).

So on the responses to our POSTs (the request streams) the retry hint is rewritten to 0 before the SDK reads it.
The standalone GET stream keeps the upstream's hint: that one paces polling for notifications, not a waiting call.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from mcp_gateway.http import httpx

_RETRY_LINE = re.compile(rb"(?m)^retry:[ ]?[0-9]+(?=\r?$)")


class _ImmediateRetry(httpx.AsyncByteStream):
    """The response body with every `retry:` field set to 0; only whole lines are rewritten (a line split over
    two chunks is held until its end arrives, which the SSE parser would wait for anyway)."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self._inner:
            data = pending + chunk
            end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            complete, pending = data[:end], data[end:]
            if complete:
                yield _RETRY_LINE.sub(b"retry: 0", complete) if b"retry:" in complete else complete
        if pending:
            yield _RETRY_LINE.sub(b"retry: 0", pending)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def resume_request_streams_at_once(response: httpx.Response) -> None:
    """An httpx response hook: on an uncompressed event stream answering a POST, resume without waiting."""
    if response.request.method != "POST" or "content-encoding" in response.headers:
        return
    if not response.headers.get("content-type", "").lower().startswith("text/event-stream"):
        return
    if isinstance(response.stream, httpx.AsyncByteStream):
        response.stream = _ImmediateRetry(response.stream)
