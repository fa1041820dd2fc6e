"""AWS Bedrock Converse: `system` + `messages` of content blocks, and a response back.

Converse content blocks are single-key objects (`{"text": ...}`, `{"toolUse": {...}}`, `{"toolResult": ...}`,
`{"image": ...}`). Roles must alternate, so consecutive turns of one role are merged; Bedrock rejects blank
text blocks, so they are dropped (an empty tool result carries `EMPTY_RESULT_TEXT`). Content parts that
have no OpenAI `type` are taken to be Converse blocks already (e.g. `{"cachePoint": ...}`) and pass through.
"""

from __future__ import annotations

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

# Converse ImageBlock.format accepts these; the media subtype of a data URL names one of them.
_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})


@dataclass(frozen=True)
class BedrockMessages:
    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"messages": self.messages}
        if self.system:
            fields["system"] = self.system
        return fields


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> BedrockMessages:
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = role_of(message)
        if role in SYSTEM_ROLES:
            system.extend(_blocks(message.get("content")))
        elif role == "user":
            turns.append({"role": "user", "content": _blocks(message.get("content"))})
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message, name_map)})
        elif role == "tool":
            turns.append({"role": "user", "content": [_tool_result(message)]})
        else:
            raise MessageConversionError(f"Bedrock Converse has no equivalent of a {role!r} message")
    return BedrockMessages(system=system, messages=merge_same_role((t for t in turns if t["content"]), "content"))


def _blocks(content: object) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in content_parts(content):
        kind = part.get("type")
        if kind not in OPENAI_PART_TYPES:
            blocks.append(part)
        elif kind == "image_url":
            blocks.append(_image_block(image_url_of(part)))
        elif kind in ("file", "input_audio"):
            raise MessageConversionError(f"Bedrock Converse blocks for {kind!r} parts are not supported")
        elif not is_blank(text := part_text(part)):
            blocks.append({"text": text})
    return blocks


def _image_block(url: str) -> dict[str, Any]:
    decoded = decode_data_url(url)
    if decoded is None:
        raise MessageConversionError("Bedrock Converse takes images as bytes: send a base64 data URL")
    media_type, data = decoded
    image_format = media_type.split("/", 1)[1].replace("jpg", "jpeg")
    if image_format not in _IMAGE_FORMATS:
        raise MessageConversionError(f"Bedrock Converse does not accept {media_type} images")
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def _assistant_blocks(message: Mapping[str, Any], name_map: NameMap) -> list[dict[str, Any]]:
    blocks = _blocks(message.get("content"))
    for call in tool_calls_of(message):
        name, arguments = function_of(call)
        blocks.append(
            {
                "toolUse": {
                    "toolUseId": call.get("id"),
                    "name": name_map.to_target(name),
                    "input": parse_arguments(arguments),
                }
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    content = _blocks(message.get("content")) or [{"text": EMPTY_RESULT_TEXT}]
    return {"toolResult": {"toolUseId": message.get("tool_call_id"), "content": content}}


def assistant_message(response: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    """`output.message` of a Converse response as an OpenAI assistant message with the caller's tool names."""
    message = (response.get("output") or {}).get("message") or {}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            calls.append(
                openai_tool_call(use["toolUseId"], name_map.to_original(use["name"]), arguments_json(use.get("input")))
            )
    return openai_assistant_message("".join(texts), calls)
