"""An OpenAI conversation as Bedrock Converse `system` + `messages`, and a Converse response back."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mcp_gateway.bridge.messages import EMPTY_RESULT_TEXT, MessageConversionError
from mcp_gateway.bridge.messages.bedrock import assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["repos/get", "weather"], "bedrock")


def test_a_tool_round_becomes_tool_use_and_tool_result_blocks() -> None:
    converted = convert_messages(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Repo 7?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "tooluse_1", "type": "function", "function": {"name": "repos/get", "arguments": '{"id": 7}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "tooluse_1", "content": "gateway"},
            {"role": "user", "content": "Thanks"},
        ],
        NAME_MAP,
    )
    assert converted.request_fields() == {
        "system": [{"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"text": "Repo 7?"}]},
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "repos_get", "input": {"id": 7}}}],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "gateway"}]}},
                    {"text": "Thanks"},
                ],
            },
        ],
    }


def test_blank_text_never_reaches_bedrock() -> None:
    converted = convert_messages(
        [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": " "}]},
            {
                "role": "assistant",
                "content": "\n",
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "t1", "content": ""},
        ],
        NAME_MAP,
    )
    assert converted.messages == [
        {"role": "user", "content": [{"text": "Hi"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "weather", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": EMPTY_RESULT_TEXT}]}}]},
    ]
    assert "system" not in converted.request_fields()


def test_images_are_sent_as_bytes_and_urls_are_refused() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/4AAQ"}}
    converted = convert_messages([{"role": "user", "content": [image]}], NAME_MAP)
    assert converted.messages[0]["content"] == [{"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}}]
    with pytest.raises(MessageConversionError, match="data URL"):
        convert_messages(
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}],
            NAME_MAP,
        )


def test_native_converse_blocks_pass_through() -> None:
    converted = convert_messages(
        [{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"cachePoint": {"type": "default"}}]}], NAME_MAP
    )
    assert converted.messages[0]["content"] == [{"text": "Hi"}, {"cachePoint": {"type": "default"}}]


def test_a_converse_response_becomes_an_openai_assistant_message() -> None:
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Fetching."},
                    {"toolUse": {"toolUseId": "tooluse_9", "name": "repos_get", "input": {"id": 7}}},
                ],
            }
        },
        "stopReason": "tool_use",
    }
    assert assistant_message(response, NAME_MAP) == {
        "role": "assistant",
        "content": "Fetching.",
        "tool_calls": [
            {"id": "tooluse_9", "type": "function", "function": {"name": "repos/get", "arguments": '{"id": 7}'}}
        ],
    }


def _weather_round(call_id: str, result_id: str | None = None) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": call_id if result_id is None else result_id, "content": "-3C"},
    ]


def test_reasoning_blocks_survive_a_round_trip_and_open_the_assistant_turn() -> None:
    reasoning = {"reasoningContent": {"reasoningText": {"text": "Check Oslo.", "signature": "ErcBCkgIAR"}}}
    redacted = {"reasoningContent": {"redactedContent": "RW5jcnlwdGVk"}}
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    reasoning,
                    redacted,
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {}}},
                ],
            }
        }
    }
    message = assistant_message(response, NAME_MAP)
    assert message["thinking_blocks"] == [reasoning, redacted]

    converted = convert_messages([{"role": "user", "content": "Weather?"}, message], NAME_MAP)
    assert converted.messages[1]["content"] == [
        reasoning,
        redacted,
        {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {}}},
    ]


def test_reasoning_blocks_of_another_provider_are_not_replayed() -> None:
    conversation = _weather_round("tooluse_1")
    conversation[1]["thinking_blocks"] = [
        {"type": "thinking", "thinking": "From Anthropic.", "signature": "a"},
        {"reasoningContent": {"reasoningText": {"signature": "no text"}}},
    ]
    converted = convert_messages(conversation, NAME_MAP)
    assert converted.messages[1]["content"] == [{"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {}}}]


def test_a_tool_call_or_result_without_an_id_is_an_error_naming_the_message() -> None:
    without_call_id = _weather_round("tooluse_1")
    del without_call_id[1]["tool_calls"][0]["id"]
    with pytest.raises(MessageConversionError, match=r"message 1 \(assistant\): tool call 'weather' has no id"):
        convert_messages(without_call_id, NAME_MAP)
    without_result_id = _weather_round("tooluse_1")
    del without_result_id[2]["tool_call_id"]
    with pytest.raises(MessageConversionError, match=r"message 2 \(tool\): tool result has no tool_call_id"):
        convert_messages(without_result_id, NAME_MAP)


def test_ids_outside_the_tool_use_id_pattern_are_mapped_the_same_way_in_call_and_result() -> None:
    long_id = "call_" + "x" * 70
    converted = convert_messages(_weather_round(long_id), NAME_MAP)
    tool_use_id = converted.messages[1]["content"][0]["toolUse"]["toolUseId"]
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", tool_use_id)
    assert converted.messages[2]["content"][0]["toolResult"]["toolUseId"] == tool_use_id
    assert converted.tool_use_ids.to_original(tool_use_id) == long_id
    assert convert_messages(_weather_round(long_id), NAME_MAP).tool_use_ids == converted.tool_use_ids

    response = {"output": {"message": {"content": [{"toolUse": {"toolUseId": tool_use_id, "name": "weather"}}]}}}
    assert assistant_message(response, NAME_MAP, tool_use_ids=converted.tool_use_ids)["tool_calls"][0]["id"] == long_id


def test_ids_that_differ_only_beyond_the_length_limit_stay_apart() -> None:
    prefix = "call_" + "y" * 70
    conversation = [*_weather_round(prefix + "a"), *_weather_round(prefix + "b")[1:]]
    converted = convert_messages(conversation, NAME_MAP)
    ids = converted.tool_use_ids
    assert ids.to_target(prefix + "a") != ids.to_target(prefix + "b")
    assert converted.messages[1]["content"][0]["toolUse"]["toolUseId"] == ids.to_target(prefix + "a")
    assert converted.messages[3]["content"][0]["toolUse"]["toolUseId"] == ids.to_target(prefix + "b")
