"""An OpenAI chat conversation as Responses API `instructions` + `input` items, and a response back."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import ResponseInputParam
from pydantic import TypeAdapter

from mcp_gateway.bridge.messages import MessageConversionError
from mcp_gateway.bridge.messages.responses import assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["repos/get"], "openai-responses")
CALL = {"id": "call_1", "type": "function", "function": {"name": "repos/get", "arguments": "{}"}}


def test_tool_calls_and_results_become_function_call_items_paired_by_call_id() -> None:
    converted = convert_messages(
        [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this repo?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "repos/get", "arguments": '{"id":7}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "gateway"},
        ],
        NAME_MAP,
    )
    assert converted.request_fields() == {
        "instructions": "Be brief.",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in this repo?"},
                    {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
                ],
            },
            {"role": "assistant", "content": "Checking."},
            {"type": "function_call", "call_id": "call_1", "name": "repos_get", "arguments": '{"id":7}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "gateway"},
        ],
    }
    TypeAdapter(ResponseInputParam).validate_python(converted.input)


def test_without_system_messages_there_are_no_instructions() -> None:
    assert convert_messages([{"role": "user", "content": "hi"}], NAME_MAP).request_fields() == {
        "input": [{"role": "user", "content": "hi"}]
    }


def test_a_response_becomes_an_openai_assistant_message_and_hosted_items_are_left_out() -> None:
    response = {
        "id": "resp_1",
        "object": "response",
        "output": [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Fetching.", "annotations": []}],
            },
            {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "repos_get", "arguments": '{"id":7}'},
        ],
    }
    assert assistant_message(response, NAME_MAP) == {
        "role": "assistant",
        "content": "Fetching.",
        "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "repos/get", "arguments": '{"id":7}'}}
        ],
    }


def _round(call: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Repo 7?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        result,
    ]


def test_images_in_a_tool_result_are_sent_as_input_items() -> None:
    result = {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": [
            {"type": "text", "text": "Screenshot:"},
            {"type": "text", "text": " "},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    }
    converted = convert_messages(_round(CALL, result), NAME_MAP)
    assert converted.input[-1] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": [
            {"type": "input_text", "text": "Screenshot:"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
        ],
    }
    TypeAdapter(ResponseInputParam).validate_python(converted.input)


def test_a_text_only_tool_result_stays_a_string() -> None:
    result = {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": [{"type": "text", "text": "gate"}, {"type": "text", "text": "way"}],
    }
    assert convert_messages(_round(CALL, result), NAME_MAP).input[-1]["output"] == "gateway"


def test_a_tool_call_or_result_without_an_id_is_an_error_naming_the_message() -> None:
    result = {"role": "tool", "tool_call_id": "call_1", "content": "ok"}
    with pytest.raises(MessageConversionError, match=r"message 1 \(assistant\): tool call 'repos/get' has no id"):
        convert_messages(_round({**CALL, "id": None}, result), NAME_MAP)
    with pytest.raises(MessageConversionError, match=r"message 2 \(tool\): tool result has no tool_call_id"):
        convert_messages(_round(CALL, {"role": "tool", "content": "ok"}), NAME_MAP)
