"""tool_choice in every form, mapped to every provider's form with the tool name forward-mapped."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import ToolChoiceParam
from openai.types.chat import ChatCompletionToolChoiceOptionParam
from pydantic import TypeAdapter

from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.bridge.tool_choice import forbids_tool_calls, map_tool_choice, parse_tool_choice

NAMED_FORMS: list[Any] = [
    {"type": "function", "function": {"name": "foo/bar"}},
    {"type": "function", "name": "foo/bar"},
    {"type": "tool", "name": "foo/bar"},
    {"name": "foo/bar"},
]

EXPECTED: dict[Provider, dict[str, Any]] = {
    "openai": {
        "auto": "auto",
        "none": "none",
        "required": "required",
        "named": {"type": "function", "function": {"name": "foo_bar"}},
    },
    "openai-responses": {
        "auto": "auto",
        "none": "none",
        "required": "required",
        "named": {"type": "function", "name": "foo_bar"},
    },
    "anthropic": {
        "auto": {"type": "auto"},
        "none": {"type": "none"},
        "required": {"type": "any"},
        "named": {"type": "tool", "name": "foo_bar"},
    },
    "gemini": {
        "auto": {"functionCallingConfig": {"mode": "AUTO"}},
        "none": {"functionCallingConfig": {"mode": "NONE"}},
        "required": {"functionCallingConfig": {"mode": "ANY"}},
        "named": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["foo_bar"]}},
    },
    "bedrock": {"auto": {"auto": {}}, "none": None, "required": {"any": {}}, "named": {"tool": {"name": "foo_bar"}}},
    "mistral": {
        "auto": "auto",
        "none": "none",
        "required": "any",
        "named": {"type": "function", "function": {"name": "foo_bar"}},
    },
    "cohere": {"auto": None, "none": "NONE", "required": "REQUIRED", "named": "REQUIRED"},
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["auto", "none", "required"])
def test_modes_map_to_each_providers_words(provider: Provider, mode: str) -> None:
    name_map = build_name_map(["foo/bar"], provider)
    assert map_tool_choice(mode, provider, name_map) == EXPECTED[provider][mode]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("choice", NAMED_FORMS)
def test_a_named_tool_is_forward_mapped_in_every_form(provider: Provider, choice: Any) -> None:
    name_map = build_name_map(["foo/bar"], provider)
    assert map_tool_choice(choice, provider, name_map) == EXPECTED[provider]["named"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_choice_leaves_the_field_out(provider: Provider) -> None:
    assert map_tool_choice(None, provider, build_name_map([], provider)) is None


def test_anthropic_style_inputs_and_any_are_accepted() -> None:
    name_map = build_name_map([], "openai")
    assert map_tool_choice({"type": "any"}, "openai", name_map) == "required"
    assert map_tool_choice("any", "gemini", name_map) == {"functionCallingConfig": {"mode": "ANY"}}
    assert map_tool_choice({"type": "none"}, "anthropic", name_map) == {"type": "none"}


def test_a_name_outside_the_map_passes_through_for_hosted_tools() -> None:
    name_map = build_name_map(["foo/bar"], "anthropic")
    assert map_tool_choice({"name": "web_search"}, "anthropic", name_map) == {"type": "tool", "name": "web_search"}


def test_mapping_does_not_touch_the_callers_choice() -> None:
    choice = {"type": "function", "function": {"name": "foo/bar"}}
    map_tool_choice(choice, "anthropic", build_name_map(["foo/bar"], "anthropic"))
    assert choice == {"type": "function", "function": {"name": "foo/bar"}}


@pytest.mark.parametrize("choice", ["sometimes", {"type": "function"}, {"type": "allowed_tools"}, {}])
def test_unrecognised_choices_are_refused_with_a_clear_message(choice: Any) -> None:
    with pytest.raises(ValueError, match="tool_choice"):
        map_tool_choice(choice, "openai", build_name_map([], "openai"))


def test_parse_and_none_detection() -> None:
    assert parse_tool_choice("REQUIRED") == ("required", None)
    assert parse_tool_choice({"type": "function", "function": {"name": "x"}}) == ("named", "x")
    assert forbids_tool_calls("none") and forbids_tool_calls({"type": "none"})
    assert not forbids_tool_calls(None) and not forbids_tool_calls("auto")


def test_outputs_match_the_official_sdk_types() -> None:
    for mode in ("auto", "none", "required", {"name": "foo/bar"}):
        openai_choice = map_tool_choice(mode, "openai", build_name_map(["foo/bar"], "openai"))
        TypeAdapter(ChatCompletionToolChoiceOptionParam).validate_python(openai_choice)
        anthropic_choice = map_tool_choice(mode, "anthropic", build_name_map(["foo/bar"], "anthropic"))
        TypeAdapter(ToolChoiceParam).validate_python(anthropic_choice)
