"""Argument names a provider rejects are renamed in the definition and restored for the upstream call."""

from __future__ import annotations

import mcp_types
import pytest

from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.bridge.tools import convert_tools
from tests.provider_rules import validate_tool_definition

ODD_KEYS_TOOL = mcp_types.Tool(
    name="files/search",
    input_schema={
        "type": "object",
        "properties": {
            "$top": {"type": "integer"},
            "filter[name]": {"type": "string"},
            "filter_name_": {"type": "string"},
            "StartTime<": {"type": "string", "format": "date-time"},
            "plain": {"type": "boolean"},
        },
        "required": ["$top", "plain"],
    },
)


def parameters_of(definition: dict[str, object], provider: Provider) -> dict[str, object]:
    if provider == "anthropic":
        return definition["input_schema"]  # type: ignore[return-value]
    if provider == "bedrock":
        return definition["toolSpec"]["inputSchema"]["json"]  # type: ignore[index,no-any-return]
    if provider in ("openai-responses", "gemini"):
        return definition["parameters"]  # type: ignore[return-value]
    return definition["function"]["parameters"]  # type: ignore[index,no-any-return]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_odd_keys_are_renamed_validly_and_restored(provider: Provider) -> None:
    converted = convert_tools([ODD_KEYS_TOOL], provider)
    [definition] = converted.definitions
    assert validate_tool_definition(provider, definition) == []
    schema = parameters_of(definition, provider)
    keys = list(schema["properties"])  # type: ignore[call-overload]
    assert keys == ["_top", "filter_name__2", "filter_name_", "StartTime_", "plain"]
    assert set(schema["required"]) == {"_top", "plain"}  # type: ignore[call-overload]
    provider_arguments = {"_top": 0, "filter_name__2": "a", "filter_name_": "b", "StartTime_": "t", "plain": False}
    assert converted.upstream_arguments("files/search", provider_arguments) == {
        "$top": 0,
        "filter[name]": "a",
        "filter_name_": "b",
        "StartTime<": "t",
        "plain": False,
    }


def test_tools_with_valid_keys_are_passed_through_unchanged() -> None:
    tool = mcp_types.Tool(name="t", input_schema={"type": "object", "properties": {"a.b": {"type": "string"}}})
    converted = convert_tools([tool], "anthropic")
    assert converted.argument_keys == {}
    assert converted.upstream_arguments("t", {"a.b": "x"}) == {"a.b": "x"}
    assert ODD_KEYS_TOOL.input_schema["properties"]["$top"] == {"type": "integer"}


def test_gemini_holds_top_level_names_to_its_stricter_rule_and_others_keep_theirs() -> None:
    tool = mcp_types.Tool(
        name="t",
        input_schema={
            "type": "object",
            "properties": {"a-b": {"type": "string"}, "1st": {"type": "integer"}, "a.b": {"type": "string"}, "a_b": {}},
        },
    )
    gemini = convert_tools([tool], "gemini")
    assert list(gemini.definitions[0]["parameters"]["properties"]) == ["a_b_2", "_1st", "a_b_3", "a_b"]
    assert gemini.upstream_arguments("t", {"a_b_2": "x", "_1st": 1, "a_b_3": "y"}) == {"a-b": "x", "1st": 1, "a.b": "y"}
    assert validate_tool_definition("gemini", gemini.definitions[0]) == []
    # The same keys are valid for Anthropic, so nothing is renamed there.
    assert convert_tools([tool], "anthropic").argument_keys == {}


def test_gemini_json_encoded_values_are_parsed_under_renamed_keys_before_the_keys_are_restored() -> None:
    tool = mcp_types.Tool(
        name="t",
        input_schema={
            "type": "object",
            "properties": {
                "$meta": {"type": "object", "additionalProperties": True},
                "items": {"type": "array", "items": {"type": "object", "properties": {"data": {}}}},
            },
        },
    )
    converted = convert_tools([tool], "gemini")
    assert converted.json_arguments == {"t": (("_meta",), ("items", None, "data"))}
    arguments = {"_meta": '{"k": [1, 2]}', "items": [{"data": "null"}, {"data": '"text"'}]}
    assert converted.upstream_arguments("t", arguments) == {
        "$meta": {"k": [1, 2]},
        "items": [{"data": None}, {"data": "text"}],
    }
    assert converted.to_json()["json_arguments"] == {"t": [["_meta"], ["items", None, "data"]]}
