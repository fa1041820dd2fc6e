"""Anthropic Messages: an OpenAI conversation as `system` + alternating `messages`, and a response back.

What Anthropic requires and this module guarantees, always:
- system and developer messages go to the top-level `system`;
- assistant tool calls become `tool_use` blocks; tool results become `tool_result` blocks at the start of
  the next user turn, and consecutive turns of one role are merged (roles must alternate);
- no empty or whitespace-only text block is sent ("text content blocks must be non-empty"), a turn left
  without blocks is dropped, and an empty tool result carries `EMPTY_RESULT_TEXT` instead;
- Anthropic-native blocks in the history (`thinking`, `server_tool_use`, `web_search_tool_result`, ...)
  pass through untouched; a native `tool_use` block gets its provider-safe name like any tool call;
- every tool call and tool result has an id (an error names the message otherwise), and ids outside
  Anthropic's pattern `^[a-zA-Z0-9_-]+$` are rewritten consistently in the call and its result (see
  `call_ids`); `AnthropicMessages.tool_use_ids` maps them back;
- images are sent only in the media types Anthropic accepts (JPEG, PNG, GIF, WebP); any other becomes a
  short text note, in user turns and tool results alike.

Extended thinking: with thinking on, Anthropic requires an assistant turn that calls a tool to open with the
thinking blocks it was issued with, signatures intact. `assistant_message` therefore keeps a response's
`thinking` and `redacted_thinking` blocks, verbatim, in a `thinking_blocks` list on the OpenAI-shaped
assistant message (the field LiteLLM uses), and `convert_messages` puts a message's `thinking_blocks` first
in its turn. Only Anthropic-shaped blocks are replayed (a `thinking` block with its `signature`, a
`redacted_thinking` block with its `data`): reasoning blocks of another provider, e.g. Bedrock
`reasoningContent`, carry signatures Anthropic cannot verify and are left out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp_gateway.bridge.messages.call_ids import allocate_call_ids, required_call_id, required_result_id
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
from mcp_gateway.names import NameMap, NameRule

# Messages API: `tool_use.id` (and so `tool_result.tool_use_id`) must match ^[a-zA-Z0-9_-]+$ (the API
# answers 400 "tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"). Anthropic documents no
# maximum length; the cap only bounds ids this module rewrites, and ids up to it are kept as they are.
TOOL_USE_ID = NameRule("anthropic-tool-use-id", 256, "a-zA-Z0-9_-")

# Base64 image sources accept these media types only (Messages API, `source.media_type` of an image block).
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

# Wire fields of the replayable Anthropic reasoning blocks, by block type; each must be a non-empty string
# except the thinking text itself, which Anthropic may return empty when the thinking display is omitted.
_THINKING_FIELDS: Mapping[str, tuple[str, ...]] = {"thinking": ("signature",), "redacted_thinking": ("data",)}


@dataclass(frozen=True)
class AnthropicMessages:
    system: str | list[dict[str, Any]] | None
    """A plain string, or text blocks when a system part carries more than text (e.g. `cache_control`)."""
    messages: list[dict[str, Any]]
    tool_use_ids: NameMap = field(default_factory=lambda: NameMap(forward={}, reverse={}))
    """Caller tool-call id -> the `tool_use` id sent; pass it to `assistant_message` to map ids back."""

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"messages": self.messages}
        if self.system is not None:
            fields["system"] = self.system
        return fields


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> AnthropicMessages:
    ids = allocate_call_ids(messages, TOOL_USE_ID, _native_tool_use_ids(messages))
    system_blocks: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = role_of(message)
        if role in SYSTEM_ROLES:
            system_blocks.extend(_text_blocks(message.get("content")))
        elif role == "user":
            turns.append({"role": "user", "content": _user_blocks(message.get("content"))})
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message, index, name_map, ids)})
        elif role == "tool":
            turns.append({"role": "user", "content": [_tool_result(message, index, ids)]})
        else:
            raise MessageConversionError(f"Anthropic has no equivalent of a {role!r} message")
    merged = merge_same_role((turn for turn in turns if turn["content"]), "content")
    return AnthropicMessages(
        system=_system(system_blocks), messages=_without_trailing_whitespace(merged), tool_use_ids=ids
    )


def _native_tool_use_ids(messages: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Ids of Anthropic-native tool use blocks in assistant content, which pass through unchanged."""
    for message in messages:
        if role_of(message) != "assistant":
            continue
        for part in content_parts(message.get("content")):
            if part.get("type") in ("tool_use", "server_tool_use") and isinstance(part.get("id"), str):
                yield part["id"]


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
    media_type = "image/jpeg" if media_type.lower() == "image/jpg" else media_type.lower()
    if media_type not in IMAGE_MEDIA_TYPES:
        # The whole request would be refused for one image; the model is told what it is not seeing instead.
        return {"type": "text", "text": f"[{media_type} image not shown: Anthropic reads JPEG, PNG, GIF and WebP]"}
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


def _assistant_blocks(message: Mapping[str, Any], index: int, name_map: NameMap, ids: NameMap) -> list[dict[str, Any]]:
    blocks = _thinking_blocks(message)
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
                "id": ids.to_target(required_call_id(call, index)),
                "name": name_map.to_target(name),
                "input": parse_arguments(arguments),
            }
        )
    return blocks


def _thinking_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The message's replayable Anthropic thinking blocks, wire fields only, in their original order."""
    carried = message.get("thinking_blocks")
    if not isinstance(carried, Sequence) or isinstance(carried, str):
        return []
    blocks: list[dict[str, Any]] = []
    for block in carried:
        kind = block.get("type") if isinstance(block, Mapping) else None
        required = _THINKING_FIELDS.get(kind) if isinstance(kind, str) else None
        if required is None or not all(isinstance(block.get(key), str) and block[key] for key in required):
            continue
        wire: dict[str, Any] = {"type": kind}
        if kind == "thinking":
            thinking = block.get("thinking")
            wire["thinking"] = thinking if isinstance(thinking, str) else ""
        blocks.append({**wire, **{key: block[key] for key in required}})
    return blocks


def _tool_result(message: Mapping[str, Any], index: int, ids: NameMap) -> dict[str, Any]:
    content = message.get("content")
    result: str | list[dict[str, Any]]
    if isinstance(content, str) or content is None:
        result = EMPTY_RESULT_TEXT if is_blank(content) else str(content)
    else:
        result = _user_blocks(content) or EMPTY_RESULT_TEXT
    tool_use_id = ids.to_target(required_result_id(message, index))
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": result}
    if message.get("is_error") is True:
        block["is_error"] = True
    return block


def _without_trailing_whitespace(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A final assistant turn is a prefill, and Anthropic rejects a prefill that ends in whitespace."""
    if not turns or turns[-1]["role"] != "assistant":
        return turns
    blocks = list(turns[-1]["content"])
    last = blocks[-1]
    if last.get("type") == "text":
        blocks[-1] = {**last, "text": last["text"].rstrip()}
    return [*turns[:-1], {"role": "assistant", "content": blocks}]


def assistant_message(
    response: Mapping[str, Any], name_map: NameMap, *, tool_use_ids: NameMap | None = None
) -> dict[str, Any]:
    """A Messages API response as an OpenAI assistant message with the caller's tool names.

    Text and `tool_use` blocks become content and tool calls; `thinking` and `redacted_thinking` blocks are
    kept verbatim in `thinking_blocks` for the next request (see the module docstring). Hosted-tool blocks
    have no OpenAI equivalent and stay in the provider response for callers who keep it. With
    `tool_use_ids` (from `AnthropicMessages`), rewritten tool-call ids are mapped back to the caller's.
    """
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    for block in response.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind in _THINKING_FIELDS:
            thinking.append(copy.deepcopy(dict(block)))
        elif kind == "tool_use":
            name = name_map.to_original(block["name"])
            call_id = tool_use_ids.to_original(block["id"]) if tool_use_ids is not None else block["id"]
            calls.append(openai_tool_call(call_id, name, arguments_json(block.get("input"))))
    message = openai_assistant_message("".join(texts), calls)
    if thinking:
        message["thinking_blocks"] = thinking
    return message
