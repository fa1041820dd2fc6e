"""Mistral chat: the OpenAI shape, except that a tool-call id must be exactly 9 characters of [a-zA-Z0-9].

Ids are allocated like tool names (see `mcp_gateway.names`): ids that already fit are kept and reserved
first; every other id gets the first 9 hex digits of a hash of itself, rehashed on a collision. So one id
maps to the same Mistral id in the assistant call and in its tool result, different ids never meet, and the
same conversation always yields the same ids. `ToolCallIds.to_original` maps them back in responses.

Mistral refuses any field it does not know (422 `extra_forbidden`), where OpenAI ignores them, so messages are
rebuilt from what Mistral's chat API documents per role, never copied: system and user `content`; assistant
`content`, `tool_calls` (`id`, `type`, `function` with `name` and `arguments`) and `prefix`; tool `content`,
`tool_call_id` and `name`. OpenAI extras (`refusal`, `annotations`, `audio`, a call's `index` or
`extra_content`, a message's `name`) are left out. Text and image parts keep only their own fields; parts of
other types are taken to be Mistral chunks already.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.messages.common import (
    SYSTEM_ROLES,
    MessageConversionError,
    arguments_json,
    clean_message,
    content_parts,
    function_of,
    part_text,
    role_of,
    tool_calls_of,
)
from mcp_gateway.bridge.messages.openai import rename_tool_calls
from mcp_gateway.names import NameMap

ID_LENGTH = 9
_VALID_ID = re.compile(rf"^[a-zA-Z0-9]{{{ID_LENGTH}}}\Z")


@dataclass(frozen=True)
class ToolCallIds:
    """Caller tool-call ids <-> Mistral tool-call ids for one request."""

    forward: Mapping[str, str]
    reverse: Mapping[str, str]

    @classmethod
    def allocate(cls, originals: Iterable[str]) -> ToolCallIds:
        unique = list(dict.fromkeys(originals))
        forward = {original: original for original in unique if _VALID_ID.match(original)}
        taken = set(forward)
        for original in unique:
            if original in forward:
                continue
            candidate, attempt = _hashed_id(original, 0), 0
            while candidate in taken:
                attempt += 1
                candidate = _hashed_id(original, attempt)
            forward[original] = candidate
            taken.add(candidate)
        ordered = {original: forward[original] for original in unique}
        return cls(forward=ordered, reverse={mistral: original for original, mistral in ordered.items()})

    def to_mistral(self, original: str) -> str:
        return self.forward.get(original, original)

    def to_original(self, mistral_id: str) -> str:
        return self.reverse.get(mistral_id, mistral_id)


def _hashed_id(original: str, attempt: int) -> str:
    seed = original if attempt == 0 else f"{original}#{attempt}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:ID_LENGTH]


@dataclass(frozen=True)
class MistralMessages:
    messages: list[dict[str, Any]]
    tool_call_ids: ToolCallIds

    def request_fields(self) -> dict[str, Any]:
        return {"messages": self.messages}


def _history_ids(messages: Sequence[Mapping[str, Any]]) -> Iterable[str]:
    for message in messages:
        for call in tool_calls_of(message):
            if isinstance(call.get("id"), str):
                yield call["id"]
        if isinstance(message.get("tool_call_id"), str):
            yield message["tool_call_id"]


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> MistralMessages:
    ids = ToolCallIds.allocate(_history_ids(messages))
    return MistralMessages(messages=[_message(message, name_map, ids) for message in messages], tool_call_ids=ids)


def _message(message: Mapping[str, Any], name_map: NameMap, ids: ToolCallIds) -> dict[str, Any]:
    role = role_of(message)
    content = _content(message.get("content"))
    if role in SYSTEM_ROLES:
        return {"role": "system", "content": content}
    if role == "user":
        return {"role": "user", "content": content}
    if role == "assistant":
        assistant: dict[str, Any] = {"role": "assistant", "content": content}
        calls = [_tool_call(call, name_map, ids) for call in tool_calls_of(message)]
        if calls:
            assistant["tool_calls"] = calls
        if isinstance(message.get("prefix"), bool):
            assistant["prefix"] = message["prefix"]
        return assistant
    if role == "tool":
        tool: dict[str, Any] = {"role": "tool", "content": content}
        if isinstance(message.get("tool_call_id"), str):
            tool["tool_call_id"] = ids.to_mistral(message["tool_call_id"])
        if isinstance(message.get("name"), str):
            tool["name"] = name_map.to_target(message["name"])
        return tool
    raise MessageConversionError(f"Mistral has no equivalent of a {role!r} message")


def _content(content: object) -> object:
    if content is None or isinstance(content, str):
        return content
    return [_part(part) for part in content_parts(content)]


def _part(part: dict[str, Any]) -> dict[str, Any]:
    text = part_text(part)
    if text is not None:
        return {"type": "text", "text": text}
    if part.get("type") == "image_url":
        return {"type": "image_url", "image_url": part.get("image_url")}
    return part


def _tool_call(call: Mapping[str, Any], name_map: NameMap, ids: ToolCallIds) -> dict[str, Any]:
    name, arguments = function_of(call)
    converted: dict[str, Any] = {
        "type": "function",
        "function": {"name": name_map.to_target(name), "arguments": arguments_json(arguments)},
    }
    if isinstance(call.get("id"), str):
        converted = {"id": ids.to_mistral(call["id"]), **converted}
    return converted


def assistant_message(response: Mapping[str, Any], name_map: NameMap, ids: ToolCallIds) -> dict[str, Any]:
    """The first choice's message with the caller's tool names and, where Mistral echoes one, tool-call ids."""
    choices = response.get("choices") or []
    if not choices:
        return {"role": "assistant", "content": None}
    message = clean_message(choices[0].get("message") or {"role": "assistant", "content": None})
    rename_tool_calls(message, name_map.to_original)
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict) and isinstance(call.get("id"), str):
            call["id"] = ids.to_original(call["id"])
    return message
