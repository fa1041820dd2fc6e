"""Anthropic Messages: an OpenAI conversation as `system` + alternating `messages`, and a response back.

What Anthropic requires and this module guarantees, always:
- system and developer messages go to the top-level `system`;
- assistant tool calls become `tool_use` blocks; tool results become `tool_result` blocks at the start of
  the next user turn, and consecutive turns of one role are merged (roles must alternate);
- no empty or whitespace-only text block is sent ("text content blocks must be non-empty"), a turn left
  without blocks is dropped, and an empty tool result carries `EMPTY_RESULT_TEXT` instead;
- Anthropic-native blocks in the history (`thinking`, `server_tool_use`, `web_search_tool_result`, ...)
  pass through untouched; a native `tool_use` block gets its provider-safe name like any tool call.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.messages.common import (
    EMPTY_RESULT_TEXT,
    OPENAI_PART_TYPES,
    SYSTEM_ROLES,
    MessageConversionError,
    arguments_json,
    content_parts,
    decode_data_url,
    function_of,
    image_url_of,
    is_blank,
    merge_same_role,
    openai_assistant_message,
    openai_tool_call,
    parse_arguments,
    part_text,
    role_of,
    tool_calls_of,
)
from mcp_gateway.names import NameMap


@dataclass(frozen=True)
class AnthropicMessages:
    system: str | list[dict[str, Any]] | None
    """A plain string, or text blocks when a system part carries more than text (e.g. `cache_control`)."""
    messages: list[dict[str, Any]]

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"messages": self.messages}
        if self.system is not None:
            fields["system"] = self.system
        return fields


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> AnthropicMessages:
    system_blocks: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = role_of(message)
        if role in SYSTEM_ROLES:
            system_blocks.extend(_text_blocks(message.get("content")))
        elif role == "user":
            turns.append({"role": "user", "content": _user_blocks(message.get("content"))})
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message, name_map)})
        elif role == "tool":
            turns.append({"role": "user", "content": [_tool_result(message)]})
        else:
            raise MessageConversionError(f"Anthropic has no equivalent of a {role!r} message")
    merged = merge_same_role((turn for turn in turns if turn["content"]), "content")
    return AnthropicMessages(system=_system(system_blocks), messages=_without_trailing_whitespace(merged))


def _text_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    text = part_text(part)
    if text is None or is_blank(text):
        return None
    block = {key: copy.deepcopy(value) for key, value in part.items() if key in ("cache_control", "citations")}
    return {"type": "text", "text": text, **block}


def _text_blocks(content: object) -> list[dict[str, Any]]:
    blocks = (_text_block(part) for part in content_parts(content))
    return [block for block in blocks if block is not None]


def _system(blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]] | None:
    if not blocks:
        return None
    if all(set(block) == {"type", "text"} for block in blocks):
        return "\n\n".join(block["text"] for block in blocks)
    return blocks


def _image_block(part: Mapping[str, Any]) -> dict[str, Any]:
    url = image_url_of(part)
    decoded = decode_data_url(url)
    if decoded is None:
        return {"type": "image", "source": {"type": "url", "url": url}}
    media_type, data = decoded
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _file_block(part: Mapping[str, Any]) -> dict[str, Any]:
    file = part.get("file")
    file_data = file.get("file_data") if isinstance(file, Mapping) else None
    decoded = decode_data_url(file_data) if isinstance(file_data, str) else None
    if decoded is None:
        raise MessageConversionError("Anthropic needs file parts as base64 data URLs (file.file_data)")
    media_type, data = decoded
    return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _user_blocks(content: object) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in content_parts(content):
        kind = part.get("type")
        if kind not in OPENAI_PART_TYPES:
            blocks.append(part)
        elif kind == "image_url":
            blocks.append(_image_block(part))
        elif kind == "file":
            blocks.append(_file_block(part))
        elif kind == "input_audio":
            raise MessageConversionError("Anthropic Messages does not accept audio input")
        elif (block := _text_block(part)) is not None:
            blocks.append(block)
    return blocks


def _assistant_blocks(message: Mapping[str, Any], name_map: NameMap) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in content_parts(message.get("content")):
        if part.get("type") == "tool_use" and isinstance(part.get("name"), str):
            blocks.append({**part, "name": name_map.to_target(part["name"])})
        elif part.get("type") not in OPENAI_PART_TYPES:
            blocks.append(part)
        elif (block := _text_block(part)) is not None:
            blocks.append(block)
    for call in tool_calls_of(message):
        name, arguments = function_of(call)
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": name_map.to_target(name),
                "input": parse_arguments(arguments),
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    result: str | list[dict[str, Any]]
    if isinstance(content, str) or content is None:
        result = EMPTY_RESULT_TEXT if is_blank(content) else str(content)
    else:
        result = _user_blocks(content) or EMPTY_RESULT_TEXT
    return {"type": "tool_result", "tool_use_id": message.get("tool_call_id"), "content": result}


def _without_trailing_whitespace(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A final assistant turn is a prefill, and Anthropic rejects a prefill that ends in whitespace."""
    if not turns or turns[-1]["role"] != "assistant":
        return turns
    blocks = list(turns[-1]["content"])
    last = blocks[-1]
    if last.get("type") == "text":
        blocks[-1] = {**last, "text": last["text"].rstrip()}
    return [*turns[:-1], {"role": "assistant", "content": blocks}]


def assistant_message(response: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    """A Messages API response as an OpenAI assistant message with the caller's tool names.

    Only text and `tool_use` blocks have an OpenAI equivalent; thinking and hosted-tool blocks stay in the
    provider response for callers who keep it.
    """
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in response.get("content") or []:
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            name = name_map.to_original(block["name"])
            calls.append(openai_tool_call(block["id"], name, arguments_json(block.get("input"))))
    return openai_assistant_message("".join(texts), calls)
