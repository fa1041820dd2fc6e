"""Registry naming, filtering and routing over in-memory upstreams (the e2e suite uses real ones)."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest

from mcp_gateway.names import MCP
from mcp_gateway.registry import Registry, RegistryServer, ToolFilter, UnknownServerError, UnknownToolError
from mcp_gateway.upstreams.base import Health


class InMemoryUpstream:
    def __init__(self, name: str, tool_names: list[str], *, fail_start: bool = False) -> None:
        self.name = name
        self._tool_names = tool_names
        self._fail_start = fail_start
        self._health = Health("starting")
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @property
    def health(self) -> Health:
        return self._health

    async def start(self) -> None:
        if self._fail_start:
            self._health = Health("unhealthy", "down")
            raise RuntimeError("boom")
        self._health = Health("healthy")

    def tools(self) -> list[types.Tool]:
        if self._fail_start:
            return []
        return [types.Tool(name=n, description=f"tool {n}", input_schema={"type": "object"}) for n in self._tool_names]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        self.calls.append((name, arguments))
        return types.CallToolResult(content=[types.TextContent(text=f"{self.name}:{name}")])

    async def recover(self) -> None:
        if self._health.state == "unhealthy":
            self._fail_start = False
            self._health = Health("healthy")

    async def aclose(self) -> None:
        return None


def make_registry(*servers: tuple[InMemoryUpstream, ToolFilter]) -> Registry:
    return Registry([RegistryServer(upstream, "test", tool_filter) for upstream, tool_filter in servers])


@pytest.mark.anyio
async def test_names_are_prefixed_sanitized_and_unique_across_servers() -> None:
    github = InMemoryUpstream("github", ["repos/get", "repos_get", "repos.get"])
    other = InMemoryUpstream("my server", ["echo"])
    registry = make_registry((github, ToolFilter()), (other, ToolFilter()))
    await registry.start()
    gateway_names = [tool.name for tool in registry.list_tools()]
    assert gateway_names == ["github-repos_get_2", "github-repos_get", "github-repos_get_3", "my_server-echo"]
    assert all(MCP.is_valid(name) for name in gateway_names)
    assert [tool.name for tool in registry.list_tools("github")] == ["repos_get_2", "repos_get", "repos_get_3"]


@pytest.mark.anyio
async def test_calls_route_to_the_upstream_under_its_own_name() -> None:
    github = InMemoryUpstream("github", ["repos/get"])
    registry = make_registry((github, ToolFilter()))
    await registry.start()
    await registry.call_tool("github-repos_get", {"owner": "a"})
    await registry.call_tool("repos_get", {"owner": "b"}, server="github")
    assert github.calls == [("repos/get", {"owner": "a"}), ("repos/get", {"owner": "b"})]
    with pytest.raises(UnknownToolError):
        await registry.call_tool("repos_get", {})
    with pytest.raises(UnknownServerError):
        await registry.call_tool("repos_get", {}, server="nope")


@pytest.mark.anyio
async def test_allow_and_deny_lists_hide_tools_from_listing_and_calls() -> None:
    api = InMemoryUpstream("api", ["list_pets", "get_pet", "delete_pet", "admin/reset"])
    registry = make_registry((api, ToolFilter(allowed=("*_pet*", "admin_*"), disallowed=("delete_*",))))
    await registry.start()
    assert [tool.name for tool in registry.list_tools()] == ["api-list_pets", "api-get_pet", "api-admin_reset"]
    with pytest.raises(UnknownToolError):
        await registry.call_tool("api-delete_pet", {})


@pytest.mark.anyio
async def test_filtering_does_not_change_the_names_of_the_remaining_tools() -> None:
    unfiltered = make_registry((InMemoryUpstream("s", ["a/b", "a_b", "a.b"]), ToolFilter()))
    filtered = make_registry((InMemoryUpstream("s", ["a/b", "a_b", "a.b"]), ToolFilter(disallowed=("a_b",))))
    await unfiltered.start()
    await filtered.start()
    by_upstream = {tool.upstream_name: tool.gateway_name for tool in unfiltered.registered()}
    assert {tool.upstream_name: tool.gateway_name for tool in filtered.registered()} == {
        "a/b": by_upstream["a/b"], "a.b": by_upstream["a.b"]}


@pytest.mark.anyio
async def test_an_upstream_that_crashes_on_start_does_not_take_the_others_down() -> None:
    registry = make_registry((InMemoryUpstream("bad", ["x"], fail_start=True), ToolFilter()),
                             (InMemoryUpstream("good", ["y"]), ToolFilter()))
    await registry.start()
    assert [tool.name for tool in registry.list_tools()] == ["good-y"]
    assert {status.name: status.tool_count for status in registry.servers()} == {"bad": 0, "good": 1}


@pytest.mark.anyio
async def test_a_filter_pattern_that_matches_nothing_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry((InMemoryUpstream("api", ["list_pets"]), ToolFilter(allowed=("list_pets", "lsit_*"))))
    await registry.start()
    assert "server 'api': tool filter pattern 'lsit_*' matches no tool" in caplog.text
    assert "'list_pets' matches no tool" not in caplog.text


@pytest.mark.anyio
async def test_tools_whose_prefixed_names_join_to_the_same_string_stay_distinct_and_callable() -> None:
    first, second = InMemoryUpstream("a-b", ["c"]), InMemoryUpstream("a", ["b-c"])
    registry = make_registry((first, ToolFilter()), (second, ToolFilter()))
    await registry.start()
    assert [tool.name for tool in registry.list_tools()] == ["a-b-c", "a-b-c_2"]
    await registry.call_tool("a-b-c", {})
    await registry.call_tool("a-b-c_2", {})
    assert (first.calls, second.calls) == ([("c", {})], [("b-c", {})])


@pytest.mark.anyio
async def test_a_server_that_comes_back_is_recovered_and_its_tools_appear() -> None:
    registry = make_registry((InMemoryUpstream("late", ["x"], fail_start=True), ToolFilter()),
                             (InMemoryUpstream("up", ["y"]), ToolFilter()))
    await registry.start()
    assert [tool.name for tool in registry.list_tools()] == ["up-y"]
    await registry.recover()
    assert [tool.name for tool in registry.list_tools()] == ["late-x", "up-y"]
    assert (await registry.call_tool("late-x", {})).content[0].text == "late:x"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_reconfigure_keeps_held_servers_starts_new_ones_closes_dropped_ones_and_announces_each() -> None:
    kept, dropped, added = InMemoryUpstream("kept", ["a"]), InMemoryUpstream("dropped", ["b"]), InMemoryUpstream(
        "added", ["c"]
    )
    closed: list[str] = []

    async def record_close() -> None:
        closed.append("dropped")

    dropped.aclose = record_close  # type: ignore[method-assign]
    registry = make_registry((kept, ToolFilter()), (dropped, ToolFilter()))
    await registry.start()
    changes: list[tuple[str, str]] = []
    registry.on_change(lambda server, kind: changes.append((server, kind)))
    held = registry.registry_servers()[0]
    kept.calls.clear()
    await registry.reconfigure([RegistryServer(added, "test", ToolFilter()), held])
    assert registry.server_names() == ["added", "kept"]
    assert [tool.gateway_name for tool in registry.registered()] == ["added-c", "kept-a"]
    assert added.health.state == "healthy" and kept.health.state == "healthy"
    assert closed == ["dropped"]
    assert {server for server, _ in changes} == {"added", "dropped"}
    assert {kind for _, kind in changes} == {"tools", "prompts", "resources"}
