"""Reading OpenAI Chat Completions messages, shared by every per-provider converter.

The converters take the caller's conversation in the OpenAI shape and never mutate it: every helper here
returns fresh values (deep copies where caller data is carried over).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SYSTEM_ROLES = frozenset({"system", "developer"})

# Content part types of the OpenAI Chat Completions API. Parts of any other type are taken to be already in
# the target provider's own shape and are passed through.
OPENAI_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})

# Anthropic rejects an empty tool result when is_error is set ("content cannot be empty if is_error is true"),
# Bedrock rejects blank text blocks; a short, explicit text is accepted by every provider and tells the model
# that the tool ran and printed nothing.
EMPTY_RESULT_TEXT = "(no output)"

_DATA_URL = re.compile(r"^data:(?P<media_type>[\w.+-]+/[\w.+-]+)(?:;[^,]*)?;base64,(?P<data>.*)\Z", re.DOTALL)


class MessageConversionError(ValueError):
    """The conversation cannot be expressed for the target provider, e.g. a tool result with no matching call."""


def role_of(message: Mapping[str, Any]) -> str:
    role = message.get("role")
    if not isinstance(role, str):
        raise MessageConversionError(f"message without a role: {sorted(message)}")
    return role


def content_parts(content: object) -> list[dict[str, Any]]:
    """Message content as a list of parts: a string becomes one text part; parts are deep-copied."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, Sequence):
        return [without_internal_keys(part) for part in content if isinstance(part, Mapping)]
    raise MessageConversionError(f"unsupported message content of type {type(content).__name__}")


def part_text(part: Mapping[str, Any]) -> str | None:
    """The text of a text-like OpenAI part (text, refusal, Responses output_text), else None."""
    kind = part.get("type")
    if kind in ("text", "output_text", "input_text"):
        text = part.get("text")
        return text if isinstance(text, str) else ""
    if kind == "refusal":
        refusal = part.get("refusal")
        return refusal if isinstance(refusal, str) else ""
    return None


def text_of(content: object) -> str:
    """All text in message content, joined without separators (parts are fragments of one text)."""
    texts = (part_text(part) for part in content_parts(content))
    return "".join(text for text in texts if text is not None)


def is_blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def tool_calls_of(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    calls = message.get("tool_calls")
    if not isinstance(calls, Sequence):
        return []
    return [call for call in calls if isinstance(call, Mapping)]


def function_of(tool_call: Mapping[str, Any]) -> tuple[str, object]:
    """Name and raw arguments of an OpenAI tool call."""
    function = tool_call.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise MessageConversionError(f"tool call without a function name: {tool_call.get('id')!r}")
    return function["name"], function.get("arguments")


def parse_arguments(arguments: object) -> dict[str, Any]:
    """Tool-call arguments as the JSON object providers require.

    Arguments that are not a JSON object (malformed model output replayed from history) become `{}`: the
    target demands an object, and the tool result that follows in the history already tells the model
    what happened to that call.
    """
    if isinstance(arguments, Mapping):
        return copy.deepcopy(dict(arguments))
    if isinstance(arguments, str) and arguments.strip():
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def arguments_json(value: object) -> str:
    """Arguments as the JSON string the OpenAI shape carries."""
    if isinstance(value, str):
        return value
    return json.dumps({} if value is None else value, ensure_ascii=False)


def decode_data_url(url: str) -> tuple[str, str] | None:
    """(media type, base64 data) of a base64 `data:` URL, else None."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    return match["media_type"], match["data"]


def image_url_of(part: Mapping[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str):
        raise MessageConversionError("image_url part without a url")
    return url


def without_internal_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a message or part without underscore-prefixed keys (caller bookkeeping, never wire)."""
    return {key: copy.deepcopy(value) for key, value in mapping.items() if not key.startswith("_")}


def clean_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of an OpenAI-shaped message without underscore-prefixed keys on it, its parts or its calls.

    Tool arguments are left alone: a tool may well have a parameter called `_id`.
    """
    cleaned = without_internal_keys(message)
    if isinstance(cleaned.get("content"), list):
        cleaned["content"] = content_parts(cleaned["content"])
    if isinstance(cleaned.get("tool_calls"), list):
        cleaned["tool_calls"] = [
            without_internal_keys(call) if isinstance(call, Mapping) else call for call in cleaned["tool_calls"]
        ]
    return cleaned


def merge_same_role(turns: Iterable[dict[str, Any]], items_key: str) -> list[dict[str, Any]]:
    """Join consecutive turns of one role, for providers that require user and assistant turns to alternate."""
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1] = {**merged[-1], items_key: [*merged[-1][items_key], *turn[items_key]]}
        else:
            merged.append(turn)
    return merged


def openai_tool_call(call_id: str, name: str, arguments: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    if extra:
        call.update(extra)
    return call


def openai_assistant_message(text: str, tool_calls: list[dict[str, Any]]) -> dict[str, Any]:
    """An assistant message as Chat Completions returns it: content null when there is no text."""
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message
