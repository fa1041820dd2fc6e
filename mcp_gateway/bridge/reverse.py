"""Provider responses with the caller's tool names: non-streaming responses and streamed events.

A response stays in the provider's own shape; only the names of function tool calls change, from the
provider-safe names a request was sent with back to the caller's originals (and, for Mistral, tool-call ids
back to the caller's ids). Names the request never rewrote are left as they are, and so are hosted-tool
blocks (`server_tool_use`, `web_search_call`, ...), which are not function calls. The input is never
mutated: every function returns a changed deep copy.

Every provider sends a tool call's whole name in one event (OpenAI and Mistral in the first delta of a
call, Anthropic in `content_block_start`, Bedrock in `contentBlockStart`, the Responses API in
`response.output_item.added`, Cohere in `tool-call-start`, Gemini in complete `functionCall` parts), so each
event is mapped on its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.messages.mistral import ToolCallIds
from mcp_gateway.bridge.messages.openai import rename_tool_calls
from mcp_gateway.bridge.targets import Provider
from mcp_gateway.names import NameMap

Rename = Callable[[str], str]


def reverse_response(
    response: Mapping[str, Any], provider: Provider, name_map: NameMap, *, tool_call_ids: ToolCallIds | None = None
) -> dict[str, Any]:
    """A copy of a non-streaming provider response with the caller's tool names."""
    restored = copy.deepcopy(dict(response))
    rename = name_map.to_original
    if provider in ("openai", "mistral"):
        for choice in restored.get("choices") or []:
            _chat_message(choice.get("message"), rename, tool_call_ids)
    elif provider == "openai-responses":
        _responses_output(restored, rename)
    elif provider == "anthropic":
        _anthropic_content(restored, rename)
    elif provider == "gemini":
        _gemini_candidates(restored, rename)
    elif provider == "bedrock":
        _bedrock_message((restored.get("output") or {}).get("message"), rename)
    else:
        _chat_message(restored.get("message"), rename, None)
    return restored


@dataclass(frozen=True)
class StreamNameMapper:
    """Maps the events of one streamed response back to the caller's tool names.

    Events are the provider's parsed stream events as dicts: OpenAI and Mistral chat chunks, Responses API
    events, Anthropic SSE events, Gemini `GenerateContentResponse` chunks, Bedrock ConverseStream events
    (`{"contentBlockStart": {...}}` as boto3 yields them, or the bare payload), Cohere v2 stream events.
    """

    provider: Provider
    name_map: NameMap
    tool_call_ids: ToolCallIds | None = None

    def reverse_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        restored = copy.deepcopy(dict(event))
        rename = self.name_map.to_original
        if self.provider in ("openai", "mistral"):
            for choice in restored.get("choices") or []:
                _chat_message(choice.get("delta"), rename, self.tool_call_ids)
        elif self.provider == "openai-responses":
            _responses_event(restored, rename)
        elif self.provider == "anthropic":
            _anthropic_event(restored, rename)
        elif self.provider == "gemini":
            _gemini_candidates(restored, rename)
        elif self.provider == "bedrock":
            start = restored.get("contentBlockStart", restored)
            _bedrock_tool_use((start.get("start") or {}).get("toolUse") if isinstance(start, dict) else None, rename)
        else:
            _cohere_event(restored, rename)
        return restored


def _chat_message(message: object, rename: Rename, ids: ToolCallIds | None) -> None:
    """An OpenAI-shaped message or delta (also Cohere's `message`), renamed in place."""
    if not isinstance(message, dict):
        return
    rename_tool_calls(message, rename)
    if ids is None:
        return
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict) and isinstance(call.get("id"), str):
            call["id"] = ids.to_original(call["id"])


def _function_call_item(item: object, rename: Rename) -> None:
    if isinstance(item, dict) and item.get("type") == "function_call" and isinstance(item.get("name"), str):
        item["name"] = rename(item["name"])


def _responses_output(response: dict[str, Any], rename: Rename) -> None:
    for item in response.get("output") or []:
        _function_call_item(item, rename)


def _responses_event(event: dict[str, Any], rename: Rename) -> None:
    # output_item.added / .done carry the item; response.created / .completed / ... carry the whole response.
    _function_call_item(event.get("item"), rename)
    if isinstance(event.get("response"), dict):
        _responses_output(event["response"], rename)
    if event.get("type") == "response.function_call_arguments.done" and isinstance(event.get("name"), str):
        event["name"] = rename(event["name"])


def _tool_use_block(block: object, rename: Rename) -> None:
    if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("name"), str):
        block["name"] = rename(block["name"])


def _anthropic_content(message: dict[str, Any], rename: Rename) -> None:
    for block in message.get("content") or []:
        _tool_use_block(block, rename)


def _anthropic_event(event: dict[str, Any], rename: Rename) -> None:
    if event.get("type") == "content_block_start":
        _tool_use_block(event.get("content_block"), rename)
    elif event.get("type") == "message_start" and isinstance(event.get("message"), dict):
        _anthropic_content(event["message"], rename)


def _gemini_candidates(response: dict[str, Any], rename: Rename) -> None:
    for candidate in response.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            function_call = part.get("functionCall")
            if isinstance(function_call, dict) and isinstance(function_call.get("name"), str):
                function_call["name"] = rename(function_call["name"])


def _bedrock_tool_use(tool_use: object, rename: Rename) -> None:
    if isinstance(tool_use, dict) and isinstance(tool_use.get("name"), str):
        tool_use["name"] = rename(tool_use["name"])


def _bedrock_message(message: object, rename: Rename) -> None:
    if isinstance(message, dict):
        for block in message.get("content") or []:
            _bedrock_tool_use(block.get("toolUse"), rename)


def _cohere_event(event: dict[str, Any], rename: Rename) -> None:
    if event.get("type") != "tool-call-start":
        return
    message = (event.get("delta") or {}).get("message")
    if not isinstance(message, dict):
        return
    # Cohere streams one call per tool-call-start as an object under `tool_calls`, not a list.
    calls = message.get("tool_calls")
    _chat_message({"tool_calls": [calls]} if isinstance(calls, dict) else message, rename, None)
