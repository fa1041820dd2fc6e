"""Provider responses and stream events with the caller's tool names, in the provider's own shape.

Every request here offered `foo/bar` and `foo_bar`, which the provider knows as `foo_bar_2` and `foo_bar`;
the caller must see `foo/bar` and `foo_bar` again, hosted tools untouched, and its input unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mcp_gateway.bridge.messages.mistral import ToolCallIds
from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.reverse import StreamNameMapper, reverse_response
from mcp_gateway.bridge.targets import Provider


def _reverse(provider: Provider, response: dict[str, Any], ids: ToolCallIds | None = None) -> dict[str, Any]:
    before = copy.deepcopy(response)
    restored = reverse_response(response, provider, build_name_map(["foo/bar", "foo_bar"], provider), tool_call_ids=ids)
    assert response == before
    return restored


def _stream(provider: Provider, events: list[dict[str, Any]], ids: ToolCallIds | None = None) -> list[dict[str, Any]]:
    mapper = StreamNameMapper(provider, build_name_map(["foo/bar", "foo_bar"], provider), ids)
    before = copy.deepcopy(events)
    restored = [mapper.reverse_event(event) for event in events]
    assert events == before
    return restored


def _chat_call(call_id: str, name: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


# Non-streaming responses


@pytest.mark.parametrize("provider", ["openai", "mistral"])
def test_chat_completion_tool_calls(provider: Provider) -> None:
    response = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "tool_calls": [_chat_call("a", "foo_bar_2"), _chat_call("b", "foo_bar")],
                },
            }
        ]
    }
    calls = _reverse(provider, response)["choices"][0]["message"]["tool_calls"]
    assert [call["function"]["name"] for call in calls] == ["foo/bar", "foo_bar"]


def test_mistral_tool_call_ids_map_back() -> None:
    ids = ToolCallIds.allocate(["call_original_1"])
    mistral_id = ids.to_mistral("call_original_1")
    response = {"choices": [{"message": {"role": "assistant", "tool_calls": [_chat_call(mistral_id, "foo_bar")]}}]}
    assert _reverse("mistral", response, ids)["choices"][0]["message"]["tool_calls"][0]["id"] == "call_original_1"


def test_responses_output_function_calls_and_hosted_items() -> None:
    response = {
        "output": [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "function_call", "call_id": "c1", "name": "foo_bar_2", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "foo_bar", "arguments": "{}"},
        ]
    }
    restored = _reverse("openai-responses", response)
    assert restored["output"][0] == response["output"][0]
    assert [item["name"] for item in restored["output"][1:]] == ["foo/bar", "foo_bar"]


def test_anthropic_tool_use_blocks_and_hosted_blocks() -> None:
    response = {
        "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            {"type": "tool_use", "id": "toolu_1", "name": "foo_bar_2", "input": {}},
            {"type": "tool_use", "id": "toolu_2", "name": "foo_bar", "input": {}},
        ]
    }
    restored = _reverse("anthropic", response)
    assert [block["name"] for block in restored["content"]] == ["web_search", "foo/bar", "foo_bar"]


def test_gemini_function_call_parts() -> None:
    response = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "foo_bar_2", "args": {}}, "thoughtSignature": "CiQB"},
                        {"functionCall": {"name": "foo_bar", "args": {}}},
                    ],
                }
            }
        ]
    }
    parts = _reverse("gemini", response)["candidates"][0]["content"]["parts"]
    assert [part["functionCall"]["name"] for part in parts] == ["foo/bar", "foo_bar"]
    assert parts[0]["thoughtSignature"] == "CiQB"


def test_bedrock_tool_use_blocks() -> None:
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Calling."},
                    {"toolUse": {"toolUseId": "t1", "name": "foo_bar_2", "input": {}}},
                    {"toolUse": {"toolUseId": "t2", "name": "foo_bar", "input": {}}},
                ],
            }
        }
    }
    content = _reverse("bedrock", response)["output"]["message"]["content"]
    assert [block["toolUse"]["name"] for block in content[1:]] == ["foo/bar", "foo_bar"]


def test_cohere_message_tool_calls() -> None:
    response = {
        "message": {"role": "assistant", "tool_calls": [_chat_call("a", "foo_bar_2"), _chat_call("b", "foo_bar")]}
    }
    calls = _reverse("cohere", response)["message"]["tool_calls"]
    assert [call["function"]["name"] for call in calls] == ["foo/bar", "foo_bar"]


def test_names_the_request_never_rewrote_are_left_alone() -> None:
    response = {"content": [{"type": "tool_use", "id": "t", "name": "not_offered", "input": {}}]}
    assert _reverse("anthropic", response) == response


# Streaming events


@pytest.mark.parametrize("provider", ["openai", "mistral"])
def test_chat_chunks_carry_the_name_in_the_first_delta_of_a_call(provider: Provider) -> None:
    events: list[dict[str, Any]] = [
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "foo_bar_2", "arguments": ""},
                            }
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    restored = _stream(provider, events)
    assert restored[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "foo/bar"
    assert [restored[0], restored[2], restored[3]] == [events[0], events[2], events[3]]


def test_responses_stream_events() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "foo_bar_2", "arguments": ""}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "{}"},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "name": "foo_bar_2", "arguments": "{}"},
        {"type": "response.output_item.done", "output_index": 0, "item": {**item, "arguments": "{}"}},
        {"type": "response.completed", "response": {"id": "resp_1", "output": [{**item, "arguments": "{}"}]}},
    ]
    restored = _stream("openai-responses", events)
    assert restored[0]["item"]["name"] == "foo/bar"
    assert restored[1] == events[1]
    assert restored[2]["name"] == "foo/bar"
    assert restored[3]["item"]["name"] == "foo/bar"
    assert restored[4]["response"]["output"][0]["name"] == "foo/bar"


def test_anthropic_stream_events() -> None:
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": []}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}},
        },
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t", "name": "foo_bar_2", "input": {}},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
    ]
    restored = _stream("anthropic", events)
    assert restored[2]["content_block"]["name"] == "foo/bar"
    assert restored[:2] + restored[3:] == events[:2] + events[3:]


def test_gemini_stream_chunks() -> None:
    events: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Calling"}]}}]},
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"functionCall": {"name": "foo_bar_2", "args": {}}}]}}
            ]
        },
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"functionCall": {"name": "foo_bar", "args": {}}}]},
                    "finishReason": "STOP",
                }
            ]
        },
    ]
    restored = _stream("gemini", events)
    assert restored[0] == events[0]
    assert [chunk["candidates"][0]["content"]["parts"][0]["functionCall"]["name"] for chunk in restored[1:]] == [
        "foo/bar",
        "foo_bar",
    ]


def test_bedrock_converse_stream_events_in_both_forms() -> None:
    events: list[dict[str, Any]] = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t1", "name": "foo_bar_2"}}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}, "contentBlockIndex": 0}},
        {"start": {"toolUse": {"toolUseId": "t2", "name": "foo_bar_2"}}, "contentBlockIndex": 1},
        {"messageStop": {"stopReason": "tool_use"}},
    ]
    restored = _stream("bedrock", events)
    assert restored[1]["contentBlockStart"]["start"]["toolUse"]["name"] == "foo/bar"
    assert restored[3]["start"]["toolUse"]["name"] == "foo/bar"
    assert [restored[0], restored[2], restored[4]] == [events[0], events[2], events[4]]


def test_cohere_stream_events() -> None:
    events: list[dict[str, Any]] = [
        {"type": "message-start", "id": "m1", "delta": {"message": {"role": "assistant"}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will call foo_bar_2"}}},
        {
            "type": "tool-call-start",
            "index": 0,
            "delta": {
                "message": {
                    "tool_calls": {"id": "c1", "type": "function", "function": {"name": "foo_bar_2", "arguments": ""}}
                }
            },
        },
        {
            "type": "tool-call-delta",
            "index": 0,
            "delta": {"message": {"tool_calls": {"function": {"arguments": "{}"}}}},
        },
        {"type": "tool-call-end", "index": 0},
    ]
    restored = _stream("cohere", events)
    assert restored[2]["delta"]["message"]["tool_calls"]["function"]["name"] == "foo/bar"
    assert restored[:2] + restored[3:] == events[:2] + events[3:]
