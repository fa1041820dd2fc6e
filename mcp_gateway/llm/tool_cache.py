"""Converted tool sets kept between requests: converting a server's tools for a provider costs about 0.1 ms per tool,
which a request offering a hundred tools would otherwise pay on every call.

A set is identified by the provider, the registry definitions it offers (by identity: the registry replaces a
definition object whenever it rebuilds, and a cached entry holds on to its definitions, so an identity is never
reused while it is cached) under the names offered, and the caller's own function and hosted tools (by content).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable

import mcp_types

from mcp_gateway.bridge.targets import Provider
from mcp_gateway.bridge.tools import ConvertedTools
from mcp_gateway.llm.toolset import RequestTools

DEFAULT_ENTRIES = 256


class ConversionCache:
    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        self._entries = entries
        self._cache: OrderedDict[Hashable, tuple[list[mcp_types.Tool], ConvertedTools]] = OrderedDict()

    def converted(self, provider: Provider, tools: RequestTools,
                  convert: Callable[[], ConvertedTools]) -> ConvertedTools:
        """The cached conversion of `tools` for `provider`, or `convert()`'s, remembered."""
        key = _key(provider, tools)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found[1]
        result = convert()
        self._cache[key] = ([tool.registered.definition for tool in tools.mcp.values()], result)
        if len(self._cache) > self._entries:
            self._cache.popitem(last=False)
        return result


def _key(provider: Provider, tools: RequestTools) -> Hashable:
    offered = tuple((name, id(tool.registered.definition)) for name, tool in tools.mcp.items())
    # The function tools themselves, not only their OpenAI-shaped definitions: a door whose callers write tools in
    # another shape (Anthropic's /v1/messages) has no such definitions, and two different tool sets must never meet.
    functions = [function.model_dump(mode="json", by_alias=True, exclude_none=True) for function in tools.functions]
    written = json.dumps([tools.function_definitions, functions, tools.hosted], sort_keys=True, default=str)
    return provider, offered, written
