"""OpenAI Chat Completions: the caller's own shape, with only the tool names rewritten."""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionMessageParam
from pydantic import TypeAdapter

from mcp_gateway.bridge.messages.openai import assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["repos/get", "weather"], "openai")


def test_historical_tool_calls_get_provider_safe_names_and_nothing_else_changes() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Repo 7?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "repos/get", "arguments": '{"id":7}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "gateway"},
        {"role": "assistant", "content": None, "function_call": {"name": "repos/get", "arguments": "{}"}},
    ]
    converted = convert_messages(messages, NAME_MAP).request_fields()["messages"]
    assert converted[1]["tool_calls"][0]["function"] == {"name": "repos_get", "arguments": '{"id":7}'}
    assert converted[3]["function_call"]["name"] == "repos_get"
    assert [converted[0], converted[2]] == [messages[0], messages[2]]
    TypeAdapter(list[ChatCompletionMessageParam]).validate_python(converted)


def test_a_completion_gets_the_callers_names_back() -> None:
    response = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_2", "type": "function", "function": {"name": "repos_get", "arguments": "{}"}},
                        {"id": "call_3", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    message = assistant_message(response, NAME_MAP)
    assert [call["function"]["name"] for call in message["tool_calls"]] == ["repos/get", "weather"]


def test_tool_and_legacy_function_messages_name_the_tool_as_the_request_does() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": "call_1", "name": "repos/get", "content": "gateway"},
        {"role": "function", "name": "repos/get", "content": "gateway"},
        {"role": "user", "name": "repos/get", "content": "a person may be called anything"},
    ]
    converted = convert_messages(messages, NAME_MAP).messages
    assert [message["name"] for message in converted] == ["repos_get", "repos_get", "repos/get"]
    assert messages[0]["name"] == "repos/get"
    TypeAdapter(list[ChatCompletionMessageParam]).validate_python(converted)


def test_thinking_blocks_carried_from_other_providers_never_reach_openai() -> None:
    thinking = [{"type": "thinking", "thinking": "x", "signature": "s"}]
    history = [{"role": "assistant", "content": "ok", "thinking_blocks": thinking}]
    converted = convert_messages(history, build_name_map([], "openai"))
    assert converted.messages == [{"role": "assistant", "content": "ok"}]
    assert history[0]["thinking_blocks"] == thinking
