"""Every tool of every spec in specs/ converts for every provider with zero rule violations and round-trips names."""

from __future__ import annotations

import functools
from pathlib import Path

import mcp_types
import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.responses import FunctionToolParam
from pydantic import TypeAdapter

from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.bridge.tools import convert_tools, tool_definition
from mcp_gateway.openapi.loader import read_spec_file
from mcp_gateway.openapi.tools import build_tools
from tests.provider_rules import (
    NAME_PATTERNS,
    TOOL_COUNT_LIMITS,
    internal_keys,
    tool_name,
    validate_tool_definitions,
)

SPECS = sorted(path.name for path in (Path(__file__).parents[2] / "specs").iterdir() if path.suffix != ".md")


@functools.cache
def spec_tools(spec: str) -> tuple[mcp_types.Tool, ...]:
    built = build_tools(read_spec_file(Path(__file__).parents[2] / "specs" / spec))
    return tuple(
        mcp_types.Tool(name=tool.name, description=tool.description, input_schema=tool.input_schema)
        for tool in built.tools
    )


def test_the_specs_are_all_there() -> None:
    assert SPECS == ["github-api.json", "petstore-swagger2.json", "uspto-3.0.yaml", "webhook-example-3.1.yaml"]
    assert len(spec_tools("github-api.json")) == 1223


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("spec", SPECS)
def test_every_tool_converts_with_zero_violations_and_names_round_trip(spec: str, provider: Provider) -> None:
    tools = spec_tools(spec)
    name_map = build_name_map([tool.name for tool in tools], provider)
    for strict in (False, True) if provider.startswith("openai") else (False,):
        definitions = [tool_definition(tool, provider, name_map.to_target(tool.name), strict=strict) for tool in tools]
        names = [tool_name(provider, definition) for definition in definitions]
        assert all(isinstance(name, str) and NAME_PATTERNS[provider].fullmatch(name) for name in names)
        assert [name_map.to_original(name) for name in names if name is not None] == [tool.name for tool in tools]
        # One request cannot carry more tools than the provider's limit; the rules are checked per request.
        size = TOOL_COUNT_LIMITS.get(provider, max(1, len(definitions)))
        for start in range(0, len(definitions), size):
            assert validate_tool_definitions(provider, definitions[start : start + size]) == []
        assert internal_keys(definitions) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_github_tools_convert_in_requests_of_the_provider_limit(provider: Provider) -> None:
    tools = spec_tools("github-api.json")
    size = TOOL_COUNT_LIMITS.get(provider, 300)
    for start in range(0, len(tools), size):
        converted = convert_tools(tools[start : start + size], provider, strict=True)
        assert len(converted.definitions) == len(tools[start : start + size])
        assert {converted.name_map.to_original(name) for name in converted.name_map.reverse} == {
            tool.name for tool in tools[start : start + size]
        }


def test_github_definitions_match_the_official_sdk_types() -> None:
    tools = spec_tools("github-api.json")
    chat, responses, anthropic = (
        TypeAdapter(list[ChatCompletionFunctionToolParam]),
        TypeAdapter(list[FunctionToolParam]),
        TypeAdapter(list[ToolParam]),
    )
    for start in range(0, len(tools), 128):
        chunk = tools[start : start + 128]
        chat.validate_python(convert_tools(chunk, "openai", strict=True).definitions)
        responses.validate_python(convert_tools(chunk, "openai-responses", strict=True).definitions)
        anthropic.validate_python(convert_tools(chunk, "anthropic").definitions)
