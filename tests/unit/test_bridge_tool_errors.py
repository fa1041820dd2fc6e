"""Bridge details the tool loop relies on: failed tool results marked for the providers that mark them, and
Gemini's JSON-encoded values restored from arguments given as a JSON string."""

from __future__ import annotations

import json

import mcp_types

from mcp_gateway.bridge.messages import anthropic, gemini, openai
from mcp_gateway.bridge.reverse import restore_arguments
from mcp_gateway.bridge.tools import convert_tools
from mcp_gateway.names import NameMap

NO_NAMES = NameMap(forward={}, reverse={})
CONVERSATION = [
    {"role": "user", "content": "go"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "t", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "disk full", "is_error": True},
]


def test_a_failed_result_is_an_anthropic_error_block() -> None:
    converted = anthropic.convert_messages(CONVERSATION, NO_NAMES)
    [block] = converted.messages[-1]["content"]
    assert block == {"type": "tool_result", "tool_use_id": "call_1", "content": "disk full", "is_error": True}


def test_a_failed_result_is_a_gemini_error_response() -> None:
    converted = gemini.convert_messages(CONVERSATION, NO_NAMES)
    [part] = converted.contents[-1]["parts"]
    assert part["functionResponse"]["response"] == {"error": "disk full"}


def test_openai_never_receives_the_mark() -> None:
    converted = openai.convert_messages(CONVERSATION, NO_NAMES)
    assert converted.messages[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "disk full"}


def test_gemini_json_encoded_values_are_restored_from_a_json_string() -> None:
    tool = mcp_types.Tool(name="put", input_schema={"type": "object", "properties": {"value": {}}})
    tools = convert_tools([tool], "gemini")
    assert tools.json_arguments  # an open-ended value is asked for as a JSON-encoded string
    restored = restore_arguments(tools, "put", json.dumps({"value": json.dumps({"a": [1, 2]})}))
    assert json.loads(restored) == {"value": {"a": [1, 2]}}
