"""What every message converter promises, whatever the provider.

The caller's conversation is never mutated, no underscore-prefixed key reaches a body, the body is plain JSON
(no name map or other object inside), and `foo/bar` next to `foo_bar` keeps two distinct names both ways.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from mcp_gateway.bridge.messages import (
    MessageConversionError,
    anthropic,
    bedrock,
    cohere,
    gemini,
    mistral,
    openai,
    responses,
)
from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.names import NameMap

CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse.", "_trace": "caller bookkeeping"},
    {"role": "user", "content": "Call both tools."},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_slash", "type": "function", "function": {"name": "foo/bar", "arguments": '{"x": 1}'}},
            {"id": "call_underscore", "type": "function", "function": {"name": "foo_bar", "arguments": '{"y": 2}'}},
        ],
        "_cache_key": "internal",
    },
    {"role": "tool", "tool_call_id": "call_slash", "content": "slash result"},
    {"role": "tool", "tool_call_id": "call_underscore", "content": "underscore result"},
    {"role": "user", "content": [{"type": "text", "text": "Thanks.", "_seen": True}]},
]


def _convert(provider: Provider, messages: list[dict[str, Any]], name_map: NameMap) -> dict[str, Any]:
    converters: dict[Provider, Callable[[list[dict[str, Any]], NameMap], Any]] = {
        "openai": openai.convert_messages,
        "openai-responses": responses.convert_messages,
        "anthropic": anthropic.convert_messages,
        "gemini": gemini.convert_messages,
        "bedrock": bedrock.convert_messages,
        "mistral": mistral.convert_messages,
        "cohere": cohere.convert_messages,
    }
    fields: dict[str, Any] = converters[provider](messages, name_map).request_fields()
    return fields


def _history_tool_names(provider: Provider, body: Mapping[str, Any]) -> list[str]:
    """The tool names of the historical calls, read the way each provider reads them."""
    if provider in ("openai", "mistral", "cohere"):
        return [call["function"]["name"] for m in body["messages"] for call in m.get("tool_calls", [])]
    if provider == "openai-responses":
        return [item["name"] for item in body["input"] if item.get("type") == "function_call"]
    if provider == "anthropic":
        return [b["name"] for m in body["messages"] for b in m["content"] if b.get("type") == "tool_use"]
    if provider == "gemini":
        return [p["functionCall"]["name"] for c in body["contents"] for p in c["parts"] if "functionCall" in p]
    return [b["toolUse"]["name"] for m in body["messages"] for b in m["content"] if "toolUse" in b]


def _keys(value: object) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_callers_conversation_is_never_mutated(provider: Provider) -> None:
    before = copy.deepcopy(CONVERSATION)
    _convert(provider, CONVERSATION, build_name_map(["foo/bar", "foo_bar"], provider))
    assert before == CONVERSATION


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bodies_are_plain_json_without_underscore_keys(provider: Provider) -> None:
    body = _convert(provider, CONVERSATION, build_name_map(["foo/bar", "foo_bar"], provider))
    json.dumps(body)
    assert [key for key in _keys(body) if key.startswith("_")] == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("order", [["foo/bar", "foo_bar"], ["foo_bar", "foo/bar"]])
def test_foo_slash_bar_and_foo_bar_keep_distinct_names_in_history(provider: Provider, order: list[str]) -> None:
    name_map = build_name_map(order, provider)
    body = _convert(provider, CONVERSATION, name_map)
    assert _history_tool_names(provider, body) == ["foo_bar_2", "foo_bar"]
    assert [name_map.to_original(name) for name in _history_tool_names(provider, body)] == ["foo/bar", "foo_bar"]


# OpenAI and Mistral take the OpenAI shape as it is, so the provider itself judges the roles.
@pytest.mark.parametrize("provider", ["openai-responses", "anthropic", "gemini", "bedrock", "cohere"])
def test_a_message_with_an_unknown_role_is_refused(provider: Provider) -> None:
    with pytest.raises(MessageConversionError, match="narrator"):
        _convert(provider, [{"role": "narrator", "content": "Once upon a time"}], build_name_map([], provider))
