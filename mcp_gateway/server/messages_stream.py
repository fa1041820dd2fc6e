"""The Messages door's answer as Anthropic's server-sent events, rendered from the tool loop's events as they come.

    message_start, ping
    per round:    content_block_start/delta/stop of its text (text_delta, as the provider streams it)
    per MCP call: an mcp_tool_use block (input as one input_json_delta) when it starts, an mcp_tool_result block
                  when it ends
    at the end:   the last round's thinking blocks (with their signatures, which Anthropic wants back with the
                  results of the caller's tools), a tool_use block per call of the caller's own tools,
                  message_delta (stop_reason, summed usage, the `mcp_gateway` summary), message_stop
    on failure:   an `error` event, which the SDKs raise as an APIError

Block indexes count up from 0 and every block is closed before the next opens, the order the SDKs' stream
accumulators require (they raise on an event for a block that never started).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mcp_gateway.llm.events import (
    Completed,
    Failed,
    LoopEvent,
    McpCall,
    RoundCompleted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from mcp_gateway.llm.toolset import RequestTools
from mcp_gateway.server.messages_wire import (
    EXTENSION,
    call_input,
    failure_body,
    mcp_tool_result,
    mcp_tool_use,
    stop_reason,
    summary,
    usage_json,
)

Json = dict[str, Any]


def sse(event: Mapping[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


class MessagesStream:
    def __init__(self, message_id: str, model: str, tools: RequestTools) -> None:
        self.message_id = message_id
        self.model = model
        self.tools = tools
        self._next_index = 0
        self._text_index: int | None = None
        self._announced: set[str] = set()
        """MCP calls whose mcp_tool_use block was sent."""

    def opening(self) -> list[bytes]:
        message: Json = {"id": self.message_id, "type": "message", "role": "assistant", "model": self.model,
                         "content": [], "stop_reason": None, "stop_sequence": None,
                         "usage": {"input_tokens": 0, "output_tokens": 0}}
        return [sse({"type": "message_start", "message": message}), sse({"type": "ping"})]

    def closing(self) -> bytes:
        return b""

    def render(self, event: LoopEvent) -> list[bytes]:
        if isinstance(event, TextDelta):
            return self._text(event.text)
        if isinstance(event, ToolCallStarted):
            return [*self._close_text(), *self._mcp_tool_use(event.call)]
        if isinstance(event, ToolCallFinished):
            record = event.record
            chunks = [*self._close_text(), *self._mcp_tool_use(record.call)]
            text = record.result if event.text is None else event.text
            return [*chunks, *self._block(mcp_tool_result(record.call.call_id, record.is_error, text))]
        if isinstance(event, RoundCompleted):
            return self._close_text()
        if isinstance(event, Failed):
            return [*self._close_text(), sse(failure_body(event.error, event.status))]
        return [*self._close_text(), *self._completed(event)]

    def _text(self, text: str) -> list[bytes]:
        chunks = []
        if self._text_index is None:
            self._text_index = self._take_index()
            chunks.append(sse({"type": "content_block_start", "index": self._text_index,
                               "content_block": {"type": "text", "text": ""}}))
        chunks.append(sse({"type": "content_block_delta", "index": self._text_index,
                           "delta": {"type": "text_delta", "text": text}}))
        return chunks

    def _close_text(self) -> list[bytes]:
        if self._text_index is None:
            return []
        index, self._text_index = self._text_index, None
        return [sse({"type": "content_block_stop", "index": index})]

    def _take_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    def _block(self, block: Json, arguments: Json | None = None) -> list[bytes]:
        """A whole block: start, the input as one input_json_delta for a tool use, stop."""
        index = self._take_index()
        chunks = [sse({"type": "content_block_start", "index": index, "content_block": block})]
        if arguments is not None:
            chunks.append(sse({"type": "content_block_delta", "index": index,
                               "delta": {"type": "input_json_delta", "partial_json": json.dumps(arguments)}}))
        chunks.append(sse({"type": "content_block_stop", "index": index}))
        return chunks

    def _mcp_tool_use(self, call: McpCall) -> list[bytes]:
        if call.call_id in self._announced:
            return []
        self._announced.add(call.call_id)
        return self._block({**mcp_tool_use(call, self.tools), "input": {}}, call.arguments or {})

    def _thinking(self, block: Mapping[str, Any]) -> list[bytes]:
        if block.get("type") != "thinking":
            return self._block(dict(block))  # redacted_thinking: whole in its start event, as Anthropic sends it
        index = self._take_index()
        deltas = [{"type": "thinking_delta", "thinking": str(block.get("thinking") or "")},
                  {"type": "signature_delta", "signature": str(block.get("signature") or "")}]
        return [sse({"type": "content_block_start", "index": index,
                     "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                *(sse({"type": "content_block_delta", "index": index, "delta": delta}) for delta in deltas),
                sse({"type": "content_block_stop", "index": index})]

    def _completed(self, completed: Completed) -> list[bytes]:
        chunks: list[bytes] = []
        for thinking in completed.message.get("thinking_blocks") or []:
            chunks.extend(self._thinking(thinking))
        for call in completed.message.get("tool_calls") or []:
            call_id, name, arguments = call_input(call)
            chunks.extend(self._block({"type": "tool_use", "id": call_id, "name": name, "input": {}}, arguments))
        delta = {"type": "message_delta",
                 "delta": {"stop_reason": stop_reason(completed.finish_reason), "stop_sequence": None},
                 "usage": usage_json(completed), EXTENSION: summary(completed)}
        return [*chunks, sse(delta), sse({"type": "message_stop"})]
