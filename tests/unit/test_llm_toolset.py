"""Expanding `{"type": "mcp"}` tools: which servers and tools, under which names, needing approval, seen by whom."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_gateway.auth.principal import UNRESTRICTED, Principal
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.toolset import read_tools
from mcp_gateway.registry import Registry, ToolFilter
from tests.unit.test_registry import InMemoryUpstream, make_registry

ORIGINS = {"http://127.0.0.1:8765", "http://localhost:8765"}

pytestmark = pytest.mark.anyio


@pytest.fixture
async def registry() -> Registry:
    built = make_registry(
        (InMemoryUpstream("github", ["repos/get", "issues/create", "search"]), ToolFilter()),
        (InMemoryUpstream("tools", ["echo", "search"]), ToolFilter()),
        (InMemoryUpstream("down", ["x"], fail_start=True), ToolFilter()),
    )
    await built.start()
    return built


def mcp(server_url: str | None, **fields: Any) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "mcp", "server_label": "label", **fields}
    if server_url is not None:
        tool["server_url"] = server_url
    return tool


@pytest.mark.parametrize(
    "url",
    ["mcp_gateway/mcp/github", "/mcp/github", "/mcp/github/", "http://127.0.0.1:8765/mcp/github",
     "http://localhost:8765/mcp/github"],
)
async def test_every_spelling_of_one_server_offers_its_tools_under_their_own_names(
    registry: Registry, url: str
) -> None:
    tools = read_tools([mcp(url, require_approval="never")], registry, UNRESTRICTED, ORIGINS)
    assert list(tools.mcp) == ["repos_get", "issues_create", "search"]
    assert {tool.registered.upstream_name for tool in tools.mcp.values()} == {"repos/get", "issues/create", "search"}
    assert not any(tool.needs_approval for tool in tools.mcp.values())


async def test_the_gateway_url_offers_every_healthy_server_under_prefixed_names(registry: Registry) -> None:
    tools = read_tools([mcp("mcp_gateway/mcp", allowed_tools=["*-search"])], registry, UNRESTRICTED, ORIGINS)
    assert list(tools.mcp) == ["github-search", "tools-search"]


async def test_server_label_names_the_server_when_there_is_no_url(registry: Registry) -> None:
    tools = read_tools([{"type": "mcp", "server_label": "tools"}], registry, UNRESTRICTED, ORIGINS)
    assert list(tools.mcp) == ["echo", "search"]


async def test_approval_defaults_to_always_and_lists_go_either_way(registry: Registry) -> None:
    default = read_tools([mcp("/mcp/tools")], registry, UNRESTRICTED, ORIGINS)
    assert all(tool.needs_approval for tool in default.mcp.values())
    never_listed = read_tools([mcp("/mcp/tools", require_approval={"never": {"tool_names": ["echo"]}})],
                              registry, UNRESTRICTED, ORIGINS)
    assert {name: tool.needs_approval for name, tool in never_listed.mcp.items()} == {"echo": False, "search": True}
    always_listed = read_tools([mcp("/mcp/tools", require_approval={"always": {"tool_names": ["echo"]}})],
                               registry, UNRESTRICTED, ORIGINS)
    assert {name: tool.needs_approval for name, tool in always_listed.mcp.items()} == {"echo": True, "search": False}


async def test_a_principal_sees_only_its_servers_and_tools(registry: Registry) -> None:
    reader = Principal(name="reader", servers=("github",), tools=("repos_*", "github/search"))
    tools = read_tools([mcp("/mcp/github")], registry, reader, ORIGINS)
    assert list(tools.mcp) == ["repos_get", "search"]
    everything = read_tools([mcp("/mcp")], registry, reader, ORIGINS)
    assert list(everything.mcp) == ["github-repos_get", "github-search"]
    with pytest.raises(RequestError) as hidden:
        read_tools([mcp("/mcp/tools")], registry, reader, ORIGINS)
    # A server the caller may not see is unknown to it, and is not listed among the known ones.
    assert hidden.value.status == 400 and "unknown server 'tools'" in hidden.value.message
    assert "tools" not in hidden.value.message.split("serves:")[1]


async def test_a_principal_that_sees_no_tool_of_a_server_gets_a_503(registry: Registry) -> None:
    nobody = Principal(name="nobody", servers=("github",), tools=("nothing",))
    with pytest.raises(RequestError) as raised:
        read_tools([mcp("/mcp/github")], registry, nobody, ORIGINS)
    assert raised.value.status == 503


@pytest.mark.parametrize(
    ("tools", "status", "words"),
    [
        ([mcp("http://evil.example/mcp/github")], 400, "is not this gateway"),
        ([mcp("http://127.0.0.1:9999/mcp/github")], 400, "is not this gateway"),
        ([mcp("/api/github")], 400, "is not an MCP endpoint"),
        ([mcp("/mcp/down")], 503, "server 'down' has no tools to offer (it is unhealthy: down)"),
        ([mcp("/mcp/github", allowed_tools=["nope"])], 400, "'nope' matches no tool"),
        ([mcp("/mcp/tools"), mcp("/mcp/github")], 400, "tool name 'search' of tools[1] is also offered by tools[0]"),
        ([mcp("/mcp/tools"), {"type": "function", "function": {"name": "echo"}}], 400, "'echo'"),
        ([{"type": "function", "function": {}}], 400, "tools[0].function.name is required"),
        ("not a list", 400, "tools must be an array"),
    ],
)
async def test_what_cannot_be_expanded_is_refused_by_name(
    registry: Registry, tools: Any, status: int, words: str
) -> None:
    with pytest.raises(RequestError) as raised:
        read_tools(tools, registry, UNRESTRICTED, ORIGINS)
    assert raised.value.status == status
    assert words in raised.value.message


async def test_function_and_hosted_tools_stay_the_callers(registry: Registry) -> None:
    weather = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
    search = {"type": "web_search"}
    tools = read_tools([mcp("/mcp/tools", allowed_tools=["echo"]), weather, search], registry, UNRESTRICTED, ORIGINS)
    assert [tool.name for tool in tools.offered()] == ["echo", "weather"]
    assert tools.hosted == [search]
