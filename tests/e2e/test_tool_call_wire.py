"""Modern-era tool calls answered before the SDK's transport (server/tool_call_wire.py), seen by the official
client pinned to the modern era: the same results as the handshake era (which the SDK answers) on `/mcp` and
`/mcp/{server}`, for an OpenAPI server and an MCP upstream; the SDK's own errors and progress where asked for."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import mcp_types as types
import pytest
from mcp import MCPError

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    ConnectMode,
    Gateway,
    UpstreamAPI,
    running_gateway,
    stdio_server_entry,
    write_config,
)

pytestmark = pytest.mark.anyio

MODERN_ERA: Final = "2026-07-28"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("getItem", {"item_id": "7"}),
    ("getItem", {}),
    ("getStatus", {"code": 500}),
    ("searchItems", {"tags": ["wörld", "b"], "ids": [1, 2]}),
]
CALL_IDS = ["result", "invalid-arguments", "upstream-error", "query"]


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("tool-call-wire")
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    servers = {
        "api": {"openapi": {"spec": "upstream_api.yaml", "baseUrl": upstream_api.base_url}},
        "tools": stdio_server_entry(),
    }
    with running_gateway(write_config(config_dir, servers), e2e_log_dir) as running:
        yield running


def _comparable(result: types.CallToolResult) -> str:
    # What a result says, without the era's envelope (`resultType` and the server-info stamp are modern-only) and
    # the request id the gateway gives each upstream request.
    dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    said = json.dumps({key: dumped[key] for key in ("content", "structuredContent", "isError") if key in dumped})
    return re.sub(r'x-request-id\\*": *\\*"[0-9a-f]+', "x-request-id", said)


async def _call(gateway: Gateway, server: str | None, mode: ConnectMode, name: str,
                arguments: dict[str, Any]) -> types.CallToolResult:
    async with gateway.client(server, mode=mode) as client:
        if mode == MODERN_ERA:
            assert client.protocol_version == MODERN_ERA
        return await client.call_tool(name, arguments)


@pytest.mark.parametrize("server", [None, "api"], ids=["gateway-endpoint", "server-endpoint"])
@pytest.mark.parametrize(("name", "arguments"), CALLS, ids=CALL_IDS)
async def test_a_modern_era_openapi_call_says_what_the_handshake_era_says(
    gateway: Gateway, server: str | None, name: str, arguments: dict[str, Any]
) -> None:
    tool = name if server is not None else f"api-{name}"
    modern = await _call(gateway, server, MODERN_ERA, tool, arguments)
    legacy = await _call(gateway, server, "legacy", tool, arguments)
    assert _comparable(modern) == _comparable(legacy)
    assert modern.is_error == (name == "getStatus" or not arguments)


@pytest.mark.parametrize("server", [None, "api"], ids=["gateway-endpoint", "server-endpoint"])
async def test_an_unknown_tool_is_the_sdks_error(gateway: Gateway, server: str | None) -> None:
    errors: list[MCPError] = []
    try:
        await _call(gateway, server, MODERN_ERA, "nope", {})
    except* MCPError as raised:
        errors.extend(_leaves(raised))
    said = [(error.error.code, error.error.message) for error in errors]
    assert said == [(types.INVALID_PARAMS, "Unknown tool: nope")]


def _leaves(group: BaseExceptionGroup[MCPError]) -> list[MCPError]:
    found: list[MCPError] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found


@pytest.mark.parametrize("server", [None, "tools"], ids=["gateway-endpoint", "server-endpoint"])
@pytest.mark.parametrize(("name", "arguments"), [("add", {"a": 2, "b": 3}), ("fail", {"message": "no luck"}),
                                                 ("add", {"a": "two"})], ids=["result", "is-error", "invalid"])
async def test_a_modern_era_mcp_upstream_call_says_what_the_handshake_era_says(
    gateway: Gateway, server: str | None, name: str, arguments: dict[str, Any]
) -> None:
    tool = name if server is not None else f"tools-{name}"
    modern = await _call(gateway, server, MODERN_ERA, tool, arguments)
    legacy = await _call(gateway, server, "legacy", tool, arguments)
    assert _comparable(modern) == _comparable(legacy)
    assert modern.is_error == (name == "fail" or arguments == {"a": "two"})


async def test_a_call_asking_for_progress_is_answered_by_the_sdk_all_the_same(gateway: Gateway) -> None:
    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        return None

    async with gateway.client("api", mode=MODERN_ERA) as client:
        fetched = await client.call_tool("getItem", {"item_id": "9"}, progress_callback=on_progress)
    assert fetched.structured_content is not None
    assert fetched.structured_content["raw_path"] == "/items/9"


def test_a_refused_origin_is_refused_before_any_call(gateway: Gateway, upstream_api: UpstreamAPI) -> None:
    upstream_api.forget_received()
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN_ERA, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "getItem", "arguments": {"item_id": "evil"}, "_meta": meta}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": MODERN_ERA, "Mcp-Method": "tools/call", "Mcp-Name": "getItem",
               "Origin": "http://evil.example"}
    refused = httpx.post(gateway.server_url("api"), content=json.dumps(body).encode(), headers=headers)
    assert refused.status_code == 403
    assert not [request for request in upstream_api.received_requests() if request["raw_path"] == "/items/evil"]
