"""An OpenAI conversation as Bedrock Converse `system` + `messages`, and a Converse response back."""

from __future__ import annotations

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
