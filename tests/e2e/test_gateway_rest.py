"""The REST front door: health, server status, tool listings (as MCP tools or as provider definitions), the
OpenAPI preview, and the gateway's own OpenAPI document.

That POST /openapi/preview answers exactly what `mcp-gateway preview --json` prints is proven for every spec
in specs/ (uspto-3.0.yaml included) by test_gateway_cli.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mcp_gateway.bridge.targets import NAME_RULES, Provider
from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    REPO_ROOT,
    SPECS_DIR,
    UPSTREAM_API_SPEC,
    Gateway,
    UpstreamAPI,
    definition_names,
    list_all_tools,
    original_names,
    running_gateway,
    write_config,
)

USPTO_SPEC = SPECS_DIR / "uspto-3.0.yaml"
PETSTORE_SPEC = SPECS_DIR / "petstore-swagger2.json"
MANAGEMENT_SPEC = REPO_ROOT / "mcp_gateway" / "server" / "management.yaml"


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("rest-gateway")
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    servers = {
        "api": {"openapi": {"spec": "upstream_api.yaml", "baseUrl": upstream_api.base_url}},
        "uspto": {"openapi": {"spec": str(USPTO_SPEC), "baseUrl": "http://127.0.0.1:9"}},
        # The gateway's management API, described by its own document and called through itself.
        "self": {"openapi": {"spec": str(MANAGEMENT_SPEC), "baseUrl": "${MCP_GATEWAY_URL}"}},
    }
    with running_gateway(write_config(config_dir, servers), e2e_log_dir) as running:
        yield running


@pytest.fixture(scope="module")
def mcp_names(gateway: Gateway) -> set[str]:
    """Every tool name the gateway serves on /mcp: what the REST listings must agree with."""

    async def names() -> set[str]:
        async with gateway.client() as client:
            return {tool.name for tool in await list_all_tools(client)}

    return anyio.run(names)


def test_health_is_ok(gateway: Gateway) -> None:
    assert gateway.get_json("/health")["status"] == "ok"


def test_servers_lists_each_server_with_kind_health_detail_and_tool_count(gateway: Gateway) -> None:
    servers = gateway.get_json("/servers")
    assert [entry["name"] for entry in servers] == ["api", "uspto", "self"]
    for entry in servers:
        assert {"name", "kind", "health", "detail", "tools"} <= set(entry)
        assert entry["kind"] == "openapi"
        assert entry["health"] == "healthy"
        assert isinstance(entry["detail"], str)
        assert isinstance(entry["tools"], int) and entry["tools"] > 0


def test_tools_lists_the_same_tools_as_mcp(gateway: Gateway, mcp_names: set[str]) -> None:
    tools = gateway.get_json("/tools")["tools"]
    assert {tool["name"] for tool in tools} == mcp_names
    assert all(tool["inputSchema"]["type"] == "object" for tool in tools)


def test_tools_filtered_by_server(gateway: Gateway, mcp_names: set[str]) -> None:
    names = {tool["name"] for tool in gateway.get_json("/tools", server="uspto")["tools"]}
    prefixed = {name for name in mcp_names if name.startswith("uspto-")}
    # Under the per-server names, as an MCP client of /mcp/uspto sees them.
    assert prefixed
    assert names == {name.removeprefix("uspto-") for name in prefixed}
    assert gateway.server_status("uspto")["tools"] == len(prefixed)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "cohere"])
def test_tools_as_provider_definitions_have_valid_names_and_a_reversible_name_map(
    gateway: Gateway, mcp_names: set[str], provider: Provider
) -> None:
    listing = gateway.get_json("/tools", provider=provider)
    names = definition_names(listing["tools"])
    rule = NAME_RULES[provider]
    assert all(rule.is_valid(name) for name in names), [name for name in names if not rule.is_valid(name)]
    assert len(names) == len(set(names)) == len(mcp_names)
    assert set(original_names(listing["name_map"], names)) == mcp_names
    if provider in ("openai", "gemini", "cohere"):
        # The echo API's 99-character tool name is too long for these (and Cohere rejects every `-`).
        assert set(names) != mcp_names, "some names must have been rewritten"


def test_preview_describes_each_tool_and_matches_registration(gateway: Gateway, mcp_names: set[str]) -> None:
    preview = httpx.post(f"{gateway.base_url}/openapi/preview", content=USPTO_SPEC.read_bytes()).json()
    assert preview["title"]
    assert preview["skipped"] == []
    for tool in preview["tools"]:
        assert {"name", "method", "path", "operationId", "parameters"} <= set(tool)
        assert tool["path"].startswith("/")
    assert {f"uspto-{tool['name']}" for tool in preview["tools"]} == {n for n in mcp_names if n.startswith("uspto-")}


def test_preview_accepts_a_json_spec_and_reports_a_bad_one(gateway: Gateway) -> None:
    petstore = httpx.post(f"{gateway.base_url}/openapi/preview", content=PETSTORE_SPEC.read_bytes())
    garbage = httpx.post(f"{gateway.base_url}/openapi/preview", content=b"{ this is neither JSON nor an OpenAPI doc")
    assert petstore.status_code == 200
    assert len(petstore.json()["tools"]) > 0
    assert 400 <= garbage.status_code < 500


def test_the_gateways_own_openapi_document_describes_its_endpoints(gateway: Gateway) -> None:
    document = gateway.get_json("/openapi.json")
    assert str(document["openapi"]).startswith("3.")
    assert {"/health", "/servers", "/tools", "/openapi/preview"} <= set(document["paths"])


@pytest.mark.anyio
async def test_the_management_api_is_itself_a_server_of_tools(gateway: Gateway) -> None:
    async with gateway.client("self") as client:
        tools = await list_all_tools(client)
        [health_tool] = [tool.name for tool in tools if "health" in tool.name.lower()]
        result = await client.call_tool(health_tool, {})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["status"] == "ok"
