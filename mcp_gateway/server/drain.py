"""Graceful shutdown: on SIGTERM (or Ctrl-C) calls in flight are answered, new requests get 503, then the server stops.

uvicorn alone stops listening at once and closes idle connections, so a client whose call is still running cannot
even end its session (or reconnect its event stream) and loses the answer; and a load balancer learns nothing
until connections are refused. Here the first signal starts a drain instead:

- the listener stays open, and new work is answered 503 with `Retry-After` and `Connection: close`: MCP
  `tools/call` and `initialize`, and every REST request but the probes, which answer for themselves: `/ready`
  turns 503 (so a load balancer sends new work elsewhere) and `/health` says "draining" with a 200 (so an
  orchestrator's liveness probe does not kill the drain). What a client
  needs to finish a call already running passes: `tools/list` (the official client lists tools to check a
  result), pings, notifications and session DELETEs;
- requests already running — tool calls, REST calls — run to their end, for at most the grace period;
- long-lived event streams (MCP GET streams) are not calls: they are ended once the calls are done;
- then uvicorn's own shutdown runs, and with it the app's lifespan exit, which stops the stdio children.

A second signal stops at once, as uvicorn does.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from types import FrameType

import anyio
import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

DEFAULT_GRACE_PERIOD = 30.0
RETRY_AFTER_SECONDS = 5
STREAM_CLOSE_TIMEOUT = 2
QUIET_SECONDS = 0.5
"""How long nothing must be in flight before the drain counts as done: a client that just got its answer still
sends a request or two to finish (the official client lists tools to check a result, and ends its session)."""
"""How long uvicorn waits, once the calls are drained, for the event streams it was asked to end."""


class Drain:
    """Which requests are in flight, and whether new ones are still admitted."""

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._streams_closed = anyio.Event()

    def begin(self) -> None:
        self.draining = True

    def close_streams(self) -> None:
        """Tell the long-lived event streams their client has gone, so their responses end."""
        self._streams_closed.set()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        return DrainMiddleware(app, self)

    async def receive_until_closed(self, receive: Receive) -> Message:
        if self._streams_closed.is_set():
            return {"type": "http.disconnect"}
        message: Message = {"type": "http.disconnect"}
        async with anyio.create_task_group() as group:

            async def from_client() -> None:
                nonlocal message
                message = await receive()
                group.cancel_scope.cancel()

            async def on_close() -> None:
                await self._streams_closed.wait()
                group.cancel_scope.cancel()

            group.start_soon(from_client)
            group.start_soon(on_close)
        return message


def _is_event_stream(scope: Scope) -> bool:
    # MCP's GET opens a server-to-client event stream that lives as long as the session: a listener, not a call.
    return scope["method"] == "GET" and any(
        name == b"accept" and b"text/event-stream" in value for name, value in scope.get("headers", ())
    )


_NEW_WORK_METHODS = frozenset({"tools/call", "initialize"})
"""MCP requests refused while draining. The rest (tools/list, ping, notifications, session DELETE) are admitted:
a client finishing a call may still need them, as the official client lists tools to check a call's result."""
_MAX_PEEKED_BODY = 4 * 1024 * 1024


async def _admitted_while_draining(scope: Scope, receive: Receive) -> tuple[bool, Receive]:
    """Whether a request may still run during a drain, and the `receive` to run it with (the body replayed)."""
    if scope["method"] == "DELETE":
        return True, receive
    if scope["method"] != "POST" or not str(scope.get("path", "")).startswith("/mcp"):
        return False, receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False, receive
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body", False) or size > _MAX_PEEKED_BODY:
            break
    body = b"".join(chunks)
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": size > _MAX_PEEKED_BODY}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return not _starts_new_work(body), replay


def _starts_new_work(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return True
    messages = parsed if isinstance(parsed, list) else [parsed]
    return any(not isinstance(message, dict) or message.get("method") in _NEW_WORK_METHODS for message in messages)


PROBE_PATHS = ("/health", "/ready")


class DrainMiddleware:
    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            # Probes are no work to wait for: a balancer checking /ready every second must not keep a drain going.
            await self.app(scope, receive, send)
            return
        drain = self.drain
        if drain.draining:
            admitted, receive = await _admitted_while_draining(scope, receive)
            if not admitted:
                response = JSONResponse(
                    {"error": "the gateway is shutting down; retry on another instance or later"},
                    status_code=503,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
                )
                await response(scope, receive, send)
                return
        if _is_event_stream(scope):

            async def receive_until_closed() -> Message:
                return await drain.receive_until_closed(receive)

            await self.app(scope, receive_until_closed, send)
            return
        drain.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            drain.in_flight -= 1


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain before its shutdown (see the module docstring)."""

    def __init__(self, config: uvicorn.Config, drain: Drain, grace_period: float = DEFAULT_GRACE_PERIOD) -> None:
        # Only event streams remain when uvicorn's own shutdown starts; they end as soon as they are told to.
        config.timeout_graceful_shutdown = STREAM_CLOSE_TIMEOUT
        super().__init__(config)
        self._drain = drain
        self._grace_period = grace_period
        self._started_at: float | None = None
        self._quiet_since: float | None = None
        self._announce: tuple[str, int] | None = None
        """Set by the signal handler, logged at the next tick: logging inside a signal handler can deadlock."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._started_at is not None or self.should_exit:
            # A second signal: no more waiting.
            self.force_exit = True
            super().handle_exit(sig, frame)
            return
        self._started_at = time.monotonic()
        self._drain.begin()
        self._announce = (signal.Signals(sig).name, self._drain.in_flight)

    async def on_tick(self, counter: int) -> bool:
        if self._started_at is not None and not self.should_exit:
            if self._announce is not None:
                signal_name, in_flight = self._announce
                self._announce = None
                logger.info("%s: draining %d request(s) in flight for up to %gs; new requests get 503",
                            signal_name, in_flight, self._grace_period)
            now = time.monotonic()
            elapsed = now - self._started_at
            if self._drain.in_flight > 0:
                self._quiet_since = None
            elif self._quiet_since is None:
                self._quiet_since = now
            quiet = self._quiet_since is not None and now - self._quiet_since >= QUIET_SECONDS
            if quiet or (self._drain.in_flight == 0 and elapsed >= self._grace_period):
                logger.info("drained in %.1fs: every request in flight was answered", elapsed)
                self._finish()
            elif elapsed >= self._grace_period:
                logger.warning("grace period of %gs over: %d request(s) still running are cut off",
                               self._grace_period, self._drain.in_flight)
                self._finish()
        return await super().on_tick(counter)

    def _finish(self) -> None:
        self._drain.close_streams()
        self.should_exit = True
