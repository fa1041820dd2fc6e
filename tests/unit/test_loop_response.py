"""The loop-running response: events rendered as they come, silence filled with SSE comments, the outcome last."""

from __future__ import annotations

import anyio
import pytest
from starlette.responses import JSONResponse, Response

from mcp_gateway.http import httpx
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.events import Completed, Failed, LoopEvent, TextDelta
from mcp_gateway.llm.loop import Emit
from mcp_gateway.llm.providers.base import Usage
from mcp_gateway.server.loop_response import LoopResponse

pytestmark = pytest.mark.anyio

DONE = Completed({"role": "assistant", "content": "hi"}, "stop", "answer", Usage(), [], [], [])


class PlainRenderer:
    """Each event as one line of text: enough to see what the response sent, and in which order."""

    label = "test"

    def answer(self, outcome: Completed | Failed) -> Response:
        status = outcome.status if isinstance(outcome, Failed) else 200
        return JSONResponse({"outcome": type(outcome).__name__}, status_code=status)

    def opening(self) -> list[bytes]:
        return [b"open\n"]

    def render(self, event: LoopEvent) -> list[bytes]:
        return [f"{type(event).__name__}\n".encode()]

    def closing(self) -> bytes:
        return b"close\n"


async def respond(run_events: list[LoopEvent | float], *, stream: bool) -> httpx.Response:
    async def run(emit: Emit) -> None:
        for item in run_events:
            if isinstance(item, float):
                await anyio.sleep(item)
            else:
                await emit(item)

    response = LoopResponse(run, PlainRenderer(), stream=stream, keepalive=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=response), base_url="http://test") as http:
        return await http.get("/")


async def test_a_slow_stream_is_kept_alive_with_comments() -> None:
    response = await respond([TextDelta("a"), 0.3, DONE], stream=True)
    lines = response.text.splitlines()
    assert lines[:2] == ["open", "TextDelta"] and lines[-2:] == ["Completed", "close"]
    assert lines.count(": keep-alive") >= 2


async def test_a_failure_before_anything_was_sent_keeps_its_status() -> None:
    response = await respond([Failed(RequestError(503, "down"))], stream=True)
    assert (response.status_code, response.json()) == (503, {"outcome": "Failed"})


async def test_without_streaming_only_the_outcome_is_answered() -> None:
    response = await respond([TextDelta("a"), DONE], stream=False)
    assert (response.status_code, response.json()) == (200, {"outcome": "Completed"})
