"""Tool-call ids of a conversation: required on every call and result, and fitted to a provider's id pattern.

A provider pairs a tool result with its call by id, so a call or result without one cannot be sent: it is
an error naming the message, never a `null` id on the wire.

Anthropic and Bedrock validate ids against a pattern, while callers' ids come from anywhere (another
provider, a stored session). Ids are allocated like tool names, by `mcp_gateway.names`: ids that already
fit are kept and reserved first; the rest are sanitized (invalid characters become `_`, over-long ids are
cut and given a short hash of the whole id) and suffixed `_2`, `_3`, ... on a collision. So one id maps to
the same provider id in its call and in its result, different ids never meet, and the same conversation
always yields the same ids. The resulting `NameMap` maps provider ids back with `to_original`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mcp_gateway.bridge.messages.common import MessageConversionError, role_of, tool_calls_of
from mcp_gateway.names import NameMap, NameRule


def required_call_id(call: Mapping[str, Any], index: int) -> str:
    """The id of a tool call of message `index`; an error naming the message when it has none."""
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        function = call.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        raise MessageConversionError(f"message {index} (assistant): tool call {name!r} has no id")
    return call_id


def required_result_id(message: Mapping[str, Any], index: int) -> str:
    """The `tool_call_id` of tool message `index`; an error naming the message when it has none."""
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise MessageConversionError(f"message {index} (tool): tool result has no tool_call_id")
    return call_id


def conversation_call_ids(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every tool-call id of the conversation in order of appearance, calls and results alike."""
    ids: list[str] = []
    for index, message in enumerate(messages):
        ids.extend(required_call_id(call, index) for call in tool_calls_of(message))
        if role_of(message) == "tool":
            ids.append(required_result_id(message, index))
    return ids


def allocate_call_ids(messages: Sequence[Mapping[str, Any]], rule: NameRule, native_ids: Iterable[str] = ()) -> NameMap:
    """Caller id -> provider id for every id of the conversation.

    `native_ids` are ids of provider-native blocks passed through untouched; they take part in the
    allocation so that no rewritten id can become equal to one of them.
    """
    return NameMap.build([*conversation_call_ids(messages), *native_ids], rule)
