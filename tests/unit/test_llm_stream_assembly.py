"""Provider streams joined into the turn they stand for: text pieces, fragmented tool calls, reasoning, usage."""

from __future__ import annotations

import json

import mcp_types
import pytest

from mcp_gateway.bridge.tools import convert_tools
from mcp_gateway.llm.providers import anthropic, gemini, openai, openai_responses
from mcp_gateway.llm.providers.base import ModelRequest, ProviderError

LONG = "github-actions_set-selected-repositories-enabled-github-actions-org"


def request(provider: str) -> ModelRequest:
    tools = convert_tools([mcp_types.Tool(name=LONG, input_schema={
        "type": "object", "properties": {"$top": {"type": "integer"}}})], provider)  # type: ignore[arg-type]
    return ModelRequest(model="m", messages=[{"role": "user", "content": "hi"}], tools=tools)


def test_openai_fragments_of_two_calls_join_and_map_back() -> None:
    model_request = request("openai")
    provider_name = model_request.tools.name_map.to_target(LONG)
    assembly = openai._StreamAssembly("openai")
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi "}}]},
        {"choices": [{"index": 0, "delta": {"content": "there"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "a", "function": {"name": provider_name, "arguments": '{"_to'}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 1, "id": "b", "function": {"name": provider_name, "arguments": "{}"}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'p": 5}'}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
    ]
    assert "".join(assembly.add(chunk) for chunk in chunks) == "Hi there"
    turn = openai._turn(assembly.response(), model_request)
    assert provider_name != LONG
    assert [(call["id"], call["function"]["name"], json.loads(call["function"]["arguments"]))
            for call in turn.tool_calls] == [("a", LONG, {"$top": 5}), ("b", LONG, {})]
    assert (turn.finish_reason, turn.usage.total_tokens, turn.message["content"]) == ("tool_calls", 10, "Hi there")


def test_an_error_chunk_mid_stream_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="failed mid-stream: overloaded"):
        openai._StreamAssembly("openai").add({"error": {"message": "overloaded"}})


def test_anthropic_thinking_text_and_tool_use_join_into_one_message() -> None:
    events = [
        {"type": "message_start", "message": {"usage": {"input_tokens": 11, "cache_read_input_tokens": 4}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Checking."}},
        {"type": "content_block_start", "index": 2,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": LONG, "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"_top"'}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ": 2}"}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    assembly = anthropic._StreamAssembly("anthropic")
    assert "".join(assembly.add(event) for event in events) == "Checking."
    turn = anthropic._turn(assembly.response(), request("anthropic"))
    assert turn.message["thinking_blocks"] == [{"type": "thinking", "thinking": "Let me", "signature": "sig"}]
    [call] = turn.tool_calls
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == (LONG, {"$top": 2})
    assert (turn.usage.prompt_tokens, turn.usage.completion_tokens, turn.finish_reason) == (15, 9, "tool_calls")


def test_an_anthropic_error_event_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="Overloaded"):
        anthropic._StreamAssembly("anthropic").add({"type": "error", "error": {"type": "overloaded_error",
                                                                               "message": "Overloaded"}})


def test_gemini_thoughts_are_not_answer_text_and_calls_map_back() -> None:
    model_request = request("gemini")
    provider_name = model_request.tools.name_map.to_target(LONG)
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "pondering", "thought": True}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "Sure, "}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "done."},
                                               {"functionCall": {"name": provider_name, "args": {"_top": 1}}}]},
                         "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 3}},
    ]
    assembly = gemini._StreamAssembly()
    assert "".join(assembly.add(chunk) for chunk in chunks) == "Sure, done."
    turn = gemini._turn(assembly.response(), model_request)
    assert turn.message["content"] == "Sure, done."
    [call] = turn.tool_calls
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == (LONG, {"$top": 1})
    assert (turn.usage.completion_tokens, turn.finish_reason) == (5, "tool_calls")


def test_a_gemini_prompt_blocked_before_any_candidate_is_a_content_filter_finish() -> None:
    assembly = gemini._StreamAssembly()
    assembly.add({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}})
    turn = gemini._turn(assembly.response(), request("gemini"))
    assert (turn.finish_reason, turn.message["content"], turn.usage.prompt_tokens) == ("content_filter", None, 4)


def test_openai_responses_text_deltas_then_the_completed_response_with_original_names() -> None:
    model_request = request("openai-responses")
    provider_name = model_request.tools.name_map.to_target(LONG)
    assembly = openai_responses._StreamAssembly("openai")
    call = {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": provider_name,
            "arguments": '{"_top": 5}', "status": "completed"}
    message = {"type": "message", "id": "m", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": "Hi there", "annotations": []}]}
    events = [
        {"type": "response.created", "response": {"id": "r", "output": []}},
        {"type": "response.output_text.delta", "delta": "Hi "},
        {"type": "response.output_text.delta", "delta": "there"},
        {"type": "response.function_call_arguments.delta", "delta": '{"_top"'},
        {"type": "response.completed", "response": {"id": "r", "status": "completed", "output": [message, call],
                                                    "usage": {"input_tokens": 7, "output_tokens": 3}}},
    ]
    assert "".join(assembly.add(event) for event in events) == "Hi there"
    turn = openai_responses._turn(assembly.response(), model_request)
    assert turn.message["content"] == "Hi there" and turn.finish_reason == "tool_calls"
    [called] = turn.tool_calls
    assert called["id"] == "c1" and called["function"]["name"] == LONG
    assert json.loads(called["function"]["arguments"]) == {"$top": 5}
    assert (turn.usage.prompt_tokens, turn.usage.completion_tokens) == (7, 3)


@pytest.mark.parametrize("event", [
    {"type": "error", "message": "overloaded", "error": {"message": "overloaded"}},
    {"type": "response.failed", "response": {"error": {"message": "overloaded"}}},
])
def test_openai_responses_stream_failures_are_provider_errors(event: dict[str, object]) -> None:
    with pytest.raises(ProviderError) as failed:
        openai_responses._StreamAssembly("openai").add(event)
    assert "overloaded" in str(failed.value)


def test_openai_responses_stream_without_completion_is_malformed() -> None:
    assembly = openai_responses._StreamAssembly("openai")
    assembly.add({"type": "response.output_text.delta", "delta": "cut"})
    with pytest.raises(ProviderError) as failed:
        assembly.response()
    assert failed.value.kind == "malformed"
