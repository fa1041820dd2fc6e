"""One registry over every kind of upstream: MCP servers over stdio, streamable HTTP and SSE, filtered by
allowedTools / disallowedTools, next to broken and disabled entries that must not take the others down.

The config is written the way users paste it from Claude Desktop or Cursor, unknown fields included.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, MCPError

from tests.e2e.gateway_process import (
    Gateway,
    McpUpstream,
    free_port,
    list_all_tools,
    result_text,
    running_gateway,
    stdio_server_entry,
    write_config,
)

CHILD_ENV_SECRET = f"child-env-{secrets.token_hex(12)}"
REMOTE_HEADER_SECRET = f"remote-header-{secrets.token_hex(12)}"
MISSING_COMMAND = "/nonexistent/e2e-no-such-command"
KINDS = ("local", "remote", "legacy")
"""One server per upstream transport: stdio, streamable HTTP, SSE."""

# Fields Claude Desktop and Cursor configs carry that the gateway does not use; they must never be fatal.
PASTED_TOP_LEVEL = {"globalShortcut": "Alt+Space", "preferences": {"theme": "dark"}}
PASTED_SERVER_FIELDS: dict[str, Any] = {
    "autoApprove": ["echo"],
    "alwaysAllow": [],
    "description": "pasted from Claude Desktop",
}


@pytest.fixture(scope="module")
def gateway(
    mcp_http_upstream: McpUpstream,
    mcp_sse_upstream: McpUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_log_dir: Path,
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("registry-gateway")
    (config_dir / "broken.yaml").write_text("openapi: 3.0.3\ninfo: [this is, not closed\n", encoding="utf-8")
    servers: dict[str, Any] = {
        "local": stdio_server_entry(env={"E2E_CHILD_SECRET": CHILD_ENV_SECRET}, **PASTED_SERVER_FIELDS),
        "remote": {"url": mcp_http_upstream.url, "headers": {"X-Test-Header": "${E2E_REMOTE_HEADER}"}},
        "legacy": {"url": mcp_sse_upstream.url, "type": "sse"},
        "selfurl": {"url": mcp_http_upstream.url, "headers": {"X-Test-Header": "${MCP_GATEWAY_URL}"}},
        "allowed": {"url": mcp_http_upstream.url, "allowedTools": ["echo", "add"]},
        "denied": {"url": mcp_http_upstream.url, "disallowedTools": ["env_value", "slow"]},
        "nocommand": {"command": MISSING_COMMAND, "args": []},
        "novar": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ${E2E_UNSET_VARIABLE}"}},
        "nospec": {"openapi": {"spec": "missing-spec.yaml", "baseUrl": "http://127.0.0.1:9"}},
        "badspec": {"openapi": {"spec": "broken.yaml", "baseUrl": "http://127.0.0.1:9"}},
        "unreachable": {"url": f"http://127.0.0.1:{free_port()}/mcp"},
        "off": {"command": "e2e-never-started", "disabled": True},
    }
    config_path = write_config(config_dir, servers, **PASTED_TOP_LEVEL)
    env = {"E2E_REMOTE_HEADER": REMOTE_HEADER_SECRET}
    with running_gateway(config_path, e2e_log_dir, env=env) as running:
        yield running


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in await list_all_tools(client)}


async def call_or_error(client: Client, name: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    """(is_error, message) for a call that the gateway may refuse with a result or a JSON-RPC error."""
    try:
        result = await client.call_tool(name, arguments)
    except MCPError as error:
        return True, error.message
    return bool(result.is_error), result_text(result)


@pytest.mark.anyio
async def test_stdio_http_and_sse_upstreams_are_prefixed_and_routed_to_the_right_server(gateway: Gateway) -> None:
    async with gateway.client() as client:
        names = await tool_names(client)
        echoes = {server: await client.call_tool(f"{server}-echo", {"text": f"hi {server}"}) for server in KINDS}
        transports = {server: await client.call_tool(f"{server}-whoami", {}) for server in KINDS}
    assert {"local-echo", "remote-echo", "legacy-echo"} <= names
    for server, result in echoes.items():
        assert not result.is_error and f"hi {server}" in result_text(result)
    served_by = {server: (result.structured_content or {}).get("transport") for server, result in transports.items()}
    assert served_by == {"local": "stdio", "remote": "http", "legacy": "sse"}


@pytest.mark.anyio
async def test_structured_results_and_tool_errors_are_forwarded(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await list_all_tools(client)
        added = await client.call_tool("remote-add", {"a": 40, "b": 2})
        failed = await client.call_tool("local-fail", {"message": "boom-from-upstream"})
    assert not added.is_error and "42" in result_text(added)
    assert failed.is_error
    assert "boom-from-upstream" in result_text(failed)


@pytest.mark.anyio
async def test_a_tool_name_invalid_for_mcp_clients_is_sanitized_and_still_routed(gateway: Gateway) -> None:
    async with gateway.client() as client:
        names = await tool_names(client)
        result = await client.call_tool("local-repo_get", {"owner": "octo", "repo": "gateway"})
    assert "local-repo_get" in names
    assert not any("." in name for name in names)
    assert not result.is_error and "octo/gateway" in result_text(result)


@pytest.mark.anyio
async def test_configured_env_reaches_a_stdio_child_and_headers_reach_an_http_upstream(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await list_all_tools(client)
        env_value = await client.call_tool("local-env_value", {"name": "E2E_CHILD_SECRET"})
        remote = await client.call_tool("remote-whoami", {})
    assert result_text(env_value) == CHILD_ENV_SECRET
    assert remote.structured_content is not None
    assert remote.structured_content["x_test_header"] == REMOTE_HEADER_SECRET


@pytest.mark.anyio
async def test_the_config_can_refer_to_the_gateways_own_url(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await list_all_tools(client)
        result = await client.call_tool("selfurl-whoami", {})
    assert result.structured_content is not None
    assert result.structured_content["x_test_header"] == gateway.base_url


@pytest.mark.anyio
async def test_allowed_tools_limit_what_is_listed_and_what_can_be_called(gateway: Gateway) -> None:
    async with gateway.client("allowed") as client:
        assert await tool_names(client) == {"echo", "add"}
        hidden_refused, message = await call_or_error(client, "env_value", {"name": "PATH"})
        echoed = await client.call_tool("echo", {"text": "allowed"})
    assert hidden_refused, f"a tool outside allowedTools was called: {message}"
    assert not echoed.is_error
    async with gateway.client() as client:
        prefixed = await tool_names(client)
        refused, _ = await call_or_error(client, "allowed-env_value", {"name": "PATH"})
    assert {name for name in prefixed if name.startswith("allowed-")} == {"allowed-echo", "allowed-add"}
    assert refused


@pytest.mark.anyio
async def test_disallowed_tools_are_neither_listed_nor_callable(gateway: Gateway) -> None:
    async with gateway.client() as client:
        names = await tool_names(client)
        refused, message = await call_or_error(client, "denied-env_value", {"name": "PATH"})
        echoed = await client.call_tool("denied-echo", {"text": "still here"})
    assert "denied-echo" in names
    assert "denied-env_value" not in names and "denied-slow" not in names
    assert refused, f"a disallowed tool was called: {message}"
    assert not echoed.is_error


@pytest.mark.parametrize(
    ("server", "also_mentions"),
    [
        ("nocommand", []),
        ("novar", ["E2E_UNSET_VARIABLE", "headers"]),
        ("nospec", ["missing-spec.yaml"]),
        ("badspec", []),
        ("unreachable", []),
    ],
)
def test_a_broken_server_is_unhealthy_with_a_detail_naming_it(
    gateway: Gateway, server: str, also_mentions: list[str]
) -> None:
    status = gateway.server_status(server)
    assert status["health"] == "unhealthy", status
    assert status["tools"] == 0
    assert server in status["detail"], status
    for expected in also_mentions:
        assert expected in status["detail"], status


@pytest.mark.anyio
async def test_broken_servers_leave_the_others_working(gateway: Gateway) -> None:
    async with gateway.client() as client:
        names = await tool_names(client)
        result = await client.call_tool("local-add", {"a": 1, "b": 1})
    assert not result.is_error and "2" in result_text(result)
    broken = ("nocommand", "novar", "nospec", "badspec", "unreachable", "off")
    assert not any(name.startswith(f"{server}-") for server in broken for name in names)


def test_healthy_servers_report_their_kind_and_tool_count(gateway: Gateway) -> None:
    statuses = {entry["name"]: entry for entry in gateway.get_json("/servers")}
    kinds = {name: (statuses[name]["kind"], statuses[name]["health"]) for name in ("local", "remote", "legacy")}
    assert kinds == {"local": ("stdio", "healthy"), "remote": ("http", "healthy"), "legacy": ("sse", "healthy")}
    assert statuses["allowed"]["tools"] == 2
    assert statuses["local"]["tools"] == statuses["remote"]["tools"] == statuses["legacy"]["tools"]
    assert statuses["denied"]["tools"] == statuses["remote"]["tools"] - 2
    broken_kinds = {name: statuses[name]["kind"] for name in ("nospec", "badspec", "nocommand")}
    assert broken_kinds == {"nospec": "openapi", "badspec": "openapi", "nocommand": "stdio"}


def test_a_disabled_server_is_listed_as_disabled_and_never_started(gateway: Gateway) -> None:
    status = gateway.server_status("off")
    assert status["health"] == "disabled"
    assert status["tools"] == 0


def test_a_pasted_claude_desktop_config_with_unknown_fields_loads(gateway: Gateway) -> None:
    pasted = json.loads(gateway.config_path.read_text(encoding="utf-8"))
    assert pasted["globalShortcut"] == PASTED_TOP_LEVEL["globalShortcut"]
    assert pasted["mcpServers"]["local"]["autoApprove"] == ["echo"]
    assert gateway.server_status("local")["health"] == "healthy"


def test_servers_never_shows_env_values_or_header_values(gateway: Gateway) -> None:
    listing = gateway.get("/servers").text
    assert CHILD_ENV_SECRET not in listing
    assert REMOTE_HEADER_SECRET not in listing


@pytest.mark.anyio
async def test_tool_schemas_from_mcp_upstreams_are_passed_through(gateway: Gateway) -> None:
    async with gateway.client("remote") as client:
        tools: dict[str, types.Tool] = {tool.name: tool for tool in await list_all_tools(client)}
    add_schema = tools["add"].input_schema
    assert add_schema["type"] == "object"
    assert set(add_schema["properties"]) == {"a", "b"}
    assert set(add_schema.get("required", [])) == {"a", "b"}
