"""OpenAI Responses: an OpenAI chat conversation as `instructions` + `input` items, and a response back.

System and developer messages become `instructions`; user and assistant text become message items;
assistant tool calls become `function_call` items and tool messages `function_call_output` items, paired by
`call_id`, which every call and result must have (an error names the message otherwise). A tool result
with only text is sent as a string; one with images or files as a list of `input_text` / `input_image` /
`input_file` items, which `function_call_output.output` accepts. Hosted-tool items in a response
(`web_search_call`, ...) have no chat equivalent and are left out of `assistant_message`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.messages.call_ids import required_call_id, required_result_id
from mcp_gateway.bridge.messages.common import (
    OPENAI_PART_TYPES,
    SYSTEM_ROLES,
    MessageConversionError,
    arguments_json,
    content_parts,
    function_of,
    image_url_of,
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
class ResponsesInput:
    instructions: str | None
    input: list[dict[str, Any]]

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"input": self.input}
        if self.instructions is not None:
            fields["instructions"] = self.instructions
        return fields


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> ResponsesInput:
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = role_of(message)
        content = message.get("content")
        if role in SYSTEM_ROLES:
            if not is_blank(text := text_of(content)):
                instructions.append(text)
        elif role == "user":
            items.append({"role": "user", "content": _user_content(content)})
        elif role == "assistant":
            items.extend(_assistant_items(message, index, name_map))
        elif role == "tool":
            call_id = required_result_id(message, index)
            items.append({"type": "function_call_output", "call_id": call_id, "output": _tool_output(content)})
        else:
            raise MessageConversionError(f"the Responses API has no equivalent of a {role!r} message")
    return ResponsesInput(instructions="\n\n".join(instructions) or None, input=items)


def _user_content(content: object) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [_input_part(part) for part in content_parts(content)]


def _input_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind not in OPENAI_PART_TYPES:
        return part
    if kind == "image_url":
        image = part.get("image_url")
        detail = image.get("detail") if isinstance(image, Mapping) else None
        return {"type": "input_image", "image_url": image_url_of(part), "detail": detail or "auto"}
    if kind == "file":
        file = {
            key: value for key, value in (part.get("file") or {}).items() if key in ("file_id", "file_data", "filename")
        }
        return {"type": "input_file", **file}
    if kind == "input_audio":
        raise MessageConversionError("the Responses API does not accept audio input parts")
    return {"type": "input_text", "text": part_text(part) or ""}


def _tool_output(content: object) -> str | list[dict[str, Any]]:
    """Text-only results stay a string; with media, every part becomes an input item so none is lost."""
    parts = content_parts(content)
    if all(part_text(part) is not None for part in parts):
        return text_of(content)
    texts = [part_text(part) for part in parts]
    return [_input_part(part) for part, text in zip(parts, texts, strict=True) if text is None or not is_blank(text)]


def _assistant_items(message: Mapping[str, Any], index: int, name_map: NameMap) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if not is_blank(text):
        items.append({"role": "assistant", "content": text})
    for call in tool_calls_of(message):
        name, arguments = function_of(call)
        items.append(
            {
                "type": "function_call",
                "call_id": required_call_id(call, index),
                "name": name_map.to_target(name),
                "arguments": arguments_json(arguments),
            }
        )
    return items


def assistant_message(response: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    """A Responses API response's output items as an OpenAI assistant message with the caller's tool names."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response.get("output") or []:
        if item.get("type") == "message":
            texts.extend(text for part in item.get("content") or [] if (text := part_text(part)) is not None)
        elif item.get("type") == "function_call":
            name = name_map.to_original(item["name"])
            calls.append(openai_tool_call(item["call_id"], name, arguments_json(item.get("arguments"))))
    return openai_assistant_message("".join(texts), calls)
