"""MCP tools as provider tool definitions: wire shapes, per-request names, limits, and the caller's data left alone."""

from __future__ import annotations

import copy
from typing import Any

import mcp_types
import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.responses import FunctionToolParam
from openai.types.shared_params import FunctionDefinition
from pydantic import TypeAdapter

from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.bridge.tools import (
    ToolLimitError,
    convert_tools,
    hosted_tool_name,
    is_hosted_tool,
    tool_definition,
)
from tests.provider_rules import internal_keys, tool_name, validate_tool_definitions

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = mcp_types.Tool(name="get_weather", description="Current weather.", input_schema=WEATHER_SCHEMA)


def tool(name: str, description: str | None = "Does a thing.", schema: dict[str, Any] | None = None) -> mcp_types.Tool:
    return mcp_types.Tool(name=name, description=description, input_schema=schema if schema is not None else {})


def names_in(provider: Provider, definitions: list[dict[str, Any]]) -> list[str | None]:
    return [tool_name(provider, definition) for definition in definitions]


def test_each_provider_gets_its_exact_wire_shape() -> None:
    expected: dict[Provider, dict[str, Any]] = {
        "openai": {
            "type": "function",
            "function": {"name": "get_weather", "description": "Current weather.", "parameters": WEATHER_SCHEMA},
        },
        "openai-responses": {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather.",
            "parameters": WEATHER_SCHEMA,
            "strict": False,
        },
        "anthropic": {"name": "get_weather", "description": "Current weather.", "input_schema": WEATHER_SCHEMA},
        "gemini": {"name": "get_weather", "description": "Current weather.", "parameters": WEATHER_SCHEMA},
        "bedrock": {
            "toolSpec": {
                "name": "get_weather",
                "description": "Current weather.",
                "inputSchema": {"json": WEATHER_SCHEMA},
            }
        },
        "mistral": {
            "type": "function",
            "function": {"name": "get_weather", "description": "Current weather.", "parameters": WEATHER_SCHEMA},
        },
        "cohere": {
            "type": "function",
            "function": {"name": "get_weather", "description": "Current weather.", "parameters": WEATHER_SCHEMA},
        },
    }
    for provider in PROVIDERS:
        assert convert_tools([WEATHER], provider).definitions == [expected[provider]], provider


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("order", [["foo/bar", "foo_bar"], ["foo_bar", "foo/bar"]])
def test_a_sanitized_name_never_takes_a_valid_name_in_either_order(provider: Provider, order: list[str]) -> None:
    converted = convert_tools([tool(name) for name in order], provider)
    assert converted.name_map.forward == {"foo_bar": "foo_bar", "foo/bar": "foo_bar_2"}
    assert sorted(names_in(provider, converted.definitions)) == ["foo_bar", "foo_bar_2"]  # type: ignore[type-var]
    assert converted.name_map.to_original("foo_bar_2") == "foo/bar"
    assert validate_tool_definitions(provider, converted.definitions) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_same_invalid_name_twice_is_one_tool_under_one_name(provider: Provider) -> None:
    converted = convert_tools([tool("repos/get"), tool("repos/get", description="second copy")], provider)
    assert len(converted.definitions) == 1
    assert dict(converted.name_map.forward) == {"repos/get": "repos_get"}
    assert validate_tool_definitions(provider, converted.definitions) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_only_rewritten_names_appear_in_the_rewritten_map(provider: Provider) -> None:
    converted = convert_tools([tool("plain_name"), tool("needs fixing"), tool("a.b")], provider)
    rewritten = converted.name_map.rewritten
    assert rewritten["needs_fixing"] == "needs fixing"
    assert "plain_name" not in rewritten
    assert ("a.b" in rewritten.values()) is (provider != "gemini")  # Gemini allows dots in names


def test_cohere_names_lose_dashes_and_gain_a_leading_letter_rule() -> None:
    converted = convert_tools([tool("list-repos"), tool("2fa")], "cohere")
    assert dict(converted.name_map.forward) == {"list-repos": "list_repos", "2fa": "_2fa"}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("strict", [False, True])
def test_caller_tools_and_schemas_are_unchanged_and_unshared(provider: Provider, strict: bool) -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"tags": {"type": "array"}, "maybe": {"type": ["string", "null"], "default": ["x"]}},
        "$defs": {"Unused": {"const": 1}},
    }
    tools = [tool("foo/bar", "x" * 2000, schema), tool("foo_bar", None, None)]
    before = [copy.deepcopy(t.model_dump(by_alias=True)) for t in tools]
    converted = convert_tools(tools, provider, strict=strict)
    assert [t.model_dump(by_alias=True) for t in tools] == before
    _scribble_everywhere(converted.definitions)
    assert [t.model_dump(by_alias=True) for t in tools] == before


def _scribble_everywhere(value: Any) -> None:
    if isinstance(value, dict):
        for item in list(value.values()):
            _scribble_everywhere(item)
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            _scribble_everywhere(item)
        value.append("scribbled")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_internal_keys_reach_any_definition(provider: Provider) -> None:
    schema = {"type": "object", "properties": {"_links": {"type": "object"}, "q": {"$ref": "#/$defs/Q"}}}
    schema["$defs"] = {"Q": {"type": "string"}}
    with_meta = mcp_types.Tool(name="x/y", input_schema=schema, _meta={"secret": 1})
    converted = convert_tools([with_meta, tool("other")], provider, strict=True)
    assert internal_keys(converted.definitions) == []
    assert "secret" not in repr(converted.definitions)


@pytest.mark.parametrize("provider", ["openai", "openai-responses"])
def test_openai_rejects_more_than_128_tools_before_any_request(provider: Provider) -> None:
    assert len(convert_tools([tool(f"t{i}") for i in range(128)], provider).definitions) == 128
    with pytest.raises(ToolLimitError, match=r"at most 128 tools.*129 were given") as raised:
        convert_tools([tool(f"t{i}") for i in range(129)], provider)
    assert (raised.value.provider, raised.value.limit, raised.value.count) == (provider, 128, 129)


def test_duplicates_do_not_count_against_the_limit_and_other_providers_have_their_own() -> None:
    assert len(convert_tools([tool("same")] * 200, "openai").definitions) == 1
    with pytest.raises(ToolLimitError, match="512"):
        convert_tools([tool(f"t{i}") for i in range(513)], "gemini")
    assert len(convert_tools([tool(f"t{i}") for i in range(600)], "anthropic").definitions) == 600


@pytest.mark.parametrize("provider", ["openai", "openai-responses"])
def test_openai_descriptions_are_cut_to_1024_characters_with_an_ellipsis(provider: Provider) -> None:
    definition = convert_tools([tool("long", "word " * 400)], provider).definitions[0]
    description = definition.get("function", definition)["description"]
    assert len(description) == 1024
    assert description.endswith("…")
    assert description.startswith("word word")


def test_providers_without_a_documented_limit_keep_long_descriptions() -> None:
    long_text = "word " * 400
    assert convert_tools([tool("long", long_text)], "anthropic").definitions[0]["description"] == long_text


def test_missing_descriptions_fall_back_to_the_title_and_bedrock_always_gets_one() -> None:
    titled = mcp_types.Tool(name="repos/list", title="List repositories", input_schema={})
    untitled = tool("repos/get", description="   ")
    assert convert_tools([titled], "anthropic").definitions[0]["description"] == "List repositories"
    assert "description" not in convert_tools([untitled], "anthropic").definitions[0]
    assert "description" not in convert_tools([untitled], "openai").definitions[0]["function"]
    assert convert_tools([untitled], "bedrock").definitions[0]["toolSpec"]["description"] == "repos/get"


def test_gemini_leaves_out_parameters_for_a_tool_without_arguments() -> None:
    assert convert_tools([tool("ping")], "gemini").definitions == [{"name": "ping", "description": "Does a thing."}]


def test_strict_is_sent_only_when_asked_and_falls_back_per_tool() -> None:
    open_ended = tool("open", schema={"type": "object", "properties": {"extra": {"type": "object"}}})
    chat = convert_tools([WEATHER, open_ended], "openai", strict=True).definitions
    assert chat[0]["function"]["strict"] is True
    assert chat[0]["function"]["parameters"]["additionalProperties"] is False
    assert chat[1]["function"]["strict"] is False
    assert "additionalProperties" not in chat[1]["function"]["parameters"]
    assert "strict" not in convert_tools([WEATHER], "openai").definitions[0]["function"]
    responses = convert_tools([WEATHER, open_ended], "openai-responses", strict=True).definitions
    assert [definition["strict"] for definition in responses] == [True, False]
    assert convert_tools([WEATHER], "anthropic", strict=True).definitions[0]["input_schema"] == WEATHER_SCHEMA


def test_tool_definition_insists_on_a_provider_safe_name() -> None:
    assert tool_definition(WEATHER, "openai", "weather")["function"]["name"] == "weather"
    with pytest.raises(ValueError, match="not a valid cohere tool name"):
        tool_definition(WEATHER, "cohere", "get-weather")


def test_build_name_map_is_deterministic_and_uses_the_provider_rule() -> None:
    tool_names = ["a/b", "a_b", "ns:tool", "ns:tool"]
    assert build_name_map(tool_names, "gemini") == build_name_map(list(tool_names), "gemini")
    assert dict(build_name_map(tool_names, "gemini").forward) == {"a/b": "a_b_2", "a_b": "a_b", "ns:tool": "ns:tool"}
    assert build_name_map(tool_names, "openai").to_target("ns:tool") == "ns_tool"


def conforms(typed_dict: Any, value: dict[str, Any]) -> None:
    """Validates against an official SDK type; TypedDicts ignore unknown keys, so those are checked too."""
    TypeAdapter(typed_dict).validate_python(value)
    assert set(value) <= typed_dict.__required_keys__ | typed_dict.__optional_keys__


@pytest.mark.parametrize("strict", [False, True])
def test_definitions_match_the_official_openai_and_anthropic_sdk_types(strict: bool) -> None:
    tools = [WEATHER, tool("no/args", None), tool("open", schema={"properties": {"m": {"type": "object"}}})]
    for definition in convert_tools(tools, "openai", strict=strict).definitions:
        conforms(ChatCompletionFunctionToolParam, definition)
        conforms(FunctionDefinition, definition["function"])
    for definition in convert_tools(tools, "openai-responses", strict=strict).definitions:
        conforms(FunctionToolParam, definition)
    for definition in convert_tools(tools, "anthropic").definitions:
        conforms(ToolParam, definition)


def test_hosted_tools_are_recognised_per_provider() -> None:
    assert is_hosted_tool({"type": "web_search_20250305", "name": "web_search"}, "anthropic")
    assert is_hosted_tool({"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}, "anthropic")
    assert not is_hosted_tool({"name": "x", "input_schema": {"type": "object"}}, "anthropic")
    assert not is_hosted_tool({"type": "custom", "name": "x", "input_schema": {"type": "object"}}, "anthropic")
    for provider in ("openai", "openai-responses"):
        assert is_hosted_tool({"type": "web_search"}, provider)
        assert not is_hosted_tool({"type": "function", "function": {"name": "x"}}, provider)
    assert is_hosted_tool({"type": "file_search", "vector_store_ids": ["vs_1"]}, "openai-responses")
    assert is_hosted_tool({"googleSearch": {}}, "gemini")
    assert not is_hosted_tool({"functionDeclarations": []}, "gemini")
    assert not is_hosted_tool({"name": "x"}, "gemini")
    assert is_hosted_tool({"systemTool": {"name": "nova_grounding"}}, "bedrock")
    assert not is_hosted_tool({"toolSpec": {"name": "x"}}, "bedrock")


# Provider-hosted tools: passed through untouched, and their names are never given to an MCP tool.

BASH: dict[str, Any] = {"type": "bash_20250124", "name": "bash"}
WEB_SEARCH: dict[str, Any] = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


def test_mcp_tools_named_like_hosted_tools_give_way_and_the_hosted_tools_pass_untouched() -> None:
    hosted = [BASH, WEB_SEARCH]
    before = copy.deepcopy(hosted)
    converted = convert_tools([tool("bash"), tool("web_search"), tool("grep")], "anthropic", hosted=hosted)
    assert dict(converted.name_map.forward) == {"bash": "bash_2", "web_search": "web_search_2", "grep": "grep"}
    assert names_in("anthropic", converted.definitions) == ["bash_2", "web_search_2", "grep"]
    assert converted.hosted == before
    assert converted.request_tools() == [*converted.definitions, *before]
    assert validate_tool_definitions("anthropic", converted.request_tools()) == []
    assert converted.to_json()["hosted"] == before
    assert hosted == before
    assert converted.hosted[0] is not hosted[0]


def test_the_rules_reject_a_function_named_like_a_hosted_tool_in_the_same_request() -> None:
    clashing = convert_tools([tool("bash")], "anthropic").definitions
    problems = validate_tool_definitions("anthropic", [*clashing, BASH])
    assert "duplicate tool names: ['bash']" in problems


def test_hosted_names_are_reserved_in_every_shape_that_has_one() -> None:
    system_tool = {"systemTool": {"name": "nova_grounding"}}
    assert hosted_tool_name(system_tool, "bedrock") == "nova_grounding"
    assert hosted_tool_name({"type": "custom", "custom": {"name": "lookup"}}, "openai") == "lookup"
    assert hosted_tool_name({"type": "custom", "name": "lookup"}, "openai-responses") == "lookup"
    assert hosted_tool_name({"googleSearch": {}}, "gemini") is None
    bedrock = convert_tools([tool("nova_grounding")], "bedrock", hosted=[system_tool])
    assert dict(bedrock.name_map.forward) == {"nova_grounding": "nova_grounding_2"}
    responses = convert_tools([tool("lookup")], "openai-responses", hosted=[{"type": "custom", "name": "lookup"}])
    assert validate_tool_definitions("openai-responses", responses.request_tools()) == []


def test_gemini_hosted_tools_are_entries_of_tools_beside_the_function_declarations() -> None:
    converted = convert_tools([WEATHER], "gemini", hosted=[{"googleSearch": {}}])
    assert converted.request_tools() == [{"functionDeclarations": converted.definitions}, {"googleSearch": {}}]
    assert convert_tools([], "gemini", hosted=[{"googleSearch": {}}]).request_tools() == [{"googleSearch": {}}]


def test_hosted_tools_count_towards_the_openai_limit_and_functions_are_refused_as_hosted() -> None:
    with pytest.raises(ToolLimitError, match="129 were given"):
        convert_tools([tool(f"t{index}") for index in range(127)], "openai", hosted=[{"type": "web_search"}] * 2)
    with pytest.raises(ValueError, match="is not a hosted anthropic tool"):
        convert_tools([], "anthropic", hosted=[{"name": "x", "input_schema": OBJECT}])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_definition_renames_argument_keys_exactly_as_convert_tools_does(provider: Provider) -> None:
    properties = {"$top": {"type": "integer"}, "filter[x]": {"type": "string"}, "a-b": {"type": "string"}}
    odd = tool("odd", "Odd keys.", {"type": "object", "properties": properties})
    definition = tool_definition(odd, provider, "odd")
    assert definition == convert_tools([odd], provider).definitions[0]
    assert validate_tool_definitions(provider, [definition]) == []


# The rules in tests/provider_rules.py must reject what the providers reject, or the tests above prove nothing.

OBJECT = {"type": "object", "properties": {}}
BROKEN_DEFINITIONS: list[tuple[Provider, dict[str, Any], str]] = [
    ("openai", {"type": "function", "function": {"name": "a/b", "parameters": OBJECT}}, "pattern"),
    ("openai", {"type": "function", "function": {"name": "a", "description": "x" * 1025}}, "1024"),
    ("openai", {"type": "function", "function": {"name": "a", "parameters": {"type": "array", "items": {}}}}, "root"),
    (
        "openai",
        {
            "type": "function",
            "function": {"name": "a", "parameters": {**OBJECT, "properties": {"t": {"type": "array"}}}},
        },
        "missing items",
    ),
    ("openai", {"type": "function", "function": {"name": "a", "parameters": OBJECT, "strict": True}}, "additional"),
    ("openai-responses", {"type": "function", "name": "a", "parameters": OBJECT}, "strict"),
    ("anthropic", {"name": "a", "input_schema": {"type": "object", "properties": {"$top": {}}}}, "property key"),
    ("anthropic", {"name": "a", "input_schema": {"type": "object", "properties": {"a": {"type": "strng"}}}}, "schema"),
    ("gemini", {"name": "1a", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}, "pattern"),
    ("gemini", {"name": "a", "parameters": {"type": "object", "additionalProperties": False}}, "Gemini"),
    ("gemini", {"name": "a", "parameters": {**OBJECT, "properties": {"n": {"type": "integer", "enum": [1]}}}}, "enum"),
    (
        "gemini",
        {"name": "a", "parameters": {**OBJECT, "properties": {"n": {"type": "string", "format": "uuid"}}}},
        "format",
    ),
    ("gemini", {"name": "a", "parameters": {**OBJECT, "properties": {"n": {"$ref": "#/$defs/N"}}}}, "'$ref'"),
    ("gemini", {"name": "a", "parameters": {"type": "object", "properties": {}}}, "non-empty"),
    ("gemini", {"name": "a", "parameters": {**OBJECT, "properties": {"a": {}}, "required": ["b"]}}, "required"),
    ("gemini", {"name": "a", "parameters": {**OBJECT, "properties": {"s": {"type": "string", "enum": [""]}}}}, "empty"),
    (
        "gemini",
        {"name": "a", "parameters": {**OBJECT, "properties": {"v": {"anyOf": [{"type": "string"}], "title": "V"}}}},
        "only field",
    ),
    ("gemini", {"name": "a", "parameters": {**OBJECT, "properties": {"m": {"type": "object"}}}}, "non-empty"),
    ("gemini", {"name": "a", "parameters": {**OBJECT, "properties": {"a-b": {"type": "string"}}}}, "parameter name"),
    (
        "openai",
        {
            "type": "function",
            "function": {
                "name": "a",
                "strict": True,
                "parameters": {
                    **OBJECT,
                    "properties": {"p": {"$ref": "#/$defs/P", "description": "d"}},
                    "required": ["p"],
                    "additionalProperties": False,
                    "$defs": {"P": {"type": "string"}},
                },
            },
        },
        "beside '$ref'",
    ),
    ("bedrock", {"toolSpec": {"name": "a", "description": "", "inputSchema": {"json": OBJECT}}}, "non-empty"),
    ("bedrock", {"toolSpec": {"name": "a", "description": "d", "inputSchema": OBJECT}}, "inputSchema"),
    ("mistral", {"type": "function", "function": {"name": "a b", "parameters": OBJECT}}, "pattern"),
    ("cohere", {"type": "function", "function": {"name": "a-b", "parameters": OBJECT}}, "pattern"),
]


@pytest.mark.parametrize(("provider", "definition", "expected"), BROKEN_DEFINITIONS)
def test_the_rules_reject_what_the_provider_rejects(
    provider: Provider, definition: dict[str, Any], expected: str
) -> None:
    problems = validate_tool_definitions(provider, [definition])
    assert any(expected in problem for problem in problems), problems


def test_the_rules_reject_duplicate_names_too_many_tools_and_internal_keys() -> None:
    definition = {"type": "function", "function": {"name": "a", "parameters": OBJECT}}
    assert any("duplicate" in problem for problem in validate_tool_definitions("openai", [definition, definition]))
    assert any("limit of 128" in problem for problem in validate_tool_definitions("openai", [definition] * 129))
    assert internal_keys({"function": {"_name_map": {}, "parameters": {"properties": {"_links": {}}}}}) == [
        "$.function._name_map"
    ]


# Root-level combinators: no provider accepts them, so the schema is flattened and the rule told in words.

CHOICE_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
    "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
}
CHOICE_SENTENCE = "Arguments must satisfy one of: {a} or {b}."


def root_schema(provider: Provider, definition: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema a definition sends, wherever the provider's shape keeps it."""
    if provider == "bedrock":
        return dict(definition["toolSpec"]["inputSchema"]["json"])
    if provider == "anthropic":
        return dict(definition["input_schema"])
    if provider in ("gemini", "openai-responses"):
        return dict(definition["parameters"])
    return dict(definition["function"]["parameters"])


def description_of(provider: Provider, definition: dict[str, Any]) -> str:
    holder = definition.get("toolSpec") or definition.get("function") or definition
    return str(holder["description"])


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("strict", [False, True])
def test_a_root_choice_of_arguments_is_accepted_everywhere_and_told_in_the_description(
    provider: Provider, strict: bool
) -> None:
    choice = tool("pick", "Picks a thing.", CHOICE_SCHEMA)
    definition = convert_tools([choice], provider, strict=strict).definitions[0]
    assert validate_tool_definitions(provider, [definition]) == []
    assert not {"anyOf", "oneOf", "allOf", "not", "enum", "const"} & set(root_schema(provider, definition))
    assert set(root_schema(provider, definition)["properties"]) == {"a", "b"}
    assert description_of(provider, definition) == f"Picks a thing. {CHOICE_SENTENCE}"
    assert tool_definition(choice, provider, "pick", strict=strict) == definition


def test_the_anthropic_definition_of_a_root_choice_is_exactly_this() -> None:
    definition = convert_tools([tool("pick", "Picks a thing.", CHOICE_SCHEMA)], "anthropic").definitions[0]
    assert definition == {
        "name": "pick",
        "description": f"Picks a thing. {CHOICE_SENTENCE}",
        "input_schema": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
    }


def test_without_a_description_the_sentence_is_the_description() -> None:
    bare = tool("pick", None, CHOICE_SCHEMA)
    assert convert_tools([bare], "anthropic").definitions[0]["description"] == CHOICE_SENTENCE
    assert convert_tools([bare], "bedrock").definitions[0]["toolSpec"]["description"] == CHOICE_SENTENCE


@pytest.mark.parametrize("provider", ["openai", "openai-responses"])
def test_a_long_description_gives_way_to_the_sentence_within_1024_characters(provider: Provider) -> None:
    definition = convert_tools([tool("pick", "word " * 400, CHOICE_SCHEMA)], provider).definitions[0]
    description = description_of(provider, definition)
    assert len(description) == 1024
    assert description.startswith("word word")
    assert description.endswith(f"… {CHOICE_SENTENCE}")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_arguments_merged_into_the_root_get_provider_safe_names_and_map_back(provider: Provider) -> None:
    schema = {
        "allOf": [{"properties": {"$top": {"type": "integer"}}}],
        "oneOf": [{"properties": {"filter[x]": {"type": "string"}}, "required": ["filter[x]"]}, {"required": ["q"]}],
        "properties": {"q": {"type": "string"}},
    }
    converted = convert_tools([tool("search", "Searches.", schema)], provider)
    definition = converted.definitions[0]
    assert validate_tool_definitions(provider, [definition]) == []
    assert set(root_schema(provider, definition)["properties"]) == {"q", "_top", "filter_x_"}
    assert description_of(provider, definition).endswith("exactly one of: {filter_x_} or {q}.")
    assert converted.upstream_arguments("search", {"_top": 5, "filter_x_": "y"}) == {"$top": 5, "filter[x]": "y"}


def test_strict_mode_maps_the_nulls_of_merged_arguments_back_out() -> None:
    converted = convert_tools([tool("pick", "Picks a thing.", CHOICE_SCHEMA)], "openai", strict=True)
    function = converted.definitions[0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["required"] == ["a", "b"]
    assert converted.upstream_arguments("pick", {"a": "x", "b": None}) == {"a": "x"}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("keyword", ["anyOf", "oneOf", "allOf", "not", "enum", "const"])
def test_the_rules_reject_every_root_combinator_on_every_provider(provider: Provider, keyword: str) -> None:
    values: dict[str, Any] = {
        "anyOf": [{"required": ["a"]}],
        "oneOf": [{"required": ["a"]}],
        "allOf": [{"required": ["a"]}],
        "not": {"required": ["a"]},
        "enum": [{"a": "x"}],
        "const": {"a": "x"},
    }
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, keyword: values[keyword]}
    shapes: dict[Provider, dict[str, Any]] = {
        "openai": {"type": "function", "function": {"name": "a", "parameters": schema}},
        "openai-responses": {"type": "function", "name": "a", "parameters": schema, "strict": False},
        "anthropic": {"name": "a", "input_schema": schema},
        "gemini": {"name": "a", "parameters": schema},
        "bedrock": {"toolSpec": {"name": "a", "description": "d", "inputSchema": {"json": schema}}},
        "mistral": {"type": "function", "function": {"name": "a", "parameters": schema}},
        "cohere": {"type": "function", "function": {"name": "a", "parameters": schema}},
    }
    problems = validate_tool_definitions(provider, [shapes[provider]])
    assert any(f"root must not use {keyword!r}" in problem for problem in problems), problems
