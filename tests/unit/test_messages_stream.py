"""The Messages door's event stream: Anthropic's grammar (message_start first, one open block at a time, deltas only
for the open block, indexes counting up, message_delta then message_stop last) for every kind of loop outcome."""

from __future__ import annotations

import json
from typing import Any

import mcp_types

from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.events import (
    Completed,
    Failed,
    LoopEvent,
    McpCall,
    McpCallRecord,
    RoundCompleted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from mcp_gateway.llm.providers.base import Usage
from mcp_gateway.llm.toolset import RequestTools
from mcp_gateway.server.messages_stream import MessagesStream

TOOLS = RequestTools({}, [mcp_types.Tool(name="weather", input_schema={"type": "object"})], {}, [])
ADD = McpCall("c1", "add", "tools", "add", {"a": 1})
THINKING = {"type": "thinking", "thinking": "Let me see.", "signature": "sig=="}


def events_of(stream: bytes) -> list[dict[str, Any]]:
    events = []
    for chunk in stream.decode().split("\n\n"):
        if not chunk:
            continue
        kind, data = chunk.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert kind == f"event: {event['type']}"
        events.append(event)
    return events


def check_grammar(events: list[dict[str, Any]]) -> None:
    assert events[0]["type"] == "message_start"
    open_index: int | None = None
    next_index = 0
    for event in events[1:]:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_index is None and event["index"] == next_index
            open_index, next_index = event["index"], next_index + 1
        elif kind == "content_block_delta":
            assert event["index"] == open_index
        elif kind == "content_block_stop":
            assert event["index"] == open_index
            open_index = None
        elif kind in ("message_delta", "message_stop", "error"):
            assert open_index is None
    assert events[-1]["type"] in ("message_stop", "error")


def render(events: list[LoopEvent]) -> list[dict[str, Any]]:
    stream = MessagesStream("msg_1", "openai/m", TOOLS)
    data = b"".join([*stream.opening(), *(chunk for event in events for chunk in stream.render(event)),
                     stream.closing()])
    rendered = events_of(data)
    check_grammar(rendered)
    return rendered


def test_rounds_of_text_mcp_calls_then_the_caller_s_tool_with_thinking() -> None:
    record = McpCallRecord(ADD, 1, False, "2", 1.0)
    message = {"role": "assistant", "content": "Weather next.", "thinking_blocks": [THINKING],
               "tool_calls": [{"id": "c2", "type": "function",
                               "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}
    done = Completed(message, "tool_calls", "caller_tools", Usage(10, 5), [], [record], [])
    rendered = render([TextDelta("Add"), TextDelta("ing."), RoundCompleted(1, Usage(5, 2), "tool_calls", 1),
                       ToolCallStarted(ADD, 1), ToolCallFinished(record), TextDelta("Weather next."),
                       RoundCompleted(2, Usage(5, 3), "tool_calls", 0), done])
    starts = [event["content_block"] for event in rendered if event["type"] == "content_block_start"]
    assert [block["type"] for block in starts] == ["text", "mcp_tool_use", "mcp_tool_result", "text", "thinking",
                                                   "tool_use"]
    inputs = [event["delta"]["partial_json"] for event in rendered if event.get("delta", {}).get("type") ==
              "input_json_delta"]
    assert [json.loads(text) for text in inputs] == [{"a": 1}, {"city": "Oslo"}]
    assert any(event.get("delta", {}).get("signature") == "sig==" for event in rendered)
    delta = rendered[-2]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"] == {"input_tokens": 10, "output_tokens": 5}


def test_a_call_not_run_at_the_round_limit_still_gets_its_tool_use_block() -> None:
    record = McpCallRecord(ADD, 1, True, "Not run", 0.0, "not_run")
    done = Completed({"role": "assistant", "content": None}, "mcp_round_limit", "round_limit", Usage(), [], [record],
                     [], note="limit")
    rendered = render([RoundCompleted(1, Usage(), "tool_calls", 1), ToolCallFinished(record), done])
    starts = [event["content_block"]["type"] for event in rendered if event["type"] == "content_block_start"]
    assert starts == ["mcp_tool_use", "mcp_tool_result"]
    assert rendered[-2]["delta"]["stop_reason"] == "pause_turn"
    assert rendered[-2]["mcp_gateway"]["note"] == "limit"


def test_a_failure_mid_stream_closes_the_open_block_with_an_error_event() -> None:
    rendered = render([TextDelta("Hel"), Failed(RequestError(503, "server 'tools' is down"))])
    assert rendered[-1] == {"type": "error", "error": {"type": "api_error", "message": "server 'tools' is down"}}
