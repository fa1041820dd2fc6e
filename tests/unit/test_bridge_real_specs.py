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


def requests_of(tools: tuple[mcp_types.Tool, ...], provider: Provider) -> list[tuple[mcp_types.Tool, ...]]:
    """The tools split into requests of at most the provider's documented tool limit."""
    size = TOOL_COUNT_LIMITS.get(provider, max(1, len(tools)))
    return [tools[start : start + size] for start in range(0, len(tools), size)]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("spec", SPECS)
def test_every_tool_converts_with_zero_violations_and_names_round_trip(spec: str, provider: Provider) -> None:
    for strict in (False, True) if provider.startswith("openai") else (False,):
        for request in requests_of(spec_tools(spec), provider):
            converted = convert_tools(request, provider, strict=strict)
            assert validate_tool_definitions(provider, converted.definitions) == []
            names = [tool_name(provider, definition) for definition in converted.definitions]
            assert all(isinstance(name, str) and NAME_PATTERNS[provider].fullmatch(name) for name in names)
            originals = [converted.name_map.to_original(name) for name in names if name is not None]
            assert originals == [tool.name for tool in request]
            assert internal_keys(converted.definitions) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_definition_shows_what_convert_tools_offers(provider: Provider) -> None:
    [request, *_] = requests_of(spec_tools("github-api.json"), provider)
    converted = convert_tools(request, provider, strict=True)
    shown = [tool_definition(tool, provider, converted.name_map.to_target(tool.name), strict=True) for tool in request]
    assert shown == converted.definitions


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
