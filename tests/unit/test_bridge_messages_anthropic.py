"""An OpenAI conversation as an Anthropic Messages request, and a Messages response back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from anthropic.types import MessageParam
from pydantic import TypeAdapter

from mcp_gateway.bridge.messages import EMPTY_RESULT_TEXT, MessageConversionError
from mcp_gateway.bridge.messages.anthropic import assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["repos/get", "weather"], "anthropic")
MESSAGE_PARAM: TypeAdapter[MessageParam] = TypeAdapter(MessageParam)


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _assert_accepted_by_the_sdk(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        validated = MESSAGE_PARAM.validate_python(message)
        if not isinstance(validated["content"], str):
            list(validated["content"])  # content blocks are validated lazily


def test_system_goes_to_the_top_level_and_tool_calls_become_tool_use_blocks() -> None:
    converted = convert_messages(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Use tools."},
            {"role": "user", "content": "Fetch the repo."},
            {"role": "assistant", "content": "Fetching.", "tool_calls": [_call("toolu_1", "repos/get", '{"id": 7}')]},
        ],
        NAME_MAP,
    )
    assert converted.system == "Be brief.\n\nUse tools."
    assert converted.messages[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Fetching."},
            {"type": "tool_use", "id": "toolu_1", "name": "repos_get", "input": {"id": 7}},
        ],
    }
    _assert_accepted_by_the_sdk(converted.messages)


def test_tool_results_open_the_next_user_turn_and_same_role_turns_merge() -> None:
    converted = convert_messages(
        [
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [_call("toolu_a", "weather", '{"city": "Oslo"}'), _call("toolu_b", "weather", "{}")],
            },
            {"role": "tool", "tool_call_id": "toolu_a", "content": "-3C"},
            {"role": "tool", "tool_call_id": "toolu_b", "content": "18C"},
            {"role": "user", "content": "And tomorrow?"},
        ],
        NAME_MAP,
    )
    assert [message["role"] for message in converted.messages] == ["user", "assistant", "user"]
    assert converted.messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_a", "content": "-3C"},
        {"type": "tool_result", "tool_use_id": "toolu_b", "content": "18C"},
        {"type": "text", "text": "And tomorrow?"},
    ]
    _assert_accepted_by_the_sdk(converted.messages)


def test_empty_and_whitespace_text_is_always_removed() -> None:
    converted = convert_messages(
        [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "  \n"}]},
            {"role": "assistant", "content": "   ", "tool_calls": [_call("toolu_1", "weather", "{}")]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": ""},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": ""},
            {"role": "user", "content": "Go on."},
        ],
        NAME_MAP,
    )
    assert converted.messages == [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": EMPTY_RESULT_TEXT},
                {"type": "text", "text": "Go on."},
            ],
        },
    ]


def test_arguments_that_are_not_a_json_object_become_an_empty_input() -> None:
    converted = convert_messages(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": None, "tool_calls": [_call("t1", "weather", '{"city": "Os')]},
        ],
        NAME_MAP,
    )
    assert converted.messages[1]["content"][0]["input"] == {}


def test_hosted_tool_blocks_pass_through_untouched_and_native_tool_use_is_renamed() -> None:
    server_tool_use = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "mcp"}}
    search_result = {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": [
            {"type": "web_search_result", "url": "https://example.com", "title": "Example", "encrypted_content": "x"}
        ],
    }
    native_tool_use = {"type": "tool_use", "id": "toolu_9", "name": "repos/get", "input": {}}
    converted = convert_messages(
        [
            {"role": "user", "content": "Search, then fetch."},
            {"role": "assistant", "content": [server_tool_use, search_result, native_tool_use]},
        ],
        NAME_MAP,
    )
    assert converted.messages[1]["content"] == [
        server_tool_use,
        search_result,
        {**native_tool_use, "name": "repos_get"},
    ]


def test_images_and_cached_system_parts_keep_their_meaning() -> None:
    converted = convert_messages(
        [
            {"role": "system", "content": [{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            },
        ],
        NAME_MAP,
    )
    assert converted.system == [{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}]
    assert converted.messages[0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    _assert_accepted_by_the_sdk(converted.messages)


def test_a_final_assistant_prefill_loses_trailing_whitespace() -> None:
    converted = convert_messages(
        [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi \n"}], NAME_MAP
    )
    assert converted.messages[-1] == {"role": "assistant", "content": [{"type": "text", "text": "Hi"}]}


def test_request_fields_leave_out_an_absent_system() -> None:
    assert convert_messages([{"role": "user", "content": "hi"}], NAME_MAP).request_fields() == {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    }


def test_a_response_becomes_an_openai_assistant_message_with_original_names() -> None:
    response = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Need the repo.", "signature": "sig"},
            {"type": "text", "text": "Looking it up."},
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
            {"type": "tool_use", "id": "toolu_1", "name": "repos_get", "input": {"id": 7}},
        ],
        "stop_reason": "tool_use",
    }
    assert assistant_message(response, NAME_MAP) == {
        "role": "assistant",
        "content": "Looking it up.",
        "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "repos/get", "arguments": '{"id": 7}'}}
        ],
        "thinking_blocks": [{"type": "thinking", "thinking": "Need the repo.", "signature": "sig"}],
    }


def test_thinking_blocks_survive_a_round_trip_and_open_the_assistant_turn() -> None:
    thinking = {"type": "thinking", "thinking": "Repo 7 first.", "signature": "EqQBCkYIBxgCKkB"}
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}
    response = {
        "content": [
            thinking,
            redacted,
            {"type": "text", "text": "Fetching."},
            {"type": "tool_use", "id": "toolu_1", "name": "repos_get", "input": {"id": 7}},
        ]
    }
    message = assistant_message(response, NAME_MAP)
    assert message["thinking_blocks"] == [thinking, redacted]

    converted = convert_messages(
        [
            {"role": "user", "content": "Repo 7?"},
            message,
            {"role": "tool", "tool_call_id": "toolu_1", "content": "gateway"},
        ],
        NAME_MAP,
    )
    assert converted.messages[1] == {
        "role": "assistant",
        "content": [
            thinking,
            redacted,
            {"type": "text", "text": "Fetching."},
            {"type": "tool_use", "id": "toolu_1", "name": "repos_get", "input": {"id": 7}},
        ],
    }
    _assert_accepted_by_the_sdk(converted.messages)


def test_reasoning_blocks_anthropic_cannot_verify_are_not_replayed() -> None:
    converted = convert_messages(
        [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "thinking_blocks": [
                    {"reasoningContent": {"reasoningText": {"text": "From Bedrock.", "signature": "b"}}},
                    {"type": "thinking", "thinking": "No signature."},
                    {"type": "redacted_thinking", "data": ""},
                    {"type": "thinking", "thinking": "Signed.", "signature": "s", "_cache": "local"},
                ],
                "tool_calls": [_call("toolu_1", "weather", "{}")],
            },
        ],
        NAME_MAP,
    )
    assert converted.messages[1]["content"] == [
        {"type": "thinking", "thinking": "Signed.", "signature": "s"},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}},
    ]


def test_images_in_media_types_anthropic_refuses_become_a_short_note() -> None:
    svg = {"type": "image_url", "image_url": {"url": "data:image/svg+xml;base64,PHN2Zz4="}}
    jpg = {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/4AAQ"}}
    converted = convert_messages(
        [
            {"role": "user", "content": [svg, jpg]},
            {"role": "assistant", "content": None, "tool_calls": [_call("toolu_1", "weather", "{}")]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": [{"type": "text", "text": "Map:"}, svg]},
        ],
        NAME_MAP,
    )
    note = {"type": "text", "text": "[image/svg+xml image not shown: Anthropic reads JPEG, PNG, GIF and WebP]"}
    assert converted.messages[0]["content"] == [
        note,
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
    ]
    assert converted.messages[2]["content"][0]["content"] == [{"type": "text", "text": "Map:"}, note]
    _assert_accepted_by_the_sdk(converted.messages)


def test_a_tool_call_or_result_without_an_id_is_an_error_naming_the_message() -> None:
    call_without_id = {"type": "function", "function": {"name": "weather", "arguments": "{}"}}
    with pytest.raises(MessageConversionError, match=r"message 1 \(assistant\): tool call 'weather' has no id"):
        convert_messages(
            [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call_without_id]}], NAME_MAP
        )
    with pytest.raises(MessageConversionError, match=r"message 1 \(tool\): tool result has no tool_call_id"):
        convert_messages([{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}], NAME_MAP)


def test_foreign_tool_call_ids_are_rewritten_consistently_and_map_back() -> None:
    foreign, sanitized_twin = "call.1|fc_9", "call_1_fc_9"
    converted = convert_messages(
        [
            {"role": "user", "content": "Weather twice?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [_call(foreign, "weather", "{}"), _call(sanitized_twin, "weather", "{}")],
            },
            {"role": "tool", "tool_call_id": foreign, "content": "-3C"},
            {"role": "tool", "tool_call_id": sanitized_twin, "content": "18C"},
        ],
        NAME_MAP,
    )
    use_ids = [block["id"] for block in converted.messages[1]["content"]]
    result_ids = [block["tool_use_id"] for block in converted.messages[2]["content"]]
    assert use_ids == result_ids
    assert use_ids[1] == sanitized_twin  # a valid id is never rewritten
    assert use_ids[0] != sanitized_twin and re.fullmatch(r"[a-zA-Z0-9_-]+", use_ids[0])
    assert converted.tool_use_ids.to_original(use_ids[0]) == foreign
    _assert_accepted_by_the_sdk(converted.messages)

    response = {"content": [{"type": "tool_use", "id": use_ids[0], "name": "weather", "input": {}}]}
    message = assistant_message(response, NAME_MAP, tool_use_ids=converted.tool_use_ids)
    assert message["tool_calls"][0]["id"] == foreign


def test_a_rewritten_id_never_takes_the_id_of_a_native_tool_use_block() -> None:
    native = {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}
    converted = convert_messages(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [native], "tool_calls": [_call("toolu.1", "weather", "{}")]},
        ],
        NAME_MAP,
    )
    ids = [block["id"] for block in converted.messages[1]["content"]]
    assert ids[0] == "toolu_1"
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", ids[1])
    assert ids[1] != "toolu_1"
