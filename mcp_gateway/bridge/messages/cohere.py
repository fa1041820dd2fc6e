"""Cohere v2 chat: OpenAI-like messages where an assistant turn that calls tools carries `tool_plan`.

Cohere's assistant message puts the model's reasoning before its tool calls in `tool_plan` rather than in
`content`; an OpenAI assistant message with tool calls has that text in `content`, so it moves there (and
back, in `assistant_message`, when the response has no other text). Tool messages keep `tool_call_id`;
their content is a string or a list of `text` / `document` blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.messages.common import (
    EMPTY_RESULT_TEXT,
    SYSTEM_ROLES,
    MessageConversionError,
    arguments_json,
    content_parts,
    function_of,
    is_blank,
    openai_assistant_message,
    openai_tool_call,
    part_text,
    role_of,
    text_of,
    tool_calls_of,
)
from mcp_gateway.names import NameMap


@dataclass(frozen=True)
class CohereMessages:
    messages: list[dict[str, Any]]

    def request_fields(self) -> dict[str, Any]:
        return {"messages": self.messages}


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> CohereMessages:
    converted: list[dict[str, Any]] = []
    for message in messages:
        role = role_of(message)
        if role in SYSTEM_ROLES:
            converted.append({"role": "system", "content": text_of(message.get("content"))})
        elif role == "user":
            converted.append({"role": "user", "content": _user_content(message.get("content"))})
        elif role == "assistant":
            converted.append(_assistant(message, name_map))
        elif role == "tool":
            converted.append(
                {
                    "role": "tool",
                    "tool_call_id": message.get("tool_call_id"),
                    "content": _tool_content(message.get("content")),
                }
            )
        else:
            raise MessageConversionError(f"Cohere has no equivalent of a {role!r} message")
    return CohereMessages(messages=converted)


def _user_content(content: object) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return content_parts(content)


def _assistant(message: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    text = text_of(message.get("content"))
    calls = tool_calls_of(message)
    if not calls:
        return {"role": "assistant", "content": text}
    converted: dict[str, Any] = {"role": "assistant", "tool_calls": [_tool_call(call, name_map) for call in calls]}
    if not is_blank(text):
        converted["tool_plan"] = text
    return converted


def _tool_call(call: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    name, arguments = function_of(call)
    return openai_tool_call(str(call.get("id")), name_map.to_target(name), arguments_json(arguments))


def _tool_content(content: object) -> str | list[dict[str, Any]]:
    if isinstance(content, str) or content is None:
        return EMPTY_RESULT_TEXT if is_blank(content) else str(content)
    blocks: list[dict[str, Any]] = []
    for part in content_parts(content):
        text = part_text(part)
        if text is None:
            blocks.append(part)
        elif not is_blank(text):
            blocks.append({"type": "text", "text": text})
    return blocks or EMPTY_RESULT_TEXT


def assistant_message(response: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    """A v2 chat response's `message` as an OpenAI assistant message with the caller's tool names."""
    message = response.get("message") or {}
    text = text_of(message.get("content"))
    if not text and isinstance(message.get("tool_plan"), str):
        text = message["tool_plan"]
    calls = [
        openai_tool_call(call["id"], name_map.to_original(function_of(call)[0]), arguments_json(function_of(call)[1]))
        for call in tool_calls_of(message)
    ]
    return openai_assistant_message(text, calls)
