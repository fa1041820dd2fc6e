"""The MCP front door: both protocol eras, stateful and stateless, one endpoint per server, pagination, and
the HTTP-level protections (no redirects, DNS-rebinding checks, JSON-RPC errors for malformed requests).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import mcp_types as types
import pytest
from mcp import Client, MCPError

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    ConnectMode,
    Gateway,
    UpstreamAPI,
    list_all_tools,
    result_text,
    running_gateway,
    stdio_server_entry,
    write_config,
)

MANY_TOOLS = 600
"""More than one tools/list page holds (mcp_gateway.tool_pages.TOOLS_PER_PAGE)."""
MODERN_ERA: Final = "2026-07-28"
ERAS: list[ConnectMode] = ["legacy", MODERN_ERA]

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _servers(upstream_api: UpstreamAPI) -> dict[str, Any]:
    return {
        "api": {"openapi": {"spec": "upstream_api.yaml", "baseUrl": upstream_api.base_url}},
        "many": stdio_server_entry(tools=MANY_TOOLS),
    }


@pytest.fixture(scope="module")
def config_path(upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config_dir = tmp_path_factory.mktemp("protocol-gateway")
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    return write_config(config_dir, _servers(upstream_api))


@pytest.fixture(scope="module")
def gateway(config_path: Path, e2e_log_dir: Path) -> Iterator[Gateway]:
    with running_gateway(config_path, e2e_log_dir) as running:
        yield running


@pytest.fixture(scope="module")
def stateless_gateway(config_path: Path, e2e_log_dir: Path) -> Iterator[Gateway]:
    with running_gateway(config_path, e2e_log_dir, extra_args=["--stateless"]) as running:
        yield running


def post_mcp(url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    """A raw POST, as a browser or a misbehaving client would send it; redirects are never followed."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url, content=content, headers={**MCP_HEADERS, **(headers or {})}, follow_redirects=False)


def jsonrpc_messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a response, whether it came as plain JSON or as a server-sent event stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line.removeprefix("data:").strip() for line in response.text.splitlines() if line.startswith("data:")]
        return [json.loads(item) for item in data if item]
    return [response.json()]


@pytest.mark.anyio
@pytest.mark.parametrize("gateway_fixture", ["gateway", "stateless_gateway"])
@pytest.mark.parametrize("mode", ERAS)
async def test_both_protocol_eras_list_and_call_tools_stateful_and_stateless(
    request: pytest.FixtureRequest, gateway_fixture: str, mode: ConnectMode
) -> None:
    running: Gateway = request.getfixturevalue(gateway_fixture)
    async with running.client(mode=mode) as client:
        if mode == MODERN_ERA:
            assert client.protocol_version == MODERN_ERA
        else:
            assert client.protocol_version < MODERN_ERA
        names = {tool.name for tool in await list_all_tools(client)}
        added = await client.call_tool("many-add", {"a": 2, "b": 3})
        fetched = await client.call_tool("api-getItem", {"item_id": "7"})
    assert {"many-echo", "many-add", "api-getItem"} <= names
    assert not added.is_error and "5" in result_text(added)
    assert not fetched.is_error and fetched.structured_content is not None
    assert fetched.structured_content["raw_path"] == "/items/7"


@pytest.mark.parametrize("path", ["/mcp", "/mcp/"])
def test_mcp_answers_with_and_without_a_trailing_slash_without_redirecting(gateway: Gateway, path: str) -> None:
    response = post_mcp(f"{gateway.base_url}{path}", INITIALIZE)
    assert response.status_code == 200, response.text[:500]
    [message] = jsonrpc_messages(response)
    assert message["id"] == 1
    assert "protocolVersion" in message["result"]


@pytest.mark.anyio
async def test_a_server_endpoint_lists_only_that_servers_tools_under_their_own_names(gateway: Gateway) -> None:
    async with gateway.client() as everything:
        prefixed = {tool.name for tool in await list_all_tools(everything)}
    async with gateway.client("many") as many:
        own = {tool.name for tool in await list_all_tools(many)}
        added = await many.call_tool("add", {"a": 20, "b": 22})
    async with gateway.client("api") as api:
        api_names = {tool.name for tool in await list_all_tools(api)}
        fetched = await api.call_tool("getItem", {"item_id": "per-server"})
    assert {"echo", "add", "t0", f"t{MANY_TOOLS - 1}"} <= own
    assert {f"many-{name}" for name in own} == {name for name in prefixed if name.startswith("many-")}
    assert {f"api-{name}" for name in api_names} == {name for name in prefixed if name.startswith("api-")}
    assert not added.is_error and "42" in result_text(added)
    assert fetched.structured_content is not None
    assert fetched.structured_content["raw_path"] == "/items/per-server"


def test_an_unknown_server_endpoint_is_not_found(gateway: Gateway) -> None:
    assert post_mcp(gateway.server_url("nope"), INITIALIZE).status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_tools_list_paginates_and_following_cursors_yields_every_tool_once(
    gateway: Gateway, mode: ConnectMode
) -> None:
    async with gateway.client(mode=mode) as client:
        first_page = await client.list_tools()
        every_page = [tool.name for tool in await list_all_tools(client)]
    async with gateway.client("many") as many, gateway.client("api") as api:
        expected_count = len(await list_all_tools(many)) + len(await list_all_tools(api))
    assert first_page.next_cursor is not None, f"{MANY_TOOLS} tools should not fit on one page"
    assert len(first_page.tools) < expected_count
    assert len(every_page) == len(set(every_page)) == expected_count
    assert {f"many-t{index}" for index in range(MANY_TOOLS)} <= set(every_page)


@pytest.mark.parametrize(
    "headers", [{"Host": "evil.example"}, {"Origin": "http://evil.example"}], ids=["host", "origin"]
)
def test_dns_rebinding_requests_are_rejected(gateway: Gateway, headers: dict[str, str]) -> None:
    response = post_mcp(gateway.mcp_url, INITIALIZE, headers)
    assert 400 <= response.status_code < 500, response.status_code


def test_requests_from_the_gateways_own_origin_are_accepted(gateway: Gateway) -> None:
    response = post_mcp(gateway.mcp_url, INITIALIZE, {"Origin": gateway.base_url})
    assert response.status_code == 200, response.text[:500]


PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


@pytest.mark.parametrize("era_header", [{}, {"MCP-Protocol-Version": MODERN_ERA}], ids=["legacy", "modern"])
@pytest.mark.parametrize(
    ("body", "expected_codes"),
    [
        (b"{this is not json", {PARSE_ERROR}),
        # The SDK's handshake-era transport reports an envelope that fails validation as invalid params.
        (b'{"jsonrpc": "2.0", "id": 5}', {INVALID_REQUEST, INVALID_PARAMS}),
    ],
    ids=["invalid-json", "missing-method"],
)
def test_malformed_json_rpc_gets_a_json_rpc_error(
    gateway: Gateway, era_header: dict[str, str], body: bytes, expected_codes: set[int]
) -> None:
    response = post_mcp(gateway.mcp_url, body, era_header)
    assert response.status_code < 500
    [message] = jsonrpc_messages(response)
    assert message["jsonrpc"] == "2.0"
    assert message["error"]["code"] in expected_codes, message


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_calling_an_unknown_tool_is_an_error(gateway: Gateway, mode: ConnectMode) -> None:
    async with gateway.client(mode=mode) as client:
        await list_all_tools(client)
        try:
            result: types.CallToolResult | None = await client.call_tool("many-no_such_tool", {})
        except MCPError as error:
            assert "no_such_tool" in error.message
            result = None
    if result is not None:
        assert result.is_error
        assert "no_such_tool" in result_text(result)


def _handshake_call(url: str, tool: str, arguments: dict[str, Any]) -> httpx.Response:
    """A handshake-era session on `url` (initialize, initialized), then one tools/call, as raw HTTP."""
    opened = post_mcp(url, INITIALIZE)
    assert opened.status_code == 200, opened.text[:500]
    session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    initialized = post_mcp(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    assert initialized.status_code == 202, initialized.text[:500]
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    return post_mcp(url, call, session)


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_an_openapi_endpoint_answers_plain_json_and_an_mcp_endpoint_can_stream(gateway: Gateway, era: str) -> None:
    # An OpenAPI server has nothing to stream while a call runs (no progress, logs or upstream requests), so its
    # answers skip the event stream; an MCP upstream's endpoint keeps it, for what the upstream sends meanwhile.
    if era == "legacy":
        openapi = _handshake_call(gateway.server_url("api"), "getItem", {"item_id": "json"})
        relayed = _handshake_call(gateway.server_url("many"), "echo", {"text": "streamed"})
        assert relayed.headers["content-type"].startswith("text/event-stream")
        assert "streamed" in json.dumps(jsonrpc_messages(relayed)[-1]["result"])
    else:
        meta = {"io.modelcontextprotocol/protocolVersion": MODERN_ERA, "io.modelcontextprotocol/clientCapabilities": {}}
        call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "getItem", "arguments": {"item_id": "json"}, "_meta": meta}}
        headers = {"mcp-protocol-version": MODERN_ERA, "mcp-method": "tools/call", "mcp-name": "getItem"}
        openapi = post_mcp(gateway.server_url("api"), call, headers)
    assert openapi.status_code == 200, openapi.text[:500]
    assert openapi.headers["content-type"].startswith("application/json")
    assert "/items/json" in json.dumps(openapi.json()["result"])


@pytest.mark.parametrize("path", ["/mcp", "/mcp/api"], ids=["event-stream", "plain-json"])
def test_a_sessions_repeated_listing_is_the_same_as_its_first(gateway: Gateway, path: str) -> None:
    # The first listing is the SDK's; the repeated one is answered from prepared bytes (server/tool_list_wire.py).
    url = gateway.base_url + path
    opened = post_mcp(url, INITIALIZE)
    session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    assert post_mcp(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session).status_code == 202
    answers = [post_mcp(url, {"jsonrpc": "2.0", "id": index, "method": "tools/list"}, session) for index in (1, 2)]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].headers["content-type"] == answers[1].headers["content-type"]
    assert answers[1].headers["mcp-session-id"] == session["mcp-session-id"]
    first, again = (jsonrpc_messages(answer)[-1] for answer in answers)
    assert (first["id"], again["id"]) == (1, 2)
    assert first["result"] == again["result"] and first["result"]["tools"]


@pytest.mark.anyio
@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
@pytest.mark.parametrize("server", [None, "api"], ids=["/mcp", "/mcp/api"])
async def test_a_modern_clients_repeated_listing_is_the_same_as_its_first(
    gateway: Gateway, stateless_gateway: Gateway, stateless: bool, server: str | None
) -> None:
    # The first listing is the SDK's; the repeated ones are answered from prepared bytes
    # (server/modern_tool_list.py). The official client, pinned to the modern era, must not tell them apart.
    running = stateless_gateway if stateless else gateway
    url = running.server_url(server) if server is not None else running.mcp_url
    listings: list[list[dict[str, Any]]] = []
    for _ in range(3):
        async with Client(url, mode=MODERN_ERA, cache=None) as client:
            listings.append([tool.model_dump(mode="json", by_alias=True, exclude_none=True)
                             for tool in await list_all_tools(client)])
    assert listings[0] and listings[0] == listings[1] == listings[2]
    if server is None:
        assert len(listings[0]) > MANY_TOOLS  # more than one page, each cursor followed
    raw = [post_mcp(url, {"jsonrpc": "2.0", "id": index, "method": "tools/list", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN_ERA, "io.modelcontextprotocol/clientCapabilities": {}}}},
        {"mcp-protocol-version": MODERN_ERA, "mcp-method": "tools/list"}) for index in ("a", "b")]
    assert [answer.status_code for answer in raw] == [200, 200]
    assert [answer.json()["id"] for answer in raw] == ["a", "b"]
    assert raw[0].json()["result"] == raw[1].json()["result"]
