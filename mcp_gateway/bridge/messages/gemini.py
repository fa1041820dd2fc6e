"""Gemini generateContent (generativelanguage and Vertex): `systemInstruction` + `contents`, and back.

- Roles are `user` and `model`; consecutive turns of one role are merged, empty text parts dropped.
- Assistant tool calls become `functionCall` parts. Gemini answers a call by function NAME, so a tool
  result's `functionResponse` takes the provider-safe name of the call its `tool_call_id` points to.
- Thought signatures: Gemini 3 rejects a replayed function call without the signature it was issued with.
  Callers carry it the way Google's OpenAI-compatible endpoint returns it, on the tool call:
  `"extra_content": {"google": {"thought_signature": "..."}}`; it is sent back as the part's
  `thoughtSignature`, and `assistant_message` puts it in the same place.
- Call ids are not sent: callers' ids are their own (not Gemini's), and Gemini pairs a response with its
  call by name and position.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.messages.common import (
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
    text_of,
    tool_calls_of,
)
from mcp_gateway.names import NameMap


@dataclass(frozen=True)
class GeminiContents:
    system_instruction: dict[str, Any] | None
    contents: list[dict[str, Any]]

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"contents": self.contents}
        if self.system_instruction is not None:
            fields["systemInstruction"] = self.system_instruction
        return fields


def convert_messages(messages: Sequence[Mapping[str, Any]], name_map: NameMap) -> GeminiContents:
    system_parts: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    # Tool call id -> provider-safe function name; the latest call wins when a caller reuses an id.
    called: dict[str, str] = {}
    for message in messages:
        role = role_of(message)
        if role in SYSTEM_ROLES:
            system_parts.extend(_text_parts(message.get("content")))
        elif role == "user":
            turns.append({"role": "user", "parts": _content_parts(message.get("content"))})
        elif role == "assistant":
            for call in tool_calls_of(message):
                called[str(call.get("id"))] = name_map.to_target(function_of(call)[0])
            turns.append({"role": "model", "parts": _model_parts(message, name_map)})
        elif role == "tool":
            turns.append({"role": "user", "parts": [_function_response(message, called, name_map)]})
        else:
            raise MessageConversionError(f"Gemini has no equivalent of a {role!r} message")
    system = {"parts": system_parts} if system_parts else None
    return GeminiContents(
        system_instruction=system, contents=merge_same_role((t for t in turns if t["parts"]), "parts")
    )


def _text_parts(content: object) -> list[dict[str, Any]]:
    texts = (part_text(part) for part in content_parts(content))
    return [{"text": text} for text in texts if text is not None and not is_blank(text)]


def _content_parts(content: object) -> list[dict[str, Any]]:
    """OpenAI parts as Gemini parts; parts without an OpenAI `type` are Gemini parts already and pass through."""
    parts: list[dict[str, Any]] = []
    for part in content_parts(content):
        kind = part.get("type")
        if kind not in OPENAI_PART_TYPES:
            parts.append(part)
        elif kind == "image_url":
            parts.append(_media_part(image_url_of(part)))
        elif kind in ("file", "input_audio"):
            parts.append(_inline_part(part))
        else:
            parts.extend(_text_parts([part]))
    return parts


def _media_part(url: str) -> dict[str, Any]:
    decoded = decode_data_url(url)
    if decoded is None:
        return {"fileData": {"fileUri": url}}
    media_type, data = decoded
    return {"inlineData": {"mimeType": media_type, "data": data}}


def _inline_part(part: Mapping[str, Any]) -> dict[str, Any]:
    if part.get("type") == "input_audio":
        audio = part.get("input_audio") or {}
        return {"inlineData": {"mimeType": f"audio/{audio.get('format', 'wav')}", "data": audio.get("data", "")}}
    file = part.get("file") or {}
    file_data = file.get("file_data")
    if not isinstance(file_data, str) or decode_data_url(file_data) is None:
        raise MessageConversionError("Gemini needs file parts as base64 data URLs (file.file_data)")
    return _media_part(file_data)


def _model_parts(message: Mapping[str, Any], name_map: NameMap) -> list[dict[str, Any]]:
    parts = _content_parts(message.get("content"))
    for call in tool_calls_of(message):
        name, arguments = function_of(call)
        part: dict[str, Any] = {"functionCall": {"name": name_map.to_target(name), "args": parse_arguments(arguments)}}
        signature = _thought_signature(call)
        if signature is not None:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _thought_signature(call: Mapping[str, Any]) -> str | None:
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, Mapping) else None
    signature = google.get("thought_signature") if isinstance(google, Mapping) else None
    return signature if isinstance(signature, str) else None


def _function_response(message: Mapping[str, Any], called: Mapping[str, str], name_map: NameMap) -> dict[str, Any]:
    call_id = str(message.get("tool_call_id"))
    # A tool message may also name its function itself (the older OpenAI shape carries `name`).
    stated = message.get("name")
    name = called.get(call_id) or (name_map.to_target(stated) if isinstance(stated, str) else None)
    if name is None:
        raise MessageConversionError(f"tool result {call_id!r} answers no earlier assistant tool call")
    return {"functionResponse": {"name": name, "response": response_object(text_of(message.get("content")))}}


def response_object(output: str) -> dict[str, Any]:
    """`functionResponse.response` must be an object; Gemini reads the `output` key as the function's output.

    JSON text is sent as JSON so the model sees structure rather than an escaped string.
    """
    try:
        return {"output": json.loads(output)}
    except json.JSONDecodeError:
        return {"output": output}


def assistant_message(response: Mapping[str, Any], name_map: NameMap) -> dict[str, Any]:
    """The first candidate as an OpenAI assistant message with the caller's tool names.

    Thought parts (`thought: true`) are the model's reasoning, not its answer, and are left out. Gemini may
    omit call ids; a stable one is derived from the call's position, name and arguments.
    """
    candidates = response.get("candidates") or [{}]
    parts = (candidates[0].get("content") or {}).get("parts") or []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if "functionCall" in part:
            calls.append(_openai_call(part, len(calls), name_map))
        elif isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(part["text"])
    return openai_assistant_message("".join(texts), calls)


def _openai_call(part: Mapping[str, Any], position: int, name_map: NameMap) -> dict[str, Any]:
    function_call = part["functionCall"]
    arguments = arguments_json(function_call.get("args"))
    call_id = function_call.get("id")
    if not isinstance(call_id, str) or not call_id:
        seed = f"{position}:{function_call.get('name')}:{arguments}".encode()
        call_id = "call_" + hashlib.sha256(seed).hexdigest()[:24]
    signature = part.get("thoughtSignature")
    extra = {"extra_content": {"google": {"thought_signature": signature}}} if isinstance(signature, str) else None
    return openai_tool_call(call_id, name_map.to_original(function_call["name"]), arguments, extra)
