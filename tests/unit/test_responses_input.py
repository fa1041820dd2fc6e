"""Responses API input items, tools and tool_choice read into the loop's Chat shape."""

from __future__ import annotations

import pytest

from mcp_gateway.llm.errors import RequestError
from mcp_gateway.server.responses_input import chat_tool_choice, chat_tools, read_input


def test_a_string_is_one_user_message() -> None:
    assert read_input("Hi.").messages == [{"role": "user", "content": "Hi."}]


def test_an_assistant_turn_with_text_and_calls_is_one_message_answered_by_tool_messages() -> None:
    read = read_input([
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"city": "Oslo"}'},
        {"type": "function_call", "call_id": "c2", "name": "time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "c2", "output": "noon"},
        {"type": "function_call", "call_id": "c3", "name": "weather", "arguments": "{}"},
    ])
    user, assistant, first, second, later = read.messages
    assert user == {"role": "user", "content": [{"type": "text", "text": "Weather?"}]}
    assert assistant["content"] == [{"type": "text", "text": "Checking."}]
    assert [call["id"] for call in assistant["tool_calls"]] == ["c1", "c2"]
    assert assistant["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city": "Oslo"}'}
    assert (first["role"], first["tool_call_id"], first["content"]) == ("tool", "c1", "sunny")
    assert second["tool_call_id"] == "c2"
    # A call after the results starts a new assistant turn.
    assert later["role"] == "assistant" and [call["id"] for call in later["tool_calls"]] == ["c3"]


def test_mcp_items_of_an_earlier_response_replay_as_calls_and_results() -> None:
    read = read_input([
        {"role": "user", "content": "Add."},
        {"type": "mcp_list_tools", "id": "l1", "server_label": "tools", "tools": []},
        {"type": "mcp_call", "id": "mcp_1", "name": "add", "server_label": "tools", "arguments": '{"a": 1}',
         "output": "2"},
        {"type": "mcp_call", "id": "mcp_2", "name": "fail", "server_label": "tools", "arguments": "{}",
         "error": {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": "boom"}]}},
        {"type": "mcp_approval_request", "id": "r1", "name": "add", "server_label": "tools", "arguments": "{}"},
        {"type": "mcp_approval_response", "approval_request_id": "r1", "approve": True},
    ])
    assert [message["role"] for message in read.messages] == ["user", "assistant", "tool", "assistant", "tool",
                                                              "assistant"]
    assert read.messages[2]["content"] == "2" and read.messages[4]["content"] == "boom"
    assert read.approvals == {"r1": True} and read.approval_requests == {"r1"}


@pytest.mark.parametrize(("items", "fragment"), [
    (7, "input must be a string or an array"),
    ([{"type": "reasoning"}], "'reasoning' are not supported"),
    ([{"role": "tool", "content": "x"}], "input[0].role"),
    ([{"type": "function_call", "name": "f"}], "input[0].call_id is required"),
    ([{"type": "mcp_approval_response", "approval_request_id": "r", "approve": "yes"}], "approve must be"),
    ([{"role": "user", "content": [{"type": "input_audio"}]}], "'input_audio' are not supported"),
])
def test_bad_items_name_what_is_wrong(items: object, fragment: str) -> None:
    with pytest.raises(RequestError) as refused:
        read_input(items)
    assert refused.value.status == 400 and fragment in refused.value.message


def test_flat_function_tools_take_the_chat_shape_and_others_stay() -> None:
    mcp = {"type": "mcp", "server_label": "x"}
    flat = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}
    assert chat_tools([flat, mcp]) == [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}, mcp,
    ]


def test_tool_choice_names_one_tool_in_the_chat_shape() -> None:
    forced = {"type": "function", "function": {"name": "add"}}
    assert chat_tool_choice({"type": "mcp", "server_label": "tools", "name": "add"}) == forced
    assert chat_tool_choice({"type": "function", "name": "add"}) == forced
    assert chat_tool_choice({"type": "mcp", "server_label": "tools"}) == "required"
    assert chat_tool_choice("none") == "none"
    with pytest.raises(RequestError):
        chat_tool_choice({"type": "allowed_tools", "tools": []})
