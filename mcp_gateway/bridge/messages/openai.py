"""OpenAI Chat Completions (and compatible servers: Groq, xAI, Ollama, vLLM): the caller's own shape.

Only tool names change: historical assistant tool calls, the `name` of tool messages and legacy
`role: "function"` messages are forward-mapped to the provider-safe names, and a response's tool calls are
mapped back to the caller's names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.messages.common import clean_message, role_of
from mcp_gateway.names import NameMap


@dataclass(frozen=True)
class OpenAIMessages:
    messages: list[dict[str, Any]]

    def request_fields(self) -> dict[str, Any]:
        return {"messages": self.messages}


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> OpenAIMessages:
    return OpenAIMessages(messages=[_convert_message(message, name_map) for message in messages])


# Fields the bridge itself puts on OpenAI-shaped messages to carry other providers' data (see anthropic.py and
# bedrock.py), and `is_error` on a tool message whose call failed (Anthropic and Gemini mark such results);
# OpenAI rejects unknown message fields, so they never travel to it.
BRIDGE_ONLY_FIELDS = ("thinking_blocks", "is_error")


def _convert_message(message: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    converted = clean_message(message)
    for field in BRIDGE_ONLY_FIELDS:
        converted.pop(field, None)
    role = role_of(message)
    if role == "assistant":
        rename_tool_calls(converted, name_map.to_target)
    elif role in ("tool", "function") and isinstance(converted.get("name"), str):
        # A tool result may name its tool, and a legacy `function` message must: under the name the request uses.
        converted["name"] = name_map.to_target(converted["name"])
    return converted


def rename_tool_calls(message: dict[str, Any], rename: Callable[[str], str]) -> None:
    """Rename, in place, the function of every tool call (and a legacy `function_call`) of a message copy."""
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            function["name"] = rename(function["name"])
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
        legacy["name"] = rename(legacy["name"])


def assistant_message(response: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    """The first choice's message of a chat completion, with the caller's tool names."""
    choices = response.get("choices") or []
    if not choices:
        return {"role": "assistant", "content": None}
    message = clean_message(choices[0].get("message") or {"role": "assistant", "content": None})
    rename_tool_calls(message, name_map.to_original)
    return message
