"""AWS Bedrock Converse: `system` + `messages` of content blocks, and a response back.

Converse content blocks are single-key objects (`{"text": ...}`, `{"toolUse": {...}}`, `{"toolResult": ...}`,
`{"image": ...}`). Roles must alternate, so consecutive turns of one role are merged; Bedrock rejects blank
text blocks, so they are dropped (an empty tool result carries `EMPTY_RESULT_TEXT`). Content parts that
have no OpenAI `type` are taken to be Converse blocks already (e.g. `{"cachePoint": ...}`) and pass through.

Tool-use ids: every tool call and tool result needs one (an error names the message otherwise), and
`toolUseId` must match `^[a-zA-Z0-9_-]{1,64}$`; other ids are rewritten consistently in the call and its
result (see `call_ids`), and `BedrockMessages.tool_use_ids` maps them back.

Reasoning: a model with reasoning on (e.g. Claude with extended thinking) requires the `reasoningContent`
blocks of an assistant turn that used a tool to be sent back unmodified with their signatures.
`assistant_message` keeps a response's `reasoningContent` blocks, verbatim, in a `thinking_blocks` list on
the OpenAI-shaped assistant message (the field LiteLLM uses), and `convert_messages` puts a message's
`thinking_blocks` first in its turn. Only Converse-shaped `{"reasoningContent": ...}` blocks are replayed:
another provider's reasoning blocks (e.g. Anthropic `thinking`) carry signatures Bedrock cannot verify and
are left out.
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

# Converse ImageBlock.format accepts these; the media subtype of a data URL names one of them.
_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})

# Converse ToolUseBlock.toolUseId (and ToolResultBlock.toolUseId): length 1-64, pattern ^[a-zA-Z0-9_-]+$
# (Bedrock API reference, API_runtime_ToolUseBlock).
TOOL_USE_ID = NameRule("bedrock-tool-use-id", 64, "a-zA-Z0-9_-")

_REASONING = "reasoningContent"


@dataclass(frozen=True)
class BedrockMessages:
    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    tool_use_ids: NameMap = field(default_factory=lambda: NameMap(forward={}, reverse={}))
    """Caller tool-call id -> the `toolUseId` sent; pass it to `assistant_message` to map ids back."""

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"messages": self.messages}
        if self.system:
            fields["system"] = self.system
        return fields


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> BedrockMessages:
    ids = allocate_call_ids(messages, TOOL_USE_ID, _native_tool_use_ids(messages))
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = role_of(message)
        if role in SYSTEM_ROLES:
            system.extend(_blocks(message.get("content")))
        elif role == "user":
            turns.append({"role": "user", "content": _blocks(message.get("content"))})
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message, index, name_map, ids)})
        elif role == "tool":
            turns.append({"role": "user", "content": [_tool_result(message, index, ids)]})
        else:
            raise MessageConversionError(f"Bedrock Converse has no equivalent of a {role!r} message")
    merged = merge_same_role((turn for turn in turns if turn["content"]), "content")
    return BedrockMessages(system=system, messages=merged, tool_use_ids=ids)


def _native_tool_use_ids(messages: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Ids of Converse-native `toolUse` blocks in assistant content, which pass through unchanged."""
    for message in messages:
        if role_of(message) != "assistant":
            continue
        for part in content_parts(message.get("content")):
            tool_use = part.get("toolUse")
            if isinstance(tool_use, Mapping) and isinstance(tool_use.get("toolUseId"), str):
                yield tool_use["toolUseId"]


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


def _assistant_blocks(message: Mapping[str, Any], index: int, name_map: NameMap, ids: NameMap) -> list[dict[str, Any]]:
    blocks = [*_reasoning_blocks(message), *_blocks(message.get("content"))]
    for call in tool_calls_of(message):
        name, arguments = function_of(call)
        blocks.append(
            {
                "toolUse": {
                    "toolUseId": ids.to_target(required_call_id(call, index)),
                    "name": name_map.to_target(name),
                    "input": parse_arguments(arguments),
                }
            }
        )
    return blocks


def _reasoning_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The message's Converse `reasoningContent` blocks, copied as they are, in their original order."""
    carried = message.get("thinking_blocks")
    if not isinstance(carried, Sequence) or isinstance(carried, str):
        return []
    return [
        {_REASONING: copy.deepcopy(block[_REASONING])}
        for block in carried
        if isinstance(block, Mapping) and _is_reasoning(block.get(_REASONING))
    ]


def _is_reasoning(content: object) -> bool:
    """A ReasoningContentBlock: a union of `reasoningText` (with its text) or `redactedContent`."""
    if not isinstance(content, Mapping):
        return False
    text = content.get("reasoningText")
    return (isinstance(text, Mapping) and isinstance(text.get("text"), str)) or bool(content.get("redactedContent"))


def _tool_result(message: Mapping[str, Any], index: int, ids: NameMap) -> dict[str, Any]:
    content = _blocks(message.get("content")) or [{"text": EMPTY_RESULT_TEXT}]
    tool_use_id = ids.to_target(required_result_id(message, index))
    return {"toolResult": {"toolUseId": tool_use_id, "content": content}}


def assistant_message(
    response: Mapping[str, Any], name_map: NameMap, *, tool_use_ids: NameMap | None = None
) -> dict[str, Any]:
    """`output.message` of a Converse response as an OpenAI assistant message with the caller's tool names.

    `reasoningContent` blocks are kept verbatim in `thinking_blocks` for the next request (see the module
    docstring). With `tool_use_ids` (from `BedrockMessages`), rewritten tool-use ids are mapped back.
    """
    message = (response.get("output") or {}).get("message") or {}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    reasoning: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif _REASONING in block:
            reasoning.append({_REASONING: copy.deepcopy(block[_REASONING])})
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            call_id = use["toolUseId"] if tool_use_ids is None else tool_use_ids.to_original(use["toolUseId"])
            calls.append(openai_tool_call(call_id, name_map.to_original(use["name"]), arguments_json(use.get("input"))))
    assistant = openai_assistant_message("".join(texts), calls)
    if reasoning:
        assistant["thinking_blocks"] = reasoning
    return assistant
