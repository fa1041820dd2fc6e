"""tool_choice in every form, mapped to every provider's form with the tool name forward-mapped."""

from __future__ import annotations

from typing import Any

import mcp_types
import pytest
from anthropic.types import ToolChoiceParam
from openai.types.chat import ChatCompletionToolChoiceOptionParam
from pydantic import TypeAdapter

from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.bridge.tool_choice import (
    bedrock_tool_config,
    forbids_tool_calls,
    has_bedrock_tool_blocks,
    map_tool_choice,
    offered_definitions,
    parallel_tool_calls_of,
    parse_tool_choice,
    read_tool_choice,
)
from mcp_gateway.bridge.tools import convert_tools


def _tool(name: str) -> mcp_types.Tool:
    return mcp_types.Tool(name=name, description="A tool.", input_schema={"type": "object", "properties": {}})


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


# OpenAI's allowed_tools, hosted and custom choices


def _chat_allowed(mode: str, *names: str) -> dict[str, Any]:
    tools = [{"type": "function", "function": {"name": name}} for name in names]
    return {"type": "allowed_tools", "allowed_tools": {"mode": mode, "tools": tools}}


def test_allowed_tools_names_are_forward_mapped_in_each_openai_apis_form() -> None:
    name_map = build_name_map(["foo/bar", "baz"], "openai")
    hosted = {"type": "mcp", "server_label": "deepwiki"}
    choice = _chat_allowed("required", "foo/bar", "baz")
    choice["allowed_tools"]["tools"].append(hosted)
    chat = map_tool_choice(choice, "openai", name_map)
    assert chat == {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [
                {"type": "function", "function": {"name": "foo_bar"}},
                {"type": "function", "function": {"name": "baz"}},
                hosted,
            ],
        },
    }
    TypeAdapter(ChatCompletionToolChoiceOptionParam).validate_python(chat)
    responses_form = {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "foo/bar"}]}
    for given in (responses_form, _chat_allowed("auto", "foo/bar")):
        assert map_tool_choice(given, "openai-responses", name_map) == {
            "type": "allowed_tools",
            "mode": "auto",
            "tools": [{"type": "function", "name": "foo_bar"}],
        }
    assert choice["allowed_tools"]["tools"][0] == {"type": "function", "function": {"name": "foo/bar"}}


@pytest.mark.parametrize(
    ("provider", "required", "auto"),
    [
        ("anthropic", {"type": "any"}, {"type": "auto"}),
        (
            "gemini",
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["foo_bar", "baz"]}},
            {"functionCallingConfig": {"mode": "AUTO"}},
        ),
        ("bedrock", {"any": {}}, {"auto": {}}),
        ("mistral", "any", "auto"),
        ("cohere", "REQUIRED", None),
    ],
)
def test_allowed_tools_become_the_mode_elsewhere_and_only_the_allowed_tools_are_offered(
    provider: Provider, required: Any, auto: Any
) -> None:
    tools = convert_tools([_tool("foo/bar"), _tool("baz"), _tool("other")], provider)
    assert map_tool_choice(_chat_allowed("required", "foo/bar", "baz"), provider, tools.name_map) == required
    assert map_tool_choice(_chat_allowed("auto", "foo/bar", "baz"), provider, tools.name_map) == auto
    offered = offered_definitions(tools.definitions, _chat_allowed("auto", "foo/bar", "baz"), provider, tools.name_map)
    assert offered == tools.definitions[:2]


def test_read_tool_choice_lists_the_allowed_names_and_parse_keeps_its_answers() -> None:
    read = read_tool_choice(_chat_allowed("required", "foo/bar", "baz"))
    assert (read.mode, read.allowed_names) == ("required", ("foo/bar", "baz"))
    assert parse_tool_choice(_chat_allowed("auto", "foo/bar")) == ("auto", None)
    with pytest.raises(ValueError, match="hosted or custom tool"):
        parse_tool_choice({"type": "file_search"})
    with pytest.raises(ValueError, match="hosted tools"):
        map_tool_choice(
            {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "image_generation"}]},
            "anthropic",
            build_name_map([], "anthropic"),
        )


def test_one_required_allowed_tool_is_a_named_choice() -> None:
    name_map = build_name_map(["foo/bar"], "anthropic")
    assert map_tool_choice(_chat_allowed("required", "foo/bar"), "anthropic", name_map) == {
        "type": "tool",
        "name": "foo_bar",
    }


@pytest.mark.parametrize(
    "choice",
    [{"type": "web_search_preview"}, {"type": "file_search"}, {"type": "mcp", "server_label": "wiki", "name": "x"}],
)
def test_hosted_tool_choices_pass_through_for_openai_and_are_refused_elsewhere(choice: dict[str, Any]) -> None:
    name_map = build_name_map(["x"], "openai")
    assert map_tool_choice(choice, "openai-responses", name_map) == choice
    assert map_tool_choice(choice, "openai", name_map) == choice
    with pytest.raises(ValueError, match="hosted or custom tool"):
        map_tool_choice(choice, "anthropic", name_map)
    assert not forbids_tool_calls(choice)


def test_custom_tool_choices_pass_through_in_the_target_apis_form() -> None:
    name_map = build_name_map(["a/b"], "openai")
    chat_form = {"type": "custom", "custom": {"name": "a/b"}}
    responses_form = {"type": "custom", "name": "a/b"}
    for given in (chat_form, responses_form):
        assert map_tool_choice(given, "openai", name_map) == chat_form
        assert map_tool_choice(given, "openai-responses", name_map) == responses_form
    with pytest.raises(ValueError, match="gemini"):
        map_tool_choice(chat_form, "gemini", name_map)


# Parallel tool use (Anthropic keeps it in tool_choice)


def test_disable_parallel_tool_use_is_kept_for_anthropic() -> None:
    name_map = build_name_map(["foo/bar"], "anthropic")
    given = {"type": "any", "disable_parallel_tool_use": True}
    assert map_tool_choice(given, "anthropic", name_map) == given
    named = {"type": "tool", "name": "foo/bar", "disable_parallel_tool_use": False}
    assert map_tool_choice(named, "anthropic", name_map) == {**named, "name": "foo_bar"}
    assert map_tool_choice("none", "anthropic", name_map, parallel_tool_calls=False) == {"type": "none"}


def test_openai_parallel_tool_calls_false_becomes_anthropics_flag() -> None:
    name_map = build_name_map(["foo/bar"], "anthropic")
    assert map_tool_choice("required", "anthropic", name_map, parallel_tool_calls=False) == {
        "type": "any",
        "disable_parallel_tool_use": True,
    }
    assert map_tool_choice(None, "anthropic", name_map, parallel_tool_calls=False) == {
        "type": "auto",
        "disable_parallel_tool_use": True,
    }
    assert map_tool_choice(None, "anthropic", name_map, parallel_tool_calls=True) is None
    TypeAdapter(ToolChoiceParam).validate_python(
        map_tool_choice("auto", "anthropic", name_map, parallel_tool_calls=False)
    )


def test_anthropics_flag_becomes_openais_parallel_tool_calls() -> None:
    assert parallel_tool_calls_of({"type": "auto", "disable_parallel_tool_use": True}) is False
    assert parallel_tool_calls_of({"type": "auto"}) is None
    assert parallel_tool_calls_of(None) is None


# Cohere cannot pin one tool


def test_a_named_cohere_choice_is_required_and_only_that_tool_is_offered() -> None:
    tools = convert_tools([_tool("a/b"), _tool("c")], "cohere")
    choice = {"type": "function", "function": {"name": "a/b"}}
    assert map_tool_choice(choice, "cohere", tools.name_map) == "REQUIRED"
    assert offered_definitions(tools.definitions, choice, "cohere", tools.name_map) == tools.definitions[:1]
    # Providers that can pin a tool keep every tool on offer.
    anthropic = convert_tools([_tool("a/b"), _tool("c")], "anthropic")
    assert offered_definitions(anthropic.definitions, choice, "anthropic", anthropic.name_map) == anthropic.definitions


# Bedrock has no "none"


def _bedrock_history(with_tools: bool) -> list[dict[str, Any]]:
    question = {"role": "user", "content": [{"text": "q"}]}
    if not with_tools:
        return [question]
    call = {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "foo_bar", "input": {}}}]}
    result = {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "r"}]}}]}
    return [question, call, result]


def test_bedrock_none_leaves_tool_config_out_when_the_history_allows_it() -> None:
    tools = convert_tools([_tool("foo/bar")], "bedrock")
    history = _bedrock_history(with_tools=False)
    assert not has_bedrock_tool_blocks(history)
    assert bedrock_tool_config(tools.definitions, "none", tools.name_map, history_has_tools=False) is None


def test_bedrock_none_still_sends_tools_when_the_history_has_tool_blocks() -> None:
    # Converse: "The toolConfig field must be defined when using toolUse and toolResult content blocks".
    tools = convert_tools([_tool("foo/bar")], "bedrock")
    history = _bedrock_history(with_tools=True)
    assert has_bedrock_tool_blocks(history)
    config = bedrock_tool_config(tools.definitions, "none", tools.name_map, history_has_tools=True)
    assert config == {"tools": tools.definitions}


def test_bedrock_tool_config_carries_the_mapped_choice() -> None:
    tools = convert_tools([_tool("foo/bar")], "bedrock")
    named = {"type": "function", "function": {"name": "foo/bar"}}
    assert bedrock_tool_config(tools.definitions, named, tools.name_map, history_has_tools=False) == {
        "tools": tools.definitions,
        "toolChoice": {"tool": {"name": "foo_bar"}},
    }
    assert bedrock_tool_config(tools.definitions, None, tools.name_map, history_has_tools=False) == {
        "tools": tools.definitions
    }
    assert bedrock_tool_config([], "auto", tools.name_map, history_has_tools=False) is None
    with pytest.raises(ValueError, match="at least one tool"):
        bedrock_tool_config([], "none", tools.name_map, history_has_tools=True)
