"""Provider responses and stream events with the caller's tool names, in the provider's own shape.

Every request here offered `foo/bar` and `foo_bar`, which the provider knows as `foo_bar_2` and `foo_bar`;
the caller must see `foo/bar` and `foo_bar` again, hosted tools untouched, and its input unchanged.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import mcp_types
import pytest

from mcp_gateway.bridge.messages.mistral import ToolCallIds
from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.reverse import StreamNameMapper, assistant_message_for, restore_arguments, reverse_response
from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.bridge.tools import ConvertedTools, convert_tools


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


# Argument keys: given the request's ConvertedTools, calls come back under the tool's own argument keys.

TOP_SCHEMA = {"type": "object", "properties": {"$top": {"type": "integer"}, "filter[state]": {"type": "string"}}}


def _tools_with_renamed_keys(provider: Provider, *, strict: bool = False) -> ConvertedTools:
    tool = mcp_types.Tool(name="repos/list", description="List repositories.", input_schema=TOP_SCHEMA)
    return convert_tools([tool], provider, strict=strict)


def _provider_keys(tools: ConvertedTools) -> dict[str, Any]:
    """The arguments a model sends under the keys the provider was offered."""
    keys = {original: safe for safe, original in tools.argument_keys["repos/list"].items()}
    return {keys["$top"]: 3, keys["filter[state]"]: "open"}


ORIGINAL_ARGUMENTS = {"$top": 3, "filter[state]": "open"}


def _chat_response(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}


def _response_with_call(provider: Provider, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    if provider in ("openai", "mistral"):
        return _chat_response(name, arguments)
    if provider == "cohere":
        return {"message": _chat_response(name, arguments)["choices"][0]["message"]}
    if provider == "openai-responses":
        item = {"type": "function_call", "call_id": "call_1", "name": name, "arguments": json.dumps(arguments)}
        return {"output": [item]}
    if provider == "anthropic":
        return {"content": [{"type": "tool_use", "id": "call_1", "name": name, "input": arguments}]}
    if provider == "gemini":
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [{"functionCall": {"name": name, "args": arguments}}]}}
            ]
        }
    tool_use = {"toolUseId": "call_1", "name": name, "input": arguments}
    return {"output": {"message": {"role": "assistant", "content": [{"toolUse": tool_use}]}}}


def _call_of(provider: Provider, response: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one tool call's name and arguments, read from a response in the provider's shape."""
    if provider in ("openai", "mistral"):
        function = response["choices"][0]["message"]["tool_calls"][0]["function"]
        return function["name"], json.loads(function["arguments"])
    if provider == "cohere":
        function = response["message"]["tool_calls"][0]["function"]
        return function["name"], json.loads(function["arguments"])
    if provider == "openai-responses":
        item = response["output"][0]
        return item["name"], json.loads(item["arguments"])
    if provider == "anthropic":
        block = response["content"][0]
        return block["name"], block["input"]
    if provider == "gemini":
        function_call = response["candidates"][0]["content"]["parts"][0]["functionCall"]
        return function_call["name"], function_call["args"]
    tool_use = response["output"]["message"]["content"][0]["toolUse"]
    return tool_use["name"], tool_use["input"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_response_gets_the_tools_own_argument_keys_back(provider: Provider) -> None:
    tools = _tools_with_renamed_keys(provider)
    response = _response_with_call(provider, tools.name_map.to_target("repos/list"), _provider_keys(tools))
    before = copy.deepcopy(response)
    assert _call_of(provider, reverse_response(response, provider, tools)) == ("repos/list", ORIGINAL_ARGUMENTS)
    assert response == before


@pytest.mark.parametrize("provider", PROVIDERS)
def test_with_only_a_name_map_arguments_stay_as_the_provider_sent_them(provider: Provider) -> None:
    tools = _tools_with_renamed_keys(provider)
    response = _response_with_call(provider, tools.name_map.to_target("repos/list"), _provider_keys(tools))
    assert _call_of(provider, reverse_response(response, provider, tools.name_map)) == (
        "repos/list",
        _provider_keys(tools),
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_assistant_message_for_a_response_has_names_and_keys_restored(provider: Provider) -> None:
    tools = _tools_with_renamed_keys(provider)
    response = _response_with_call(provider, tools.name_map.to_target("repos/list"), _provider_keys(tools))
    message = assistant_message_for(provider, response, tools)
    function = message["tool_calls"][0]["function"]
    assert (function["name"], json.loads(function["arguments"])) == ("repos/list", ORIGINAL_ARGUMENTS)


def test_the_assistant_message_gives_mistral_call_ids_back() -> None:
    tools = _tools_with_renamed_keys("mistral")
    ids = ToolCallIds.allocate(["call_original_1"])
    response = _chat_response("repos_list", _provider_keys(tools))
    response["choices"][0]["message"]["tool_calls"][0]["id"] = ids.to_mistral("call_original_1")
    message = assistant_message_for("mistral", response, tools, tool_call_ids=ids)
    assert message["tool_calls"][0]["id"] == "call_original_1"


def test_strict_mode_nulls_for_left_out_properties_are_dropped() -> None:
    tools = _tools_with_renamed_keys("openai", strict=True)
    keys = {original: safe for safe, original in tools.argument_keys["repos/list"].items()}
    # Strict mode makes every property required, so the model says null for the filter it leaves out.
    response = _chat_response("repos_list", {keys["$top"]: 3, keys["filter[state]"]: None})
    assert _call_of("openai", reverse_response(response, "openai", tools))[1] == {"$top": 3}


def test_restore_arguments_takes_a_json_string_or_an_object_and_leaves_fragments_alone() -> None:
    tools = _tools_with_renamed_keys("anthropic")
    provider_arguments = _provider_keys(tools)
    assert restore_arguments(tools, "repos/list", provider_arguments) == ORIGINAL_ARGUMENTS
    assert json.loads(restore_arguments(tools, "repos/list", json.dumps(provider_arguments))) == ORIGINAL_ARGUMENTS
    assert restore_arguments(tools, "repos/list", '{"_top": ') == '{"_top": '
    assert restore_arguments(tools, "repos/list", "[1]") == "[1]"
    # Tools without renamed keys keep the provider's text byte for byte.
    assert restore_arguments(tools, "other", '{"a" :1}') == '{"a" :1}'


def test_streamed_calls_with_complete_arguments_are_restored_and_fragments_are_not() -> None:
    tools = _tools_with_renamed_keys("gemini")
    gemini = StreamNameMapper("gemini", tools)
    chunk = _response_with_call("gemini", "repos_list", _provider_keys(tools))
    assert _call_of("gemini", gemini.reverse_event(chunk)) == ("repos/list", ORIGINAL_ARGUMENTS)

    tools = _tools_with_renamed_keys("openai-responses")
    item = {
        "type": "function_call",
        "call_id": "c1",
        "name": "repos_list",
        "arguments": json.dumps(_provider_keys(tools)),
    }
    done = StreamNameMapper("openai-responses", tools).reverse_event(
        {"type": "response.output_item.done", "item": item}
    )
    assert json.loads(done["item"]["arguments"]) == ORIGINAL_ARGUMENTS

    tools = _tools_with_renamed_keys("openai")
    fragment = {
        "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"_top"'}}]}}]
    }
    assert StreamNameMapper("openai", tools).reverse_event(fragment) == fragment
