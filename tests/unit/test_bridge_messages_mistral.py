"""Mistral: the OpenAI shape with tool-call ids of exactly 9 alphanumeric characters, mapped both ways."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from mcp_gateway.bridge.messages.mistral import ToolCallIds, assistant_message, convert_messages
from mcp_gateway.bridge.names import build_name_map

NAME_MAP = build_name_map(["foo/bar", "foo_bar"], "mistral")
MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")


def _conversation() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Both, please."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_Xk2p9QwErTy", "type": "function", "function": {"name": "foo/bar", "arguments": "{}"}},
                {"id": "toolu_01A", "type": "function", "function": {"name": "foo_bar", "arguments": "{}"}},
                {"id": "Ab3dE6gH9", "type": "function", "function": {"name": "foo_bar", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_Xk2p9QwErTy", "content": "one"},
        {"role": "tool", "tool_call_id": "toolu_01A", "content": "two"},
        {"role": "tool", "tool_call_id": "Ab3dE6gH9", "content": "three"},
    ]


def test_every_id_is_nine_alphanumerics_and_a_result_keeps_its_calls_id() -> None:
    converted = convert_messages(_conversation(), NAME_MAP)
    call_ids = [call["id"] for call in converted.messages[1]["tool_calls"]]
    result_ids = [message["tool_call_id"] for message in converted.messages[2:]]
    assert all(MISTRAL_ID.match(call_id) for call_id in call_ids)
    assert result_ids == call_ids
    assert len(set(call_ids)) == 3
    assert call_ids[2] == "Ab3dE6gH9"
    assert [call["function"]["name"] for call in converted.messages[1]["tool_calls"]] == [
        "foo_bar_2",
        "foo_bar",
        "foo_bar",
    ]


def test_ids_are_the_same_for_the_same_conversation_and_map_back() -> None:
    first = convert_messages(_conversation(), NAME_MAP).tool_call_ids
    second = convert_messages(_conversation(), NAME_MAP).tool_call_ids
    assert first == second
    for original, mistral_id in first.forward.items():
        assert first.to_original(mistral_id) == original


def test_a_hash_that_hits_a_kept_id_is_moved_aside() -> None:
    taken = hashlib.sha256(b"call_1").hexdigest()[:9]
    ids = ToolCallIds.allocate(["call_1", taken])
    assert ids.forward[taken] == taken
    assert ids.forward["call_1"] != taken
    assert MISTRAL_ID.match(ids.forward["call_1"])


def test_a_response_gets_original_names_and_ids_back() -> None:
    converted = convert_messages(_conversation(), NAME_MAP)
    echoed_id = converted.tool_call_ids.to_mistral("toolu_01A")
    response = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"id": echoed_id, "type": "function", "function": {"name": "foo_bar_2", "arguments": "{}"}},
                        {"id": "NewId0001", "type": "function", "function": {"name": "foo_bar", "arguments": "{}"}},
                    ],
                },
            }
        ]
    }
    message = assistant_message(response, NAME_MAP, converted.tool_call_ids)
    assert [(call["id"], call["function"]["name"]) for call in message["tool_calls"]] == [
        ("toolu_01A", "foo/bar"),
        ("NewId0001", "foo_bar"),
    ]


# Mistral refuses unknown fields (422 extra_forbidden): only what its chat API documents is sent.

MISTRAL_FIELDS = {
    "system": {"role", "content"},
    "user": {"role", "content"},
    "assistant": {"role", "content", "tool_calls", "prefix"},
    "tool": {"role", "content", "tool_call_id", "name"},
}


def test_openai_extras_never_reach_mistral() -> None:
    messages: list[dict[str, Any]] = [
        {
            "role": "developer",
            "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        },
        {"role": "user", "name": "ada", "content": "Both, please."},
        {
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "Not that one."}],
            "refusal": None,
            "annotations": [],
            "audio": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "index": 0,
                    "function": {"name": "foo/bar", "arguments": "{}"},
                    "extra_content": {"google": {"thought_signature": "sig"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "name": "foo/bar", "content": "ok"},
    ]
    converted = convert_messages(messages, NAME_MAP).messages
    for message in converted:
        assert set(message) <= MISTRAL_FIELDS[message["role"]], message
    system, user, assistant, tool = converted
    assert system == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert user == {"role": "user", "content": "Both, please."}
    assert assistant["content"] == [{"type": "text", "text": "Not that one."}]
    [call] = assistant["tool_calls"]
    assert call == {"id": call["id"], "type": "function", "function": {"name": "foo_bar_2", "arguments": "{}"}}
    assert tool == {"role": "tool", "content": "ok", "tool_call_id": call["id"], "name": "foo_bar_2"}


def test_an_assistant_prefix_is_kept() -> None:
    converted = convert_messages([{"role": "assistant", "content": "Sure:", "prefix": True}], NAME_MAP).messages
    assert converted == [{"role": "assistant", "content": "Sure:", "prefix": True}]
