"""Pieces of Anthropic's Messages wire format that the JSON answer and the event stream share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.events import Completed, McpCall
from mcp_gateway.llm.loop import ROUND_LIMIT_FINISH
from mcp_gateway.llm.providers.base import ProviderError
from mcp_gateway.llm.toolset import RequestTools

Json = dict[str, Any]

EXTENSION = "mcp_gateway"
"""The one field the gateway adds to Anthropic's answer: what it ran, per round."""

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal",
                ROUND_LIMIT_FINISH: "pause_turn"}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 504: "timeout_error",
                529: "overloaded_error"}


def error_type(status: int) -> str:
    """Anthropic's error type for an HTTP status."""
    return _ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def anthropic_error(status: int, message: str) -> Json:
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def failure_body(failure: ProviderError | RequestError, status: int) -> Json:
    """A failure in Anthropic's shape; a provider's failure names the provider and keeps its message."""
    message = failure.message if isinstance(failure, RequestError) else f"{failure.provider}: {failure.message}"
    return anthropic_error(status, message)


def stop_reason(finish_reason: str) -> str:
    """The loop's finish reason (OpenAI's words) in Anthropic's; the round limit pauses the turn, which the caller
    resumes by sending the message back, as with Anthropic's own long-running server tools."""
    return STOP_REASONS.get(finish_reason, "end_turn")


def usage_json(completed: Completed) -> Json:
    return {"input_tokens": completed.usage.prompt_tokens, "output_tokens": completed.usage.completion_tokens}


def summary(completed: Completed) -> Json:
    """The `mcp_gateway` extension field: every MCP call, each round's usage, the round-limit note."""
    extension: Json = {
        "calls": [record.to_json() for record in completed.calls],
        "rounds": [{"round": done.round, "usage": done.usage.to_json(), "finish_reason": done.finish_reason,
                    "mcp_calls": done.mcp_calls} for done in completed.rounds],
    }
    if completed.note is not None:
        extension["note"] = completed.note
    return extension


def call_input(call: Mapping[str, Any]) -> tuple[str, str, Json]:
    """An OpenAI-shaped tool call's id, name and arguments as the object a tool_use block's `input` must be."""
    function = call.get("function")
    function = function if isinstance(function, Mapping) else {}
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except (TypeError, ValueError):
        arguments = {}
    return str(call.get("id")), str(function.get("name")), arguments if isinstance(arguments, dict) else {}


def mcp_tool_use(call: McpCall, tools: RequestTools) -> Json:
    """An MCP call the gateway ran, as Anthropic's block: `server_name` is the connector's name for its server."""
    tool = tools.mcp.get(call.name)
    return {"type": "mcp_tool_use", "id": call.call_id, "name": call.name,
            "server_name": tool.label if tool is not None else call.server, "input": call.arguments or {}}


def mcp_tool_result(call_id: str, is_error: bool, text: str) -> Json:
    return {"type": "mcp_tool_result", "tool_use_id": call_id, "is_error": is_error,
            "content": [{"type": "text", "text": text}]}
