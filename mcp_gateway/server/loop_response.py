"""An ASGI response that runs the tool loop while it answers, for every LLM wire format.

The loop runs in a task next to the response; its events reach a `Renderer`, which knows the caller's wire format
(Chat Completions here; the Responses and Messages doors bring their own). Without streaming the renderer answers
the outcome in one response; with streaming, the first event decides: a failure before anything was sent still
gets its own status, anything else opens the event stream. A client that goes away cancels the loop, and with it
the provider request and the running tool calls.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio
import anyio.abc
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mcp_gateway.llm.events import Completed, Failed, LoopEvent
from mcp_gateway.llm.loop import Emit

logger = logging.getLogger(__name__)

Run = Callable[[Emit], Awaitable[None]]

KEEPALIVE_SECONDS = 15.0

_STREAM_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
                   (b"x-accel-buffering", b"no")]


class Renderer(Protocol):
    label: str
    """Names the response in log lines (an id and the model)."""

    def answer(self, outcome: Completed | Failed) -> Response:
        """The whole answer of a request that does not stream (a failure included)."""
        ...

    def opening(self) -> list[bytes]:
        """What a stream starts with, before the first event."""
        ...

    def render(self, event: LoopEvent) -> list[bytes]:
        """One event as the bytes of the stream."""
        ...

    def closing(self) -> bytes:
        """What a stream ends with."""
        ...


def outcome_line(outcome: Completed | Failed) -> str:
    if isinstance(outcome, Failed):
        return f"{outcome.status} {outcome.error}"
    return (f"{len(outcome.rounds)} rounds, {len(outcome.calls)} MCP calls, "
            f"finish_reason {outcome.finish_reason}")


class LoopResponse(Response):
    def __init__(self, run: Run, renderer: Renderer, *, stream: bool, keepalive: float = KEEPALIVE_SECONDS) -> None:
        super().__init__()
        self._run = run
        self._renderer = renderer
        self._stream = stream
        self._keepalive = keepalive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        events_in, events_out = anyio.create_memory_object_stream[LoopEvent](max_buffer_size=64)

        async def produce() -> None:
            async with events_in:
                await self._run(events_in.send)

        answered = False
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                if not answered:
                    logger.info("%s: client disconnected; cancelling", self._renderer.label)
                group.cancel_scope.cancel()

            group.start_soon(produce)
            group.start_soon(watch_disconnect)
            async with events_out:
                if self._stream:
                    await self._send_stream(events_out, scope, receive, send)
                else:
                    await self._send_answer(events_out, scope, receive, send)
            answered = True
            group.cancel_scope.cancel()

    def _log(self, outcome: Completed | Failed) -> None:
        logger.info("%s: %s", self._renderer.label, outcome_line(outcome))

    async def _send_answer(self, events: anyio.abc.ObjectReceiveStream[LoopEvent], scope: Scope, receive: Receive,
                           send: Send) -> None:
        async for event in events:
            if isinstance(event, (Completed, Failed)):
                self._log(event)
                await self._renderer.answer(event)(scope, receive, send)
                return
        raise RuntimeError("the tool loop ended without an outcome")

    async def _send_stream(self, events: anyio.abc.ObjectReceiveStream[LoopEvent], scope: Scope, receive: Receive,
                           send: Send) -> None:
        first = await events.receive()
        if isinstance(first, Failed):
            # Nothing was sent yet, so the failure still gets its own status instead of an error event.
            self._log(first)
            await self._renderer.answer(first)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": _STREAM_HEADERS})

        async def write(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        for data in self._renderer.opening():
            await write(data)
        event: LoopEvent | None = first
        while event is not None:
            for data in self._renderer.render(event):
                await write(data)
            if isinstance(event, (Completed, Failed)):
                self._log(event)
                break
            event = await self._next(events, write)
        await send({"type": "http.response.body", "body": self._renderer.closing(), "more_body": False})

    async def _next(self, events: anyio.abc.ObjectReceiveStream[LoopEvent],
                    write: Callable[[bytes], Awaitable[None]]) -> LoopEvent | None:
        """The next event (None at the end), keeping the stream alive with SSE comments while a slow tool runs:
        proxies drop a connection that stays silent for a minute."""
        while True:
            with anyio.move_on_after(self._keepalive):
                try:
                    return await events.receive()
                except anyio.EndOfStream:
                    return None
            await write(b": keep-alive\n\n")
