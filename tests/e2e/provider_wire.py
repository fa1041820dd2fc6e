"""Answers and errors in the real providers' wire formats, streaming and not, for the provider stand-ins.

An `Answer` is what the stand-in's "model" says in one turn: text, tool calls, or both. Each provider gets it in
its own shape: OpenAI chat completions and chunks (tool-call arguments in fragments, the usage chunk only when
`stream_options.include_usage` asks for it), Anthropic messages and their event stream, Gemini
GenerateContentResponse objects and the `alt=sse` stream. Text streams in several pieces so a client must join
deltas; `piece_delay` spaces them out for tests that need a slow stream.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from starlette.responses import JSONResponse, Response

Protocol = Literal["openai", "anthropic", "gemini"]


@dataclass(frozen=True)
class Call:
    call_id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str | None = None
    """Arguments text that is not JSON, as a model sometimes sends; only OpenAI's wire (a string) can carry it."""

    def arguments_text(self) -> str:
        return self.raw_arguments if self.raw_arguments is not None else json.dumps(self.arguments)


@dataclass(frozen=True)
class Answer:
    text: str | None = None
    calls: tuple[Call, ...] = ()
    piece_delay: float = 0.0


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def token_estimate(value: object) -> int:
    # Usage numbers are required fields of every response; a rough size keeps them plausible.
    return max(1, len(json.dumps(value, default=str)) // 4)


def sse(data: object, event: str | None = None) -> str:
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {json.dumps(data)}\n\n"


def text_pieces(text: str) -> list[str]:
    """The text in word-sized pieces, as providers stream tokens."""
    words = text.split(" ")
    return [word + (" " if index < len(words) - 1 else "") for index, word in enumerate(words)] or [""]


def argument_pieces(arguments: dict[str, Any] | str) -> list[str]:
    """The arguments JSON in three fragments, as providers stream them, so clients must join deltas."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    third = max(1, len(text) // 3)
    return [text[:third], text[third : 2 * third], text[2 * third :]]


async def _pause(answer: Answer) -> None:
    if answer.piece_delay:
        await asyncio.sleep(answer.piece_delay)


# --- OpenAI Chat Completions -------------------------------------------------------------------------------


def openai_completion(answer: Answer, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
    if answer.calls:
        # An empty call id stands for servers that leave ids out (some OpenAI-compatible ones do).
        message["tool_calls"] = [
            {**({"id": call.call_id} if call.call_id else {}), "type": "function",
             "function": {"name": call.name, "arguments": call.arguments_text()}}
            for call in answer.calls
        ]
    tokens = token_estimate(message)
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if answer.calls else "stop",
                     "logprobs": None}],
        "usage": {"prompt_tokens": tokens, "completion_tokens": tokens, "total_tokens": 2 * tokens},
    }


async def openai_stream(answer: Answer, model: str, include_usage: bool) -> AsyncIterator[str]:
    completion_id, created = new_id("chatcmpl-"), int(time.time())

    def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [
            {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        ]
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        return sse({**body, "choices": choices, **extra})

    yield chunk({"role": "assistant", "content": "" if answer.text is not None else None})
    for piece in text_pieces(answer.text) if answer.text else []:
        await _pause(answer)
        yield chunk({"content": piece})
    for index, call in enumerate(answer.calls):
        # The first delta of a call carries its id and whole name; later deltas only argument fragments.
        start = {"index": index, "id": call.call_id, "type": "function",
                 "function": {"name": call.name, "arguments": ""}}
        yield chunk({"tool_calls": [start]})
        for piece in argument_pieces(call.arguments_text()):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if answer.calls else "stop")
    if include_usage:
        tokens = token_estimate(answer.text or "") + 10 * len(answer.calls)
        yield chunk(None, usage={"prompt_tokens": tokens, "completion_tokens": tokens, "total_tokens": 2 * tokens})
    yield "data: [DONE]\n\n"


# --- OpenAI Responses --------------------------------------------------------------------------------------


def _responses_items(answer: Answer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if answer.text:
        text = {"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}
        items.append({"type": "message", "id": new_id("msg_"), "status": "completed", "role": "assistant",
                      "content": [text]})
    items += [{"type": "function_call", "id": new_id("fc_"), "call_id": call.call_id, "name": call.name,
               "arguments": call.arguments_text(), "status": "completed"} for call in answer.calls]
    return items


def responses_body(answer: Answer, model: str, items: list[dict[str, Any]] | None = None,
                   status: str = "completed") -> dict[str, Any]:
    output = _responses_items(answer) if items is None else items
    tokens = token_estimate(output)
    return {
        "id": new_id("resp_"), "object": "response", "created_at": int(time.time()), "status": status,
        "model": model, "output": output, "error": None, "incomplete_details": None, "parallel_tool_calls": True,
        "tool_choice": "auto", "tools": [],
        "usage": {"input_tokens": tokens, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": tokens,
                  "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 2 * tokens},
    }


async def responses_stream(answer: Answer, model: str) -> AsyncIterator[str]:
    """OpenAI's Responses events: created, each item added, its deltas and done, then completed."""
    final = responses_body(answer, model)
    sequence = 0

    def event(kind: str, **fields: Any) -> str:
        nonlocal sequence
        sequence += 1
        return sse({"type": kind, "sequence_number": sequence - 1, **fields}, kind)

    pending = {**final, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for index, item in enumerate(final["output"]):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "content": []})
            part = item["content"][0]
            yield event("response.content_part.added", **where, content_index=0, part={**part, "text": ""})
            for piece in text_pieces(part["text"]):
                await _pause(answer)
                yield event("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
            yield event("response.output_text.done", **where, content_index=0, text=part["text"], logprobs=[])
            yield event("response.content_part.done", **where, content_index=0, part=part)
        else:
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "arguments": ""})
            for piece in argument_pieces(item["arguments"]):
                yield event("response.function_call_arguments.delta", **where, delta=piece)
            yield event("response.function_call_arguments.done", **where, arguments=item["arguments"])
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=final)


# --- Anthropic Messages ------------------------------------------------------------------------------------


def _anthropic_blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.text else []
    blocks += [{"type": "tool_use", "id": call.call_id, "name": call.name, "input": call.arguments}
               for call in answer.calls]
    return blocks


def anthropic_message(answer: Answer, model: str, content: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    blocks = _anthropic_blocks(answer) if content is None else content
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": "tool_use" if answer.calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": token_estimate(blocks), "output_tokens": token_estimate(blocks)},
    }


async def anthropic_stream(answer: Answer, model: str) -> AsyncIterator[str]:
    message = anthropic_message(answer, model, [])
    yield sse({"type": "message_start", "message": {**message, "stop_reason": None}}, "message_start")
    for index, block in enumerate(_anthropic_blocks(answer)):
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in argument_pieces(block["input"])]
        else:
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in text_pieces(block["text"])]
        yield sse({"type": "content_block_start", "index": index, "content_block": start}, "content_block_start")
        for delta in deltas:
            await _pause(answer)
            yield sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
        yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": token_estimate(_anthropic_blocks(answer))}
    yield sse({"type": "message_delta", "delta": stop, "usage": usage}, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


# --- Gemini generateContent --------------------------------------------------------------------------------


def _gemini_parts(answer: Answer) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": answer.text}] if answer.text else []
    return parts + [{"functionCall": {"name": call.name, "args": call.arguments}} for call in answer.calls]


def _gemini_usage(parts: object) -> dict[str, int]:
    tokens = token_estimate(parts)
    return {"promptTokenCount": tokens, "candidatesTokenCount": tokens, "totalTokenCount": 2 * tokens}


def gemini_response(answer: Answer, model: str) -> dict[str, Any]:
    parts = _gemini_parts(answer)
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
    return {"candidates": [candidate], "usageMetadata": _gemini_usage(parts), "modelVersion": model}


async def gemini_stream(answer: Answer, model: str) -> AsyncIterator[str]:
    """Text in pieces, one chunk each; function calls whole in the last chunk, which finishes and counts."""
    pieces = text_pieces(answer.text) if answer.text else []
    for piece in pieces[:-1] if not answer.calls else pieces:
        await _pause(answer)
        candidate = {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
        yield sse({"candidates": [candidate], "modelVersion": model})
    last: list[dict[str, Any]] = [{"text": pieces[-1]}] if pieces and not answer.calls else []
    last += [{"functionCall": {"name": call.name, "args": call.arguments}} for call in answer.calls]
    candidate = {"content": {"role": "model", "parts": last}, "finishReason": "STOP", "index": 0}
    yield sse({"candidates": [candidate], "usageMetadata": _gemini_usage(_gemini_parts(answer)),
               "modelVersion": model})


# --- Errors ------------------------------------------------------------------------------------------------

_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                 429: "requests"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                    429: "rate_limit_error", 529: "overloaded_error"}
_GEMINI_STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                    429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}


def error_body(protocol: Protocol, status: int, message: str, param: str | None = None) -> dict[str, Any]:
    """The provider's own error envelope."""
    if protocol == "openai":
        kind = _OPENAI_TYPES.get(status, "server_error")
        code = "rate_limit_exceeded" if status == 429 else None
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"), "message": message}}
    return {"error": {"code": status, "message": message, "status": _GEMINI_STATUSES.get(status, "INTERNAL")}}


def error_response(protocol: Protocol, status: int, message: str, *, param: str | None = None,
                   retry_after: float | None = None) -> Response:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    if protocol == "anthropic":
        headers["request-id"] = new_id("req_")
    return JSONResponse(error_body(protocol, status, message, param), status_code=status, headers=headers)
