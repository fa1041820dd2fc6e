"""The README's promise: the bundled servers.json serves offline, over streamable HTTP and over stdio."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from mcp_gateway.names import MCP
from tests.e2e.gateway_process import REPO_ROOT, Gateway, list_all_tools, result_text, running_gateway

BUNDLED_CONFIG = REPO_ROOT / "servers.json"


@pytest.fixture(scope="module")
def bundled_gateway(e2e_log_dir: Path) -> Iterator[Gateway]:
    # No GITHUB_TOKEN: the bundled config must load without any API key.
    with running_gateway(BUNDLED_CONFIG, e2e_log_dir, env={"GITHUB_TOKEN": ""}) as gateway:
        yield gateway


@pytest.mark.anyio
async def test_bundled_tools_are_listed_like_cursor_would_see_them(bundled_gateway: Gateway) -> None:
    async with bundled_gateway.client() as client:
        names = [tool.name for tool in await list_all_tools(client)]
    assert {"gateway-health", "gateway-list_servers", "gateway-list_tools", "gateway-preview_openapi"} <= set(names)
    assert "github-repos_get" in names and "github-issues_create" in names
    assert all(MCP.is_valid(name) for name in names)
    assert len(names) == len(set(names))


@pytest.mark.anyio
async def test_bundled_management_tools_answer_offline(bundled_gateway: Gateway) -> None:
    async with bundled_gateway.client() as client:
        servers = await client.call_tool("gateway-list_servers", {})
        preview = await client.call_tool(
            "gateway-preview_openapi",
            {"body": json.loads((REPO_ROOT / "specs" / "petstore-swagger2.json").read_text(encoding="utf-8"))},
        )
        yaml_preview = await client.call_tool(
            "gateway-preview_openapi", {"body": (REPO_ROOT / "specs" / "uspto-3.0.yaml").read_text(encoding="utf-8")}
        )
    assert not servers.is_error, result_text(servers)
    listed = {entry["name"]: entry for entry in json.loads(result_text(servers))}
    assert listed["gateway"]["health"] == "healthy"
    assert listed["github"]["health"] == "healthy"
    allowed = json.loads(BUNDLED_CONFIG.read_text(encoding="utf-8"))["mcpServers"]["github"]["allowedTools"]
    assert listed["github"]["tools"] == len(allowed), "every allowedTools entry of the bundled config must exist"
    assert not preview.is_error, result_text(preview)
    assert [tool["name"] for tool in json.loads(result_text(preview))["tools"]] == [
        "listPets",
        "createPets",
        "showPetById",
    ]
    assert not yaml_preview.is_error, result_text(yaml_preview)
    assert json.loads(result_text(yaml_preview))["title"] == "USPTO Data Set API"


@pytest.mark.anyio
async def test_stdio_front_door_serves_the_same_tools(bundled_gateway: Gateway) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_gateway", "--log-level", "warning", "stdio", "--config", str(BUNDLED_CONFIG)],
        cwd=str(REPO_ROOT),
        env={"GITHUB_TOKEN": "", "PATH": "/usr/bin:/bin"},
    )
    async with Client(params) as client:
        stdio_names = [tool.name for tool in await list_all_tools(client)]
        health = await client.call_tool("gateway-health", {})
    async with bundled_gateway.client() as client:
        http_names = [tool.name for tool in await list_all_tools(client)]
    assert stdio_names == http_names
    assert isinstance(health, types.CallToolResult) and not health.is_error
    assert json.loads(result_text(health))["status"] == "ok"
