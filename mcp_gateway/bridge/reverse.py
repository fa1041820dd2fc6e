"""Provider responses with the caller's tool names and argument keys: non-streaming responses and streamed events.

A response stays in the provider's own shape; only function tool calls change: their names go from the
provider-safe names a request was sent with back to the caller's originals (and, for Mistral, tool-call ids
back to the caller's ids). Names the request never rewrote are left as they are, and so are hosted-tool
blocks (`server_tool_use`, `web_search_call`, ...), which are not function calls. The input is never
mutated: every function returns a changed deep copy.

Given the request's `ConvertedTools` (rather than only its `NameMap`), the arguments are restored too: argument
keys a provider rejects (`$top`, `filter[x]`) were renamed for the request and go back to the tool's own, and
the nulls a strict-mode model sends for optional properties it leaves out are dropped
(`ConvertedTools.upstream_arguments`). With a bare `NameMap` arguments are left as the provider sent them.

Every provider sends a tool call's whole name in one event (OpenAI and Mistral in the first delta of a
call, Anthropic in `content_block_start`, Bedrock in `contentBlockStart`, the Responses API in
`response.output_item.added`, Cohere in `tool-call-start`, Gemini in complete `functionCall` parts), so each
event is mapped on its own. Arguments, though, mostly stream as JSON fragments in later events that do not
name the call; those fragments cannot be restored one by one. Arguments that arrive complete in the event
that names the call (Gemini parts, Responses `output_item.done` and `function_call_arguments.done`, the
final response of `response.completed`) are restored; for every other stream, assemble the call and pass its
arguments to `restore_arguments`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, overload

from mcp_gateway.bridge.messages import anthropic, bedrock, cohere, gemini, mistral, openai, responses
from mcp_gateway.bridge.messages.mistral import ToolCallIds
from mcp_gateway.bridge.targets import Provider
from mcp_gateway.bridge.tools import ConvertedTools
from mcp_gateway.names import NameMap

__all__ = ["StreamNameMapper", "assistant_message_for", "restore_arguments", "reverse_response"]

Rename = Callable[[str], str]


@overload
def restore_arguments(tools: ConvertedTools, original_name: str, arguments: str) -> str: ...
@overload
def restore_arguments(tools: ConvertedTools, original_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]: ...
def restore_arguments(
    tools: ConvertedTools, original_name: str, arguments: str | Mapping[str, Any]
) -> str | dict[str, Any]:
    """A tool call's arguments as the tool itself takes them (see the module docstring), in the form given.

    A JSON string comes back as a JSON string; one that is not a JSON object (an incomplete stream, malformed
    model output) comes back unchanged. Arguments of a tool with nothing to restore are returned as given.
    """
    if isinstance(arguments, Mapping):
        return tools.upstream_arguments(original_name, arguments)
    if all(original_name not in restorable
           for restorable in (tools.argument_keys, tools.strict_schemas, tools.json_arguments)):
        return arguments
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        return arguments
    if not isinstance(parsed, dict):
        return arguments
    return json.dumps(tools.upstream_arguments(original_name, parsed), ensure_ascii=False)


@dataclass(frozen=True)
class _Calls:
    """What happens to one function call: its name mapped back, then its arguments restored."""

    name_map: NameMap
    tools: ConvertedTools | None

    @classmethod
    def of(cls, mapping: NameMap | ConvertedTools) -> _Calls:
        if isinstance(mapping, ConvertedTools):
            return cls(mapping.name_map, mapping)
        return cls(mapping, None)

    def rename(self, provider_name: str) -> str:
        return self.name_map.to_original(provider_name)

    def restore(self, holder: dict[str, Any], name_key: str, arguments_key: str) -> None:
        """Rename `holder[name_key]` in place and restore `holder[arguments_key]` under the original name."""
        name = holder.get(name_key)
        if not isinstance(name, str):
            return
        original = self.rename(name)
        holder[name_key] = original
        arguments = holder.get(arguments_key)
        if self.tools is not None and isinstance(arguments, (str, Mapping)):
            holder[arguments_key] = restore_arguments(self.tools, original, arguments)


def reverse_response(
    response: Mapping[str, Any],
    provider: Provider,
    name_map: NameMap | ConvertedTools,
    *,
    tool_call_ids: ToolCallIds | None = None,
) -> dict[str, Any]:
    """A copy of a non-streaming provider response with the caller's tool names (and, given the request's
    `ConvertedTools`, the caller's argument keys)."""
    restored = copy.deepcopy(dict(response))
    calls = _Calls.of(name_map)
    if provider in ("openai", "mistral"):
        for choice in restored.get("choices") or []:
            _chat_message(choice.get("message"), calls, tool_call_ids)
    elif provider == "openai-responses":
        _responses_output(restored, calls)
    elif provider == "anthropic":
        _anthropic_content(restored, calls)
    elif provider == "gemini":
        _gemini_candidates(restored, calls)
    elif provider == "bedrock":
        _bedrock_message((restored.get("output") or {}).get("message"), calls)
    else:
        _chat_message(restored.get("message"), calls, None)
    return restored


@dataclass(frozen=True)
class StreamNameMapper:
    """Maps the events of one streamed response back to the caller's tool names.

    Events are the provider's parsed stream events as dicts: OpenAI and Mistral chat chunks, Responses API
    events, Anthropic SSE events, Gemini `GenerateContentResponse` chunks, Bedrock ConverseStream events
    (`{"contentBlockStart": {...}}` as boto3 yields them, or the bare payload), Cohere v2 stream events.
    `name_map` may be the request's `ConvertedTools`; argument fragments still need `restore_arguments` once
    the call is assembled (see the module docstring).
    """

    provider: Provider
    name_map: NameMap | ConvertedTools
    tool_call_ids: ToolCallIds | None = None

    def reverse_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        restored = copy.deepcopy(dict(event))
        calls = _Calls.of(self.name_map)
        if self.provider in ("openai", "mistral"):
            for choice in restored.get("choices") or []:
                _chat_message(choice.get("delta"), calls, self.tool_call_ids)
        elif self.provider == "openai-responses":
            _responses_event(restored, calls)
        elif self.provider == "anthropic":
            _anthropic_event(restored, calls)
        elif self.provider == "gemini":
            _gemini_candidates(restored, calls)
        elif self.provider == "bedrock":
            start = restored.get("contentBlockStart", restored)
            _bedrock_tool_use((start.get("start") or {}).get("toolUse") if isinstance(start, dict) else None, calls)
        else:
            _cohere_event(restored, calls)
        return restored


def assistant_message_for(
    provider: Provider,
    response: Mapping[str, Any],
    tools: ConvertedTools | NameMap,
    *,
    tool_call_ids: ToolCallIds | None = None,
) -> dict[str, Any]:
    """A provider's non-streaming response as an OpenAI assistant message with the caller's tool names and,
    given the request's `ConvertedTools`, the caller's argument keys.

    The per-provider `assistant_message` functions map names only; this is the one to use when the tools had
    argument keys renamed. `tool_call_ids` are Mistral's (from its `convert_messages`), to give the caller's
    call ids back.
    """
    name_map = tools.name_map if isinstance(tools, ConvertedTools) else tools
    if provider == "openai":
        message = openai.assistant_message(response, name_map)
    elif provider == "openai-responses":
        message = responses.assistant_message(response, name_map)
    elif provider == "anthropic":
        message = anthropic.assistant_message(response, name_map)
    elif provider == "gemini":
        message = gemini.assistant_message(response, name_map)
    elif provider == "bedrock":
        message = bedrock.assistant_message(response, name_map)
    elif provider == "mistral":
        message = mistral.assistant_message(response, name_map, tool_call_ids or ToolCallIds.allocate(()))
    else:
        message = cohere.assistant_message(response, name_map)
    if isinstance(tools, ConvertedTools):
        # The names are the caller's already, so arguments are restored under them as they stand.
        functions = [call.get("function") for call in message.get("tool_calls") or [] if isinstance(call, dict)]
        for function in [*functions, message.get("function_call")]:
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                arguments = function.get("arguments")
                if isinstance(arguments, (str, Mapping)):
                    function["arguments"] = restore_arguments(tools, function["name"], arguments)
    return message


def _chat_message(message: object, calls: _Calls, ids: ToolCallIds | None) -> None:
    """An OpenAI-shaped message or delta (also Cohere's `message`), changed in place."""
    if not isinstance(message, dict):
        return
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        if isinstance(call.get("function"), dict):
            calls.restore(call["function"], "name", "arguments")
        if ids is not None and isinstance(call.get("id"), str):
            call["id"] = ids.to_original(call["id"])
    if isinstance(message.get("function_call"), dict):
        calls.restore(message["function_call"], "name", "arguments")


def _function_call_item(item: object, calls: _Calls) -> None:
    if isinstance(item, dict) and item.get("type") == "function_call":
        calls.restore(item, "name", "arguments")


def _responses_output(response: dict[str, Any], calls: _Calls) -> None:
    for item in response.get("output") or []:
        _function_call_item(item, calls)


def _responses_event(event: dict[str, Any], calls: _Calls) -> None:
    # output_item.added / .done carry the item; response.created / .completed / ... carry the whole response.
    _function_call_item(event.get("item"), calls)
    if isinstance(event.get("response"), dict):
        _responses_output(event["response"], calls)
    if event.get("type") == "response.function_call_arguments.done":
        calls.restore(event, "name", "arguments")


def _tool_use_block(block: object, calls: _Calls) -> None:
    if isinstance(block, dict) and block.get("type") == "tool_use":
        calls.restore(block, "name", "input")


def _anthropic_content(message: dict[str, Any], calls: _Calls) -> None:
    for block in message.get("content") or []:
        _tool_use_block(block, calls)


def _anthropic_event(event: dict[str, Any], calls: _Calls) -> None:
    if event.get("type") == "content_block_start":
        _tool_use_block(event.get("content_block"), calls)
    elif event.get("type") == "message_start" and isinstance(event.get("message"), dict):
        _anthropic_content(event["message"], calls)


def _gemini_candidates(response: dict[str, Any], calls: _Calls) -> None:
    for candidate in response.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            function_call = part.get("functionCall")
            if isinstance(function_call, dict):
                calls.restore(function_call, "name", "args")


def _bedrock_tool_use(tool_use: object, calls: _Calls) -> None:
    if isinstance(tool_use, dict):
        calls.restore(tool_use, "name", "input")


def _bedrock_message(message: object, calls: _Calls) -> None:
    if isinstance(message, dict):
        for block in message.get("content") or []:
            _bedrock_tool_use(block.get("toolUse"), calls)


def _cohere_event(event: dict[str, Any], calls: _Calls) -> None:
    if event.get("type") != "tool-call-start":
        return
    message = (event.get("delta") or {}).get("message")
    if not isinstance(message, dict):
        return
    # Cohere streams one call per tool-call-start as an object under `tool_calls`, not a list.
    tool_calls = message.get("tool_calls")
    _chat_message({"tool_calls": [tool_calls]} if isinstance(tool_calls, dict) else message, calls, None)
