"""One provider's tool call read into a common shape, and an MCP tool result written in that provider's shape.

Pure functions behind `mcp_gateway.bridge.session.call_tool`. The result text is the MCP text content
(joined with newlines); when a tool returned only `structured_content`, its JSON. Providers that take
JSON or images natively (Gemini, Bedrock, Anthropic) get them as such.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types

from mcp_gateway.bridge.messages.anthropic import IMAGE_MEDIA_TYPES
from mcp_gateway.bridge.messages.common import EMPTY_RESULT_TEXT, MessageConversionError
from mcp_gateway.bridge.messages.gemini import response_object
from mcp_gateway.bridge.targets import Provider

_CHAT_SHAPED: frozenset[Provider] = frozenset({"openai", "mistral", "cohere"})

BEDROCK_ERROR_PREFIX = "Error: "
"""Starts the text of a failed Bedrock tool result sent without `status`, so the model still knows it failed."""


@dataclass(frozen=True)
class ProviderToolCall:
    """A tool call as the provider issued it: its id, the provider-side name, and the arguments."""

    call_id: str | None
    name: str
    arguments: dict[str, Any] | None
    """None when the provider's arguments are not a JSON object; `argument_error` says why."""
    argument_error: str | None = None


def read_tool_call(call: Mapping[str, Any], provider: Provider) -> ProviderToolCall:
    """Read a tool call in the provider's own shape (see `mcp_gateway.bridge.session.call_tool`)."""
    if provider in _CHAT_SHAPED:
        function = call.get("function") or {}
        return _with_arguments(call.get("id"), function.get("name"), function.get("arguments"))
    if provider == "openai-responses":
        return _with_arguments(call.get("call_id"), call.get("name"), call.get("arguments"))
    if provider == "anthropic":
        return _with_arguments(call.get("id"), call.get("name"), call.get("input"))
    if provider == "gemini":
        function_call = call.get("functionCall", call)
        return _with_arguments(function_call.get("id"), function_call.get("name"), function_call.get("args"))
    tool_use = call.get("toolUse", call)
    return _with_arguments(tool_use.get("toolUseId"), tool_use.get("name"), tool_use.get("input"))


def _with_arguments(call_id: object, name: object, arguments: object) -> ProviderToolCall:
    if not isinstance(name, str):
        raise MessageConversionError("tool call without a name")
    identifier = call_id if isinstance(call_id, str) else None
    if arguments is None or arguments == "":
        return ProviderToolCall(identifier, name, {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as error:
            return ProviderToolCall(identifier, name, None, f"arguments are not valid JSON: {error}")
    if not isinstance(arguments, dict):
        return ProviderToolCall(
            identifier, name, None, f"arguments must be a JSON object, got {type(arguments).__name__}"
        )
    return ProviderToolCall(identifier, name, arguments)


def error_result(message: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(text=message)], is_error=True)


def format_tool_result(
    call: ProviderToolCall,
    result: mcp_types.CallToolResult,
    provider: Provider,
    *,
    bedrock_error_status: bool = False,
) -> dict[str, Any]:
    """The provider's tool-result shape for `result`, answering `call`.

    `bedrock_error_status` marks a failed Bedrock result with ``"status": "error"``. Bedrock documents that
    field for Amazon Nova and Anthropic Claude 3 and 4 models only (ToolResultBlock, Converse API reference)
    and other models refuse it, so it is off by default; the error is then said in the result's text.
    """
    if provider in _CHAT_SHAPED:
        return {"role": "tool", "tool_call_id": call.call_id, "content": result_text(result)}
    if provider == "openai-responses":
        return {"type": "function_call_output", "call_id": call.call_id, "output": result_text(result)}
    if provider == "anthropic":
        return _anthropic_result(call, result)
    if provider == "gemini":
        return _gemini_result(call, result)
    return _bedrock_result(call, result, bedrock_error_status)


def result_text(result: mcp_types.CallToolResult) -> str:
    texts = [text for block in result.content if (text := _block_text(block)) is not None]
    if not texts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(texts) or EMPTY_RESULT_TEXT


def _block_text(block: mcp_types.ContentBlock) -> str | None:
    """Text for the model; media it cannot read as text is described rather than dropped silently."""
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        return f"[binary resource {resource.uri} ({resource.mime_type or 'unknown type'}) not shown]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource {block.name}: {block.uri}]"
    return f"[{block.type} content ({block.mime_type}) not shown]"


def _anthropic_result(call: ProviderToolCall, result: mcp_types.CallToolResult) -> dict[str, Any]:
    content: str | list[dict[str, Any]] = result_text(result)
    if any(isinstance(block, mcp_types.ImageContent) for block in result.content):
        # Anthropic reads images in tool results, so they are sent as image blocks next to the text.
        content = [block for block in map(_anthropic_block, result.content) if block is not None]
    formatted: dict[str, Any] = {"type": "tool_result", "tool_use_id": call.call_id, "content": content}
    if result.is_error:
        formatted["is_error"] = True
    return formatted


def _anthropic_block(block: mcp_types.ContentBlock) -> dict[str, Any] | None:
    if isinstance(block, mcp_types.ImageContent):
        media_type = "image/jpeg" if block.mime_type.lower() == "image/jpg" else block.mime_type.lower()
        if media_type in IMAGE_MEDIA_TYPES:
            return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": block.data}}
        # One SVG from a tool would get the whole request refused; the model is told what it is not seeing.
        return {"type": "text", "text": f"[{media_type} image not shown: Anthropic reads JPEG, PNG, GIF and WebP]"}
    text = _block_text(block)
    return {"type": "text", "text": text} if text and text.strip() else None


def _gemini_result(call: ProviderToolCall, result: mcp_types.CallToolResult) -> dict[str, Any]:
    if result.is_error:
        response: dict[str, Any] = {"error": result_text(result)}
    elif result.structured_content is not None:
        response = {"output": result.structured_content}
    else:
        response = response_object(result_text(result))
    function_response: dict[str, Any] = {"name": call.name, "response": response}
    if call.call_id is not None:
        function_response["id"] = call.call_id
    return {"functionResponse": function_response}


def _bedrock_result(call: ProviderToolCall, result: mcp_types.CallToolResult, error_status: bool) -> dict[str, Any]:
    if isinstance(result.structured_content, dict) and not result.is_error:
        content: list[dict[str, Any]] = [{"json": result.structured_content}]
    elif result.is_error and not error_status:
        content = [{"text": f"{BEDROCK_ERROR_PREFIX}{result_text(result)}"}]
    else:
        content = [{"text": result_text(result)}]
    tool_result: dict[str, Any] = {"toolUseId": call.call_id, "content": content}
    if result.is_error and error_status:
        tool_result["status"] = "error"
    return {"toolResult": tool_result}
