"""An OpenAI conversation as Cohere v2 chat messages (tool_plan + tool_calls), and a v2 response back."""

from __future__ import annotations

from mcp_gateway.bridge.messages import EMPTY_RESULT_TEXT
from mcp_gateway.bridge.messages.cohere import assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["repos-get", "weather"], "cohere")


def test_assistant_text_before_tool_calls_becomes_the_tool_plan() -> None:
    converted = convert_messages(
        [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Repo 7?"},
            {
                "role": "assistant",
                "content": "I will look up repo 7.",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "repos-get", "arguments": '{"id": 7}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "gateway"}]},
            {"role": "assistant", "content": "It is called gateway."},
        ],
        NAME_MAP,
    )
    assert converted.request_fields()["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Repo 7?"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "repos_get", "arguments": '{"id": 7}'}}
            ],
            "tool_plan": "I will look up repo 7.",
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "gateway"}]},
        {"role": "assistant", "content": "It is called gateway."},
    ]


def test_an_empty_tool_result_is_made_explicit() -> None:
    converted = convert_messages([{"role": "tool", "tool_call_id": "c1", "content": ""}], NAME_MAP)
    assert converted.messages == [{"role": "tool", "tool_call_id": "c1", "content": EMPTY_RESULT_TEXT}]


def test_a_v2_response_becomes_an_openai_assistant_message_with_its_plan_as_text() -> None:
    response = {
        "id": "r1",
        "finish_reason": "TOOL_CALL",
        "message": {
            "role": "assistant",
            "tool_plan": "I will call the weather tool.",
            "tool_calls": [
                {"id": "weather_x1", "type": "function", "function": {"name": "repos_get", "arguments": '{"id":7}'}}
            ],
        },
    }
    assert assistant_message(response, NAME_MAP) == {
        "role": "assistant",
        "content": "I will call the weather tool.",
        "tool_calls": [
            {"id": "weather_x1", "type": "function", "function": {"name": "repos-get", "arguments": '{"id":7}'}}
        ],
    }


def test_a_plain_answer_comes_back_as_text() -> None:
    response = {"message": {"role": "assistant", "content": [{"type": "text", "text": "Sunny."}]}}
    assert assistant_message(response, NAME_MAP) == {"role": "assistant", "content": "Sunny."}
