"""An OpenAI chat conversation as Responses API `instructions` + `input` items, and a response back."""

from __future__ import annotations

from openai.types.responses import ResponseInputParam
from pydantic import TypeAdapter

from mcp_gateway.bridge.messages.responses import assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["repos/get"], "openai-responses")


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
