"""An OpenAI conversation as Gemini `contents`, and a generateContent response back."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_gateway.bridge.messages import MessageConversionError
from mcp_gateway.bridge.messages.gemini import assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["repos/get", "1st.tool", "weather"], "gemini")


def _call(call_id: str, name: str, arguments: str, signature: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    if signature is not None:
        call["extra_content"] = {"google": {"thought_signature": signature}}
    return call


def test_a_tool_round_becomes_function_call_and_function_response_parts() -> None:
    converted = convert_messages(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Get repo 7 and run the first tool."},
            {
                "role": "assistant",
                "content": "On it.",
                "tool_calls": [_call("c1", "repos/get", '{"id": 7}'), _call("c2", "1st.tool", "")],
            },
            {"role": "tool", "tool_call_id": "c1", "content": '{"name": "gateway"}'},
            {"role": "tool", "tool_call_id": "c2", "content": "done"},
        ],
        NAME_MAP,
    )
    assert converted.system_instruction == {"parts": [{"text": "Be brief."}]}
    assert converted.contents == [
        {"role": "user", "parts": [{"text": "Get repo 7 and run the first tool."}]},
        {
            "role": "model",
            "parts": [
                {"text": "On it."},
                {"functionCall": {"name": "repos_get", "args": {"id": 7}}},
                {"functionCall": {"name": "_1st.tool", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "repos_get", "response": {"output": {"name": "gateway"}}}},
                {"functionResponse": {"name": "_1st.tool", "response": {"output": "done"}}},
            ],
        },
    ]


def test_the_thought_signature_of_a_call_is_sent_back_with_it() -> None:
    converted = convert_messages(
        [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [_call("c1", "weather", "{}", signature="CiQB")]},
        ],
        NAME_MAP,
    )
    assert converted.contents[1]["parts"] == [
        {"functionCall": {"name": "weather", "args": {}}, "thoughtSignature": "CiQB"}
    ]


def test_a_response_keeps_its_thought_signature_through_a_round_trip() -> None:
    response = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Planning the call.", "thought": True},
                        {"functionCall": {"name": "repos_get", "args": {"id": 7}}, "thoughtSignature": "CiQB"},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    message = assistant_message(response, NAME_MAP)
    call = message["tool_calls"][0]
    assert message["content"] is None
    assert call["function"] == {"name": "repos/get", "arguments": '{"id": 7}'}
    assert call["extra_content"] == {"google": {"thought_signature": "CiQB"}}
    assert assistant_message(response, NAME_MAP)["tool_calls"][0]["id"] == call["id"]

    replayed = convert_messages([{"role": "user", "content": "Get repo 7"}, message], NAME_MAP)
    assert replayed.contents[1]["parts"] == [
        {"functionCall": {"name": "repos_get", "args": {"id": 7}}, "thoughtSignature": "CiQB"}
    ]


def test_a_call_id_given_by_gemini_is_kept() -> None:
    response = {
        "candidates": [{"content": {"parts": [{"functionCall": {"id": "fc-1", "name": "weather", "args": {}}}]}}]
    }
    assert assistant_message(response, NAME_MAP)["tool_calls"][0]["id"] == "fc-1"


def test_empty_text_parts_and_empty_turns_are_dropped() -> None:
    converted = convert_messages(
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "  "},
            {"role": "user", "content": "Again"},
        ],
        NAME_MAP,
    )
    assert converted.contents == [{"role": "user", "parts": [{"text": "Hi"}, {"text": "Again"}]}]
    assert converted.request_fields() == {"contents": converted.contents}


def test_inline_images_become_inline_data() -> None:
    converted = convert_messages(
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]}],
        NAME_MAP,
    )
    assert converted.contents[0]["parts"] == [{"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}]


def test_a_tool_result_without_its_call_cannot_be_named() -> None:
    with pytest.raises(MessageConversionError, match="c9"):
        convert_messages([{"role": "tool", "tool_call_id": "c9", "content": "orphan"}], NAME_MAP)


def test_native_gemini_parts_in_history_pass_through() -> None:
    signed_text = {"text": "Thinking done.", "thoughtSignature": "CiQB"}
    converted = convert_messages(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": [signed_text]}],
        NAME_MAP,
    )
    assert converted.contents[1] == {"role": "model", "parts": [signed_text]}
