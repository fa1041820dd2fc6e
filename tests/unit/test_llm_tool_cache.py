"""Converted tool sets are reused while the offered definitions, names and caller tools stay the same."""

from __future__ import annotations

import mcp_types
import pytest

from mcp_gateway.auth.principal import UNRESTRICTED
from mcp_gateway.bridge.tools import ConvertedTools, convert_tools
from mcp_gateway.llm.tool_cache import ConversionCache
from mcp_gateway.llm.toolset import RequestTools, read_tools
from mcp_gateway.registry import Registry, ToolFilter
from tests.unit.test_registry import InMemoryUpstream, make_registry

pytestmark = pytest.mark.anyio


@pytest.fixture
async def registry() -> Registry:
    built = make_registry((InMemoryUpstream("tools", ["echo", "add"]), ToolFilter()))
    await built.start()
    return built


def request_tools(registry: Registry, *extra: dict[str, object], url: str = "/mcp/tools") -> RequestTools:
    mcp = {"type": "mcp", "server_label": "t", "server_url": url, "require_approval": "never"}
    return read_tools([mcp, *extra], registry, UNRESTRICTED, {"http://127.0.0.1:1"})


async def test_the_same_offer_is_converted_once(registry: Registry) -> None:
    cache = ConversionCache()
    conversions: list[ConvertedTools] = []

    def converting(tools: RequestTools) -> ConvertedTools:
        conversions.append(convert_tools(tools.offered(), "openai"))
        return conversions[-1]

    first_tools = request_tools(registry)
    first = cache.converted("openai", first_tools, lambda: converting(first_tools))
    again_tools = request_tools(registry)
    assert cache.converted("openai", again_tools, lambda: converting(again_tools)) is first
    weather = {"type": "function", "function": {"name": "weather"}}
    with_function = request_tools(registry, weather)
    prefixed = request_tools(registry, url="/mcp")
    for tools in (with_function, prefixed):
        assert cache.converted("openai", tools, lambda tools=tools: converting(tools)) is not first  # type: ignore[misc]
    assert cache.converted("gemini", first_tools, lambda: convert_tools(first_tools.offered(), "gemini")) is not first
    assert len(conversions) == 3


async def test_the_oldest_entry_goes_when_the_cache_is_full(registry: Registry) -> None:
    cache = ConversionCache(entries=1)
    before = request_tools(registry)
    first = cache.converted("openai", before, lambda: convert_tools(before.offered(), "openai"))
    other = request_tools(registry, {"type": "function", "function": {"name": "weather"}})
    cache.converted("openai", other, lambda: convert_tools(other.offered(), "openai"))
    # The first entry was evicted (one entry at most), so the same offer converts again.
    assert cache.converted("openai", before, lambda: convert_tools(before.offered(), "openai")) is not first


async def test_function_tools_without_written_definitions_are_told_apart() -> None:
    """/v1/messages offers the caller's tools without OpenAI-shaped definitions: the tools themselves key the set."""
    cache = ConversionCache()

    def offer(name: str) -> RequestTools:
        return RequestTools({}, [mcp_types.Tool(name=name, input_schema={"type": "object"})], {}, [])

    weather, read = offer("weather"), offer("Read")
    first = cache.converted("openai", weather, lambda: convert_tools(weather.offered(), "openai"))
    second = cache.converted("openai", read, lambda: convert_tools(read.offered(), "openai"))
    assert second is not first
    assert [definition["function"]["name"] for definition in second.definitions] == ["Read"]
