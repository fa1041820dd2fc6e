"""An OpenAI conversation as Gemini `contents`, and a generateContent response back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_gateway.bridge.messages import MessageConversionError
from mcp_gateway.bridge.messages.gemini import (
    FOREIGN_CALL_SIGNATURE,
    assistant_message,
    convert_messages,
    response_object,
)
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
                {"functionCall": {"name": "repos_get", "args": {"id": 7}}, "thoughtSignature": FOREIGN_CALL_SIGNATURE},
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


def _weather_round(result_content: object) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("c1", "weather", "{}")]},
        {"role": "tool", "tool_call_id": "c1", "content": result_content},
    ]


def test_calls_gemini_did_not_sign_get_the_documented_placeholder_on_the_first_call_of_a_turn() -> None:
    conversation: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather in Oslo and Rome, then repo 7?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [_call("c1", "weather", '{"city": "Oslo"}'), _call("c2", "weather", '{"city": "Rome"}')],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "-3C"},
        {"role": "tool", "tool_call_id": "c2", "content": "18C"},
        {"role": "assistant", "content": None, "tool_calls": [_call("c3", "repos/get", "{}", signature="CiQB")]},
    ]
    contents = convert_messages(conversation, NAME_MAP).contents
    assert FOREIGN_CALL_SIGNATURE == "skip_thought_signature_validator"
    assert [part.get("thoughtSignature") for part in contents[1]["parts"]] == [None, FOREIGN_CALL_SIGNATURE, None]
    assert contents[3]["parts"][0]["thoughtSignature"] == "CiQB"

    unsigned = convert_messages(conversation, NAME_MAP, foreign_call_signatures=False).contents
    assert all("thoughtSignature" not in part for part in unsigned[1]["parts"])


def test_tool_output_that_python_reads_as_a_number_but_json_does_not_stays_text() -> None:
    for text in ("NaN", "Infinity", "-Infinity", '{"ratio": NaN}'):
        assert response_object(text) == {"output": text}
    assert response_object('{"ratio": 0.5}') == {"output": {"ratio": 0.5}}

    contents = convert_messages(_weather_round("NaN"), NAME_MAP).contents
    json.dumps(contents, allow_nan=False)  # the request body is valid JSON


def test_images_in_a_tool_result_go_inside_the_function_response() -> None:
    png = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    contents = convert_messages(_weather_round([{"type": "text", "text": "Radar:"}, png]), NAME_MAP).contents
    assert contents[-1] == {
        "role": "user",
        "parts": [
            {
                "functionResponse": {
                    "name": "weather",
                    "response": {"output": "Radar:"},
                    "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}],
                }
            }
        ],
    }


def test_media_a_function_response_cannot_carry_follows_it_in_the_same_turn() -> None:
    gif = {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlh"}}
    png = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    contents = convert_messages(_weather_round([gif, png]), NAME_MAP).contents
    assert contents[-1]["parts"] == [
        {
            "functionResponse": {
                "name": "weather",
                "response": {"output": ""},
                "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}],
            }
        },
        {"inlineData": {"mimeType": "image/gif", "data": "R0lGODlh"}},
    ]

    for_gemini_2 = convert_messages(_weather_round([gif, png]), NAME_MAP, media_in_function_responses=False)
    assert for_gemini_2.contents[-1]["parts"] == [
        {"functionResponse": {"name": "weather", "response": {"output": ""}}},
        {"inlineData": {"mimeType": "image/gif", "data": "R0lGODlh"}},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
    ]


def test_media_following_a_result_never_separates_the_answers_to_parallel_calls() -> None:
    gif = {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlh"}}
    contents = convert_messages(
        [
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [_call("c1", "weather", "{}"), _call("c2", "weather", "{}")],
            },
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "-3C"}, gif]},
            {"role": "tool", "tool_call_id": "c2", "content": "18C"},
        ],
        NAME_MAP,
    ).contents
    assert [next(iter(part)) for part in contents[-1]["parts"]] == [
        "functionResponse",
        "functionResponse",
        "inlineData",
    ]
