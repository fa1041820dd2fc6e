"""Loop events as an OpenAI Responses API response: output items, and the stream of `response.*` events.

The output, in order: an `mcp_list_tools` item per server label the request offers that no earlier response of
the conversation listed, then per model round the `message` item of its text and an `mcp_call` item for each MCP call
the gateway ran (named as the MCP endpoint lists the tool, with its output or error); the last round's calls that go
back to the caller end it: `mcp_approval_request` items for MCP calls that need approval (the item id is the
approval_request_id to answer) and `function_call` items for the caller's own tools.

Item ids follow from the response id, the round and the call id, so the items streamed one by one and the items of
the final response are the same items: the SDKs' stream parsers check exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

from mcp_gateway.bridge.messages.common import text_of
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
from mcp_gateway.llm.toolset import McpTool
from mcp_gateway.server.llm_http import EXTENSION, failed_response, openai_error_body, sse


@dataclass(frozen=True)
class ResponseFrame:
    """What a response repeats of its request, and what it is: the fields around `output`."""

    response_id: str
    created_at: int
    model: str
    fields: Mapping[str, Any]
    """instructions, metadata, tools, tool_choice, parallel_tool_calls, ... as the request gave them."""
    listed: Sequence[tuple[str, Sequence[McpTool]]] = ()
    """The server labels whose tools are listed in this response, with those tools."""
    listed_before: Sequence[str] = ()
    """The labels earlier responses of the conversation listed."""
    unlisted: Sequence[tuple[str, str]] = ()
    """Server labels whose tools could not be listed (the server is down, ...), with why: the request goes on
    without them."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """MCP tool name -> its server label."""

    @property
    def suffix(self) -> str:
        return self.response_id.removeprefix("resp_")

    def body(self, status: str, output: list[dict[str, Any]], usage: Usage | None = None) -> dict[str, Any]:
        return {
            "id": self.response_id, "object": "response", "created_at": self.created_at, "status": status,
            "model": self.model, "output": output, "error": None, "incomplete_details": None,
            **self.fields, "usage": usage_json(usage) if usage is not None else None,
        }


def usage_json(usage: Usage) -> dict[str, Any]:
    return {"input_tokens": usage.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.total_tokens}


def _list_tools_item(frame: ResponseFrame, index: int, label: str, tools: Sequence[McpTool]) -> dict[str, Any]:
    listed = []
    for tool in tools:
        definition = tool.registered.definition
        annotations = definition.annotations.model_dump(exclude_none=True) if definition.annotations else None
        listed.append({"name": tool.name, "description": definition.description,
                       "input_schema": definition.input_schema, "annotations": annotations})
    return {"type": "mcp_list_tools", "id": f"mcpl_{frame.suffix}_{index}", "server_label": label,
            "tools": listed, "error": None}


def _message_item(frame: ResponseFrame, round_number: int, text: str, status: str = "completed") -> dict[str, Any]:
    content = [_text_part(text)] if status == "completed" else []
    return {"type": "message", "id": f"msg_{frame.suffix}_{round_number}", "role": "assistant", "status": status,
            "content": content}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _arguments_text(call: McpCall) -> str:
    """The call's arguments as JSON text; empty when the model's were not a JSON object (the call did not run)."""
    return json.dumps(call.arguments, ensure_ascii=False) if call.arguments is not None else ""


def _mcp_call_item(frame: ResponseFrame, call: McpCall, record: McpCallRecord | None, output: str,
                   approval_request_id: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "mcp_call", "id": f"mcp_{call.call_id}", "server_label": frame.labels.get(call.name, call.server),
        "name": call.name, "arguments": _arguments_text(call), "output": None, "error": None,
        "approval_request_id": approval_request_id, "status": "in_progress",
    }
    if record is not None:
        item["status"] = "failed" if record.is_error else "completed"
        if record.is_error:
            # OpenAI's shape for a tool that ran and failed (isError), whose content the model reads.
            item["error"] = {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": output}]}
        else:
            item["output"] = output
    return item


def _approval_item(frame: ResponseFrame, call: McpCall) -> dict[str, Any]:
    return {"type": "mcp_approval_request", "id": call.call_id, "server_label": frame.labels.get(call.name, ""),
            "name": call.name, "arguments": _arguments_text(call)}


def _function_call_item(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    return {"type": "function_call", "id": f"fc_{call.get('id')}", "call_id": str(call.get("id")),
            "name": str(function.get("name")), "arguments": arguments if isinstance(arguments, str) else
            json.dumps(arguments or {}), "status": "completed"}


def _list_items(frame: ResponseFrame) -> list[dict[str, Any]]:
    items = [_list_tools_item(frame, index, label, tools) for index, (label, tools) in enumerate(frame.listed)]
    for index, (label, error) in enumerate(frame.unlisted, start=len(items)):
        items.append({**_list_tools_item(frame, index, label, ()), "error": error})
    return items


def _returned_items(frame: ResponseFrame, completed: Completed) -> list[dict[str, Any]]:
    """The items of the calls that go back to the caller, in the order the model made them."""
    awaiting = {call.call_id: call for call in completed.awaiting_approval}
    items = []
    for call in completed.message.get("tool_calls") or []:
        call_id = str(call.get("id"))
        items.append(_approval_item(frame, awaiting[call_id]) if call_id in awaiting else _function_call_item(call))
    return items


def output_items(frame: ResponseFrame, completed: Completed, approved: Mapping[str, bool]) -> list[dict[str, Any]]:
    records = {record.call.call_id: record for record in completed.calls}
    results = {str(message.get("tool_call_id")): text_of(message.get("content"))
               for message in completed.transcript if message.get("role") == "tool"}
    items = _list_items(frame)

    def mcp_call(call_id: str) -> None:
        record = records[call_id]
        approval = call_id if call_id in approved else None
        items.append(_mcp_call_item(frame, record.call, record, results.get(call_id, record.result), approval))

    round_number = 0
    for message in completed.transcript:
        if message.get("role") == "tool":
            call_id = str(message.get("tool_call_id"))
            if call_id in records and records[call_id].round == 0:
                mcp_call(call_id)  # resumed before the first round: its assistant message is in an earlier response
            continue
        round_number += 1
        text = text_of(message.get("content"))
        if text:
            items.append(_message_item(frame, round_number, text))
        for call in message.get("tool_calls") or []:
            if str(call.get("id")) in records:
                mcp_call(str(call.get("id")))
    return items + _returned_items(frame, completed)


def _status(completed: Completed) -> tuple[str, dict[str, Any] | None]:
    if completed.stop == "round_limit":
        return "incomplete", {"reason": "mcp_round_limit"}
    if completed.finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    return "completed", None


def response_body(frame: ResponseFrame, completed: Completed, approved: Mapping[str, bool]) -> dict[str, Any]:
    status, incomplete = _status(completed)
    body = frame.body(status, output_items(frame, completed, approved), completed.usage)
    body["incomplete_details"] = incomplete
    summary: dict[str, Any] = {"rounds": [{"round": done.round, "usage": done.usage.to_json(),
                                           "finish_reason": done.finish_reason, "mcp_calls": done.mcp_calls}
                                          for done in completed.rounds]}
    if completed.note is not None:
        summary["note"] = completed.note
    # What a follow-up need not list again: a conversation lists each server label's tools once.
    summary["listed_labels"] = sorted({*frame.listed_before, *(label for label, _ in frame.listed)})
    body[EXTENSION] = summary
    return body


class ResponsesRenderer:
    """One response of `/v1/responses`, answered whole or streamed as `response.*` events."""

    def __init__(self, frame: ResponseFrame, approved: Mapping[str, bool]) -> None:
        self.frame = frame
        self.label = f"response {frame.response_id} ({frame.model})"
        self._approved = approved
        self._sequence = 0
        self._next_index = 0
        self._round = 1
        self._message: tuple[int, str, list[str]] | None = None
        """The message item being streamed: output index, id, text so far."""
        self._calls: dict[str, tuple[int, McpCall]] = {}
        self.final: dict[str, Any] | None = None
        """The whole response once the loop completed: what the store keeps."""

    def completed_body(self, completed: Completed) -> dict[str, Any]:
        if self.final is None:
            self.final = response_body(self.frame, completed, self._approved)
        return self.final

    def answer(self, outcome: Completed | Failed) -> Response:
        if isinstance(outcome, Failed):
            return failed_response(outcome)
        return JSONResponse(self.completed_body(outcome))

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return f"event: {kind}\n".encode() + sse(data)

    def _added(self, item: dict[str, Any]) -> tuple[int, bytes]:
        index = self._next_index
        self._next_index += 1
        return index, self._event("response.output_item.added", output_index=index, item=item)

    def opening(self) -> list[bytes]:
        pending = self.frame.body("in_progress", [])
        events = [self._event("response.created", response=pending),
                  self._event("response.in_progress", response=pending)]
        for item in _list_items(self.frame):
            listing = {**item, "tools": [], "error": None}
            index, added = self._added(listing)
            outcome = "failed" if item["error"] is not None else "completed"
            events += [
                added,
                self._event("response.mcp_list_tools.in_progress", output_index=index, item_id=item["id"]),
                self._event(f"response.mcp_list_tools.{outcome}", output_index=index, item_id=item["id"]),
                self._event("response.output_item.done", output_index=index, item=item),
            ]
        return events

    def closing(self) -> bytes:
        return b""

    def render(self, event: LoopEvent) -> list[bytes]:
        if isinstance(event, TextDelta):
            return self._text(event.text)
        if isinstance(event, RoundCompleted):
            events = self._close_message()
            self._round = event.round + 1
            return events
        if isinstance(event, ToolCallStarted):
            return self._call_started(event.call)
        if isinstance(event, ToolCallFinished):
            return self._call_finished(event)
        if isinstance(event, Failed):
            events = self._close_message()
            failed = self.frame.body("failed", [])
            error = openai_error_body(event.error)["error"]
            failed["error"] = {"code": error.get("code") or error.get("type"), "message": error["message"]}
            return [*events, self._event("response.failed", response=failed)]
        return self._completed(event)

    def _text(self, text: str) -> list[bytes]:
        events = []
        if self._message is None:
            item = _message_item(self.frame, self._round, "", status="in_progress")
            index, added = self._added(item)
            self._message = (index, item["id"], [])
            events += [added, self._event("response.content_part.added", item_id=item["id"], output_index=index,
                                          content_index=0, part=_text_part(""))]
        index, item_id, pieces = self._message
        pieces.append(text)
        events.append(self._event("response.output_text.delta", item_id=item_id, output_index=index, content_index=0,
                                  delta=text, logprobs=[]))
        return events

    def _close_message(self) -> list[bytes]:
        if self._message is None:
            return []
        index, item_id, pieces = self._message
        self._message = None
        text = "".join(pieces)
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        return [
            self._event("response.output_text.done", **where, text=text, logprobs=[]),
            self._event("response.content_part.done", **where, part=_text_part(text)),
            self._event("response.output_item.done", output_index=index,
                        item=_message_item(self.frame, self._round, text)),
        ]

    def _call_started(self, call: McpCall) -> list[bytes]:
        approval = call.call_id if call.call_id in self._approved else None
        item = _mcp_call_item(self.frame, call, None, "", approval)
        item["arguments"] = ""
        index, added = self._added(item)
        self._calls[call.call_id] = (index, call)
        arguments = _arguments_text(call)
        where = {"item_id": item["id"], "output_index": index}
        return [
            added,
            self._event("response.mcp_call_arguments.delta", **where, delta=arguments),
            self._event("response.mcp_call_arguments.done", **where, arguments=arguments),
            self._event("response.mcp_call.in_progress", **where),
        ]

    def _call_finished(self, finished: ToolCallFinished) -> list[bytes]:
        record = finished.record
        call_id = record.call.call_id
        # A call the round limit kept from running never started, and still gets its item.
        started = self._call_started(record.call) if call_id not in self._calls else []
        index, call = self._calls[call_id]
        approval = call_id if call_id in self._approved else None
        output = finished.text if finished.text is not None else record.result
        item = _mcp_call_item(self.frame, call, record, output, approval)
        kind = "failed" if record.is_error else "completed"
        return [*started, self._event(f"response.mcp_call.{kind}", item_id=item["id"], output_index=index),
                self._event("response.output_item.done", output_index=index, item=item)]

    def _completed(self, completed: Completed) -> list[bytes]:
        events = self._close_message()
        for item in _returned_items(self.frame, completed):
            index, added = self._added({**item, "arguments": ""} if item["type"] == "function_call" else item)
            events.append(added)
            if item["type"] == "function_call":
                where = {"item_id": item["id"], "output_index": index}
                events += [self._event("response.function_call_arguments.delta", **where, delta=item["arguments"]),
                           self._event("response.function_call_arguments.done", **where, name=item["name"],
                                       arguments=item["arguments"])]
            events.append(self._event("response.output_item.done", output_index=index, item=item))
        body = self.completed_body(completed)
        kind = "response.completed" if body["status"] == "completed" else "response.incomplete"
        return [*events, self._event(kind, response=body)]
