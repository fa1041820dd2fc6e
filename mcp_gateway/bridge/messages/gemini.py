"""Gemini generateContent (generativelanguage and Vertex): `systemInstruction` + `contents`, and back.

- Roles are `user` and `model`; consecutive turns of one role are merged, empty text parts dropped.
- Assistant tool calls become `functionCall` parts. Gemini answers a call by function NAME, so a tool
  result's `functionResponse` takes the provider-safe name of the call its `tool_call_id` points to.
- Thought signatures: Gemini 3 rejects a replayed function call without the signature it was issued with.
  Callers carry it the way Google's OpenAI-compatible endpoint returns it, on the tool call:
  `"extra_content": {"google": {"thought_signature": "..."}}`; it is sent back as the part's
  `thoughtSignature`, and `assistant_message` puts it in the same place.
- Calls Gemini did not issue (history from another provider, hand-built turns) have no signature, and
  Gemini 3 answers 400 "Function call is missing a thought_signature". Google documents a placeholder
  signature for exactly this case; by default (`foreign_call_signatures=True`) it is put on the first
  `functionCall` of every model turn whose first call has none. Pass `False` to send such calls unsigned.
- Tool results: the result's text becomes `functionResponse.response`; JSON text is sent as JSON. Media
  in a tool result (images, PDFs) is kept: Gemini 3 reads PNG, JPEG, WebP, PDF and plain text inside
  `functionResponse.parts`; other media, and all media when `media_in_function_responses=False` (for
  Gemini 1.x and 2.x, which refuse multimodal function responses), follows the `functionResponse` as
  ordinary parts of the same user turn.
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

# The placeholder signature Google documents for function calls the model did not produce itself
# (https://ai.google.dev/gemini-api/docs/thought-signatures, FAQ; Vertex AI: "Thought signatures",
# https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures).
FOREIGN_CALL_SIGNATURE = "skip_thought_signature_validator"

# MIME types Gemini 3 accepts inside `functionResponse.parts`
# (https://ai.google.dev/gemini-api/docs/function-calling, "Multimodal function responses").
FUNCTION_RESPONSE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "application/pdf", "text/plain"})


@dataclass(frozen=True)
class GeminiContents:
    system_instruction: dict[str, Any] | None
    contents: list[dict[str, Any]]

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"contents": self.contents}
        if self.system_instruction is not None:
            fields["systemInstruction"] = self.system_instruction
        return fields


def convert_messages(
    messages: Sequence[Mapping[str, Any]],
    name_map: NameMap,
    *,
    foreign_call_signatures: bool = True,
    media_in_function_responses: bool = True,
) -> GeminiContents:
    """`foreign_call_signatures` and `media_in_function_responses` are explained in the module docstring."""
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
            parts = _function_response(message, called, name_map, media_in_function_responses)
            turns.append({"role": "user", "parts": parts})
        else:
            raise MessageConversionError(f"Gemini has no equivalent of a {role!r} message")
    system = {"parts": system_parts} if system_parts else None
    contents = [
        _with_function_responses_first(turn) if turn["role"] == "user" else turn
        for turn in merge_same_role((turn for turn in turns if turn["parts"]), "parts")
    ]
    if foreign_call_signatures:
        contents = [_with_first_call_signed(turn) if turn["role"] == "model" else turn for turn in contents]
    return GeminiContents(system_instruction=system, contents=contents)


def _with_function_responses_first(turn: dict[str, Any]) -> dict[str, Any]:
    """The turn with its `functionResponse` parts first, in their order, and every other part after them.

    Media following one result must not separate the answers to a step's parallel calls.
    """
    parts = turn["parts"]
    responses = [part for part in parts if "functionResponse" in part]
    if not responses:
        return turn
    return {**turn, "parts": [*responses, *(part for part in parts if "functionResponse" not in part)]}


def _with_first_call_signed(turn: dict[str, Any]) -> dict[str, Any]:
    """The turn, its first `functionCall` part given the placeholder signature when it carries none.

    Gemini validates the first call of each step only; later parallel calls are unsigned even when the
    model issued them.
    """
    parts = turn["parts"]
    first = next((index for index, part in enumerate(parts) if "functionCall" in part), None)
    if first is None or parts[first].get("thoughtSignature"):
        return turn
    signed = {**parts[first], "thoughtSignature": FOREIGN_CALL_SIGNATURE}
    return {**turn, "parts": [*parts[:first], signed, *parts[first + 1 :]]}


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


def _function_response(
    message: Mapping[str, Any], called: Mapping[str, str], name_map: NameMap, media_inside: bool
) -> list[dict[str, Any]]:
    """The `functionResponse` part answering a tool message, followed by any media it cannot carry."""
    call_id = str(message.get("tool_call_id"))
    # A tool message may also name its function itself (the older OpenAI shape carries `name`).
    stated = message.get("name")
    name = called.get(call_id) or (name_map.to_target(stated) if isinstance(stated, str) else None)
    if name is None:
        raise MessageConversionError(f"tool result {call_id!r} answers no earlier assistant tool call")
    content = message.get("content")
    # A failed call is answered under `error`, as Gemini documents for function responses.
    response = {"error": text_of(content)} if message.get("is_error") is True else response_object(text_of(content))
    function_response: dict[str, Any] = {"name": name, "response": response}
    nested: list[dict[str, Any]] = []
    following: list[dict[str, Any]] = []
    for part in _content_parts([part for part in content_parts(content) if part_text(part) is None]):
        (nested if media_inside and _fits_function_response(part) else following).append(part)
    if nested:
        function_response["parts"] = nested
    return [{"functionResponse": function_response}, *following]


def _fits_function_response(part: Mapping[str, Any]) -> bool:
    inline = part.get("inlineData")
    return isinstance(inline, Mapping) and inline.get("mimeType") in FUNCTION_RESPONSE_MEDIA_TYPES


def response_object(output: str) -> dict[str, Any]:
    """`functionResponse.response` must be an object; Gemini reads the `output` key as the function's output.

    JSON text is sent as JSON so the model sees structure rather than an escaped string. Python's parser
    also reads `NaN` and `Infinity`, which are not JSON and could not be sent; such text stays text.
    """
    try:
        return {"output": json.loads(output, parse_constant=_refuse_non_json_constant)}
    except ValueError:
        return {"output": output}


def _refuse_non_json_constant(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


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
