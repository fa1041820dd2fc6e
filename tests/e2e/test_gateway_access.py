"""Gateway keys against the real gateway: each key sees exactly its servers and tools on /mcp, /mcp/{server} and
REST, hidden tools answer as unknown ones, sessions belong to the key that opened them, and no key leaks.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mcp_types as types
import pytest
from mcp import Client, MCPError, StdioServerParameters

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    REPO_ROOT,
    UPSTREAM_API_SPEC,
    ConnectMode,
    Gateway,
    UpstreamAPI,
    keyed_client,
    list_all_tools,
    result_text,
    running_gateway,
    stdio_server_entry,
    write_config,
)

ADMIN_KEY = "mgw_admin-key-for-tests-0123456789abcdef"
READER_KEY = "mgw_reader-key-for-tests-fedcba9876543210"
TOOLS_ONLY_KEY = "mgw_tools-only-key-for-tests-5555555555"
UPSTREAM_TOKEN = "upstream-bearer-token-never-shown-42"
USER_TOKEN = "users-own-api-token-for-api-only-99"
MAPPED_KEY = "mgw_mapped-key-with-own-credentials-77"
MAPPED_API_TOKEN = "mapped-keys-api-token-from-config-31"
ALL_SECRETS = (ADMIN_KEY, READER_KEY, TOOLS_ONLY_KEY, UPSTREAM_TOKEN, USER_TOKEN, MAPPED_KEY, MAPPED_API_TOKEN)
ERAS: list[ConnectMode] = ["legacy", "2026-07-28"]

pytestmark = pytest.mark.anyio

READER_TOOLS = {"api-getItem", "api-getStatus", "tools-echo"}
"""What the reader key's globs (`get*` on api, `tools/echo`) admit on /mcp."""

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}},
}


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("access-gateway")
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    servers = {
        "api": {
            "openapi": {
                "spec": "upstream_api.yaml",
                "baseUrl": upstream_api.base_url,
                "auth": {"type": "bearer", "token": "${UPSTREAM_TOKEN}"},
            },
            "forwardUserAuthorization": True,
            "allowedTools": ["getItem", "getStatus", "whoAmI", "createOrder"],
        },
        # The same API without forwarding: a caller's credential for "api" must never reach it.
        "other": {"openapi": {"spec": "upstream_api.yaml", "baseUrl": upstream_api.base_url},
                  "allowedTools": ["whoAmI"]},
        "tools": stdio_server_entry(),
        # Prompts and resources, relayed: only keys that may use this server see them.
        "relay": {"command": sys.executable, "args": ["-m", "tests.e2e.relay_upstream"], "cwd": str(REPO_ROOT)},
    }
    access = {
        "keys": {
            "admin": {"key": "${ADMIN_KEY}", "admin": True},
            # The hash form: the config file never holds this key.
            "reader": {"sha256": hashlib.sha256(READER_KEY.encode()).hexdigest(), "servers": ["api", "tools"],
                       "tools": ["api/get*", "tools/echo"]},
            "tools-only": {"key": TOOLS_ONLY_KEY, "servers": ["tools"]},
            # Its own credential for "api", configured on the key; "other" does not forward, so it gets none.
            "mapped": {"key": MAPPED_KEY, "servers": ["api", "other"], "tools": ["*/whoAmI"],
                       "credentials": {"api": "Bearer ${MAPPED_API_TOKEN}", "other": "Bearer ${MAPPED_API_TOKEN}"}},
        }
    }
    config_path = write_config(config_dir, servers, access=access)
    env = {"ADMIN_KEY": ADMIN_KEY, "UPSTREAM_TOKEN": UPSTREAM_TOKEN, "MAPPED_API_TOKEN": MAPPED_API_TOKEN,
           "MCP_GATEWAY_LOG_LEVEL": "debug"}
    with running_gateway(config_path, e2e_log_dir, env=env) as running:
        yield running


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


responses_seen: list[str] = []
"""Every response body the tests received, searched for secrets at the end of the module."""


def get(gateway: Gateway, path: str, key: str | None = None, **params: str) -> httpx.Response:
    response = httpx.get(f"{gateway.base_url}{path}", params=params, headers=bearer(key) if key else {}, timeout=30)
    responses_seen.append(response.text)
    return response


# --- authentication -------------------------------------------------------------------------------------------


# /v1/...: the LLM front door, and any path added later, is covered by default.
@pytest.mark.parametrize(
    "path",
    ["/mcp", "/mcp/tools", "/tools", "/servers", "/openapi.json", "/v1/chat/completions", "/v1/models", "/metrics"],
)
def test_no_key_or_a_wrong_key_is_401_with_a_bearer_challenge(gateway: Gateway, path: str) -> None:
    for headers in ({}, bearer("mgw_not-a-key-of-this-gateway-000000"), {"x-mcp-gateway-key": "wrong"}):
        response = httpx.post(f"{gateway.base_url}{path}", json=INITIALIZE, headers={**MCP_HEADERS, **headers}) \
            if path.startswith("/mcp") else httpx.get(f"{gateway.base_url}{path}", headers=headers)
        responses_seen.append(response.text)
        assert response.status_code == 401, (path, headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "path",
    ["/.well-known/../tools", "/.well-known/%2e%2e/tools", "/health/../tools", "//tools", "/tools/", "/TOOLS",
     "/tools?server=api", "/mcp/", "/mcp/api/", "/mcp//api", "/.well-known/oauth-protected-resource/../../servers"],
)
def test_no_spelling_of_a_path_gets_past_authentication(gateway: Gateway, path: str) -> None:
    # http.client sends the path exactly as written; httpx would normalise the dot segments away.
    host, port = gateway.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": "application/json, text/event-stream"})
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    responses_seen.append(body)
    assert response.status in (401, 404), (path, response.status, body)
    assert "getItem" not in body and "echo" not in body


def test_the_probes_need_no_key(gateway: Gateway) -> None:
    assert get(gateway, "/health").status_code == 200
    assert get(gateway, "/ready").json() == {"ready": True}


def test_metrics_are_for_admins_only(gateway: Gateway) -> None:
    # The numbers name every server and tool: a key limited to some of them must not learn the others.
    assert get(gateway, "/metrics", READER_KEY).status_code == 403
    scraped = get(gateway, "/metrics", ADMIN_KEY)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert 'mcp_gateway_http_requests_total{endpoint="/metrics",status="403"}' in scraped.text


def test_the_key_header_works_like_a_bearer_token(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.base_url}/tools", headers={"x-mcp-gateway-key": READER_KEY})
    assert response.status_code == 200
    assert {tool["name"] for tool in response.json()["tools"]} == READER_TOOLS


# --- visibility over MCP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_each_key_sees_exactly_its_tools(gateway: Gateway, mode: ConnectMode) -> None:
    async with keyed_client(gateway.mcp_url, bearer(READER_KEY), mode) as client:
        assert {tool.name for tool in await list_all_tools(client)} == READER_TOOLS
    async with keyed_client(gateway.mcp_url, bearer(TOOLS_ONLY_KEY), mode) as client:
        names = {tool.name for tool in await list_all_tools(client)}
        assert names and all(name.startswith("tools-") for name in names)
        assert {"tools-echo", "tools-add"} <= names
    async with keyed_client(gateway.mcp_url, bearer(ADMIN_KEY), mode) as client:
        names = {tool.name for tool in await list_all_tools(client)}
        assert READER_TOOLS | {"tools-add", "api-whoAmI", "api-createOrder"} <= names


@pytest.mark.parametrize("mode", ERAS)
async def test_a_listing_kept_for_a_caller_who_sees_everything_is_never_shown_to_a_restricted_one(
    gateway: Gateway, mode: ConnectMode
) -> None:
    # The admin's listings are kept in wire form (server/tool_list_answers.py); the reader's are its own.
    async with keyed_client(gateway.mcp_url, bearer(ADMIN_KEY), mode) as client:
        first = [tool.name for tool in await list_all_tools(client)]
        again = [tool.name for tool in await list_all_tools(client)]
    async with keyed_client(gateway.mcp_url, bearer(READER_KEY), mode) as client:
        assert {tool.name for tool in await list_all_tools(client)} == READER_TOOLS
    assert first == again
    assert set(first) > READER_TOOLS


@pytest.mark.parametrize("mode", ERAS)
async def test_a_hidden_tool_answers_exactly_as_an_unknown_one(gateway: Gateway, mode: ConnectMode) -> None:
    async with keyed_client(gateway.mcp_url, bearer(READER_KEY), mode) as client:
        echoed = await client.call_tool("tools-echo", {"text": "hi"})
        assert result_text(echoed) == "hi"
        errors = {}
        for name in ("tools-add", "tools-no-such-tool"):
            with pytest.raises(MCPError) as caught:
                await client.call_tool(name, {"a": 1, "b": 2})
            errors[name] = (caught.value.code, caught.value.message.replace(name, "NAME"))
        assert errors["tools-add"] == errors["tools-no-such-tool"]
        assert errors["tools-add"][0] == types.INVALID_PARAMS


async def test_a_key_sees_its_tools_on_the_server_endpoint_and_nothing_else(gateway: Gateway) -> None:
    async with keyed_client(gateway.server_url("api"), bearer(READER_KEY)) as client:
        assert {tool.name for tool in await list_all_tools(client)} == {"getItem", "getStatus"}
        with pytest.raises(MCPError):
            await client.call_tool("whoAmI", {})


def test_a_server_the_key_may_not_use_is_403_on_its_endpoint(gateway: Gateway) -> None:
    response = httpx.post(gateway.server_url("api"), json=INITIALIZE, headers={**MCP_HEADERS, **bearer(TOOLS_ONLY_KEY)})
    responses_seen.append(response.text)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_prompts_and_resources_of_a_hidden_server_do_not_exist_for_the_key(gateway: Gateway) -> None:
    async with keyed_client(gateway.mcp_url, bearer(ADMIN_KEY)) as client:
        assert any(prompt.name == "relay-greet" for prompt in (await client.list_prompts()).prompts)
        assert (await client.read_resource("memo://text")).contents
    async with keyed_client(gateway.mcp_url, bearer(READER_KEY)) as client:
        assert (await client.list_prompts()).prompts == []
        with pytest.raises(MCPError):
            await client.get_prompt("relay-greet", {"name": "x"})
        with pytest.raises(MCPError):
            await client.read_resource("memo://text")


# --- sessions --------------------------------------------------------------------------------------------------


def test_a_session_id_presented_by_another_key_is_an_unknown_session(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
        opened = http.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **bearer(READER_KEY)})
        assert opened.status_code == 200
        session = opened.headers["mcp-session-id"]
        list_tools = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        for intruder in (ADMIN_KEY, TOOLS_ONLY_KEY):
            stolen = http.post("/mcp", json=list_tools,
                               headers={**MCP_HEADERS, **bearer(intruder), "mcp-session-id": session,
                                        "mcp-protocol-version": "2025-06-18"})
            unknown = http.post("/mcp", json=list_tools,
                                headers={**MCP_HEADERS, **bearer(intruder), "mcp-session-id": "0" * 32,
                                         "mcp-protocol-version": "2025-06-18"})
            responses_seen.extend([stolen.text, unknown.text])
            assert (stolen.status_code, stolen.json()) == (unknown.status_code, unknown.json())
            assert stolen.status_code == 404
            # Nor can another key end the session.
            ended = http.delete("/mcp", headers={**bearer(intruder), "mcp-session-id": session,
                                                 "mcp-protocol-version": "2025-06-18"})
            assert ended.status_code == 404
        own = http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                        headers={**MCP_HEADERS, **bearer(READER_KEY), "mcp-session-id": session,
                                 "mcp-protocol-version": "2025-06-18"})
        assert own.status_code == 202


# --- the official TypeScript client ---------------------------------------------------------------------------


def test_the_typescript_client_sees_only_the_keys_tools_and_its_session_is_its_own(
    gateway: Gateway, ts_client: Path
) -> None:
    completed = subprocess.run(["node", "client.mjs", gateway.mcp_url, READER_KEY, "tools-add"], cwd=ts_client,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr[-2000:]
    responses_seen.append(completed.stdout)
    report = json.loads(completed.stdout)
    assert set(report["tools"]) == READER_TOOLS
    hidden, unknown = report["hidden"], report["unknown"]
    assert hidden["code"] == unknown["code"] == types.INVALID_PARAMS
    assert hidden["message"].replace("tools-add", "NAME") == unknown["message"].replace("no-such-tool-anywhere", "NAME")
    session = report["sessionId"]
    assert session
    list_tools = {"jsonrpc": "2.0", "id": 9, "method": "tools/list"}
    headers = {**MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
    stolen = httpx.post(gateway.mcp_url, json=list_tools, headers={**headers, **bearer(TOOLS_ONLY_KEY)}, timeout=30)
    assert stolen.status_code == 404
    own = httpx.post(gateway.mcp_url, json=list_tools, headers={**headers, **bearer(READER_KEY)}, timeout=30)
    assert own.status_code == 200


# --- REST ------------------------------------------------------------------------------------------------------


def test_rest_tools_and_provider_exports_show_only_the_keys_tools(gateway: Gateway) -> None:
    assert {tool["name"] for tool in get(gateway, "/tools", READER_KEY).json()["tools"]} == READER_TOOLS
    exported = get(gateway, "/tools", READER_KEY, provider="openai").json()
    assert {definition["function"]["name"] for definition in exported["tools"]} == READER_TOOLS
    assert get(gateway, "/tools", TOOLS_ONLY_KEY, server="api").status_code == 404
    assert get(gateway, "/tools", TOOLS_ONLY_KEY, server="nonexistent").status_code == 404


def test_servers_lists_only_visible_servers_and_details_only_for_admins(gateway: Gateway) -> None:
    listed = get(gateway, "/servers", TOOLS_ONLY_KEY).json()
    assert [entry["name"] for entry in listed] == ["tools"]
    assert "detail" not in listed[0]
    reader = {entry["name"]: entry for entry in get(gateway, "/servers", READER_KEY).json()}
    assert reader["api"]["tools"] == 2
    admin = {entry["name"]: entry for entry in get(gateway, "/servers", ADMIN_KEY).json()}
    assert set(admin) == {"api", "other", "tools", "relay"} and admin["api"]["detail"]


def test_preview_needs_an_admin_key(gateway: Gateway) -> None:
    spec = UPSTREAM_API_SPEC.read_text(encoding="utf-8")
    for key, status in ((READER_KEY, 403), (ADMIN_KEY, 200)):
        response = httpx.post(f"{gateway.base_url}/openapi/preview", content=spec, headers=bearer(key), timeout=30)
        responses_seen.append(response.text)
        assert response.status_code == status, response.text


async def test_upstreams_get_their_own_credentials_and_never_the_callers_key(
    gateway: Gateway, upstream_api: UpstreamAPI
) -> None:
    upstream_api.forget_received()
    async with keyed_client(gateway.mcp_url, bearer(ADMIN_KEY)) as client:
        result = await client.call_tool("api-whoAmI", {"X-Request-Id": "r1"})
    responses_seen.append(result.model_dump_json())
    assert not result.is_error, result_text(result)
    received = [request for request in upstream_api.received_requests() if request["raw_path"] == "/whoami"]
    assert [request["headers"].get("authorization") for request in received] == [f"Bearer {UPSTREAM_TOKEN}"]
    assert ADMIN_KEY not in json.dumps(received)


async def test_a_callers_own_credential_reaches_only_its_server(gateway: Gateway, upstream_api: UpstreamAPI) -> None:
    upstream_api.forget_received()
    headers = {**bearer(ADMIN_KEY), "x-mcp-api-authorization": f"Bearer {USER_TOKEN}"}
    async with keyed_client(gateway.mcp_url, headers) as client:
        for name in ("api-whoAmI", "other-whoAmI"):
            result = await client.call_tool(name, {"X-Request-Id": name})
            responses_seen.append(result.model_dump_json())
            assert not result.is_error, result_text(result)
    received = {request["headers"].get("x-request-id"): request for request in upstream_api.received_requests()}
    assert received["api-whoAmI"]["headers"].get("authorization") == f"Bearer {USER_TOKEN}"
    assert "authorization" not in received["other-whoAmI"]["headers"]
    assert USER_TOKEN not in json.dumps(received["other-whoAmI"])


async def test_a_keys_configured_credential_reaches_only_its_server(
    gateway: Gateway, upstream_api: UpstreamAPI
) -> None:
    upstream_api.forget_received()
    async with keyed_client(gateway.mcp_url, bearer(MAPPED_KEY)) as client:
        assert {tool.name for tool in await list_all_tools(client)} == {"api-whoAmI", "other-whoAmI"}
        for name in ("api-whoAmI", "other-whoAmI"):
            result = await client.call_tool(name, {"X-Request-Id": f"mapped-{name}"})
            responses_seen.append(result.model_dump_json())
            assert not result.is_error, result_text(result)
    received = {request["headers"].get("x-request-id"): request for request in upstream_api.received_requests()}
    assert received["mapped-api-whoAmI"]["headers"].get("authorization") == f"Bearer {MAPPED_API_TOKEN}"
    assert "authorization" not in received["mapped-other-whoAmI"]["headers"]


async def test_stdio_serves_locally_while_its_http_side_needs_a_key(tmp_path: Path) -> None:
    """The bundled management tools call the HTTP side; with keys configured they need one of their own."""
    local_key = "mgw_stdio-side-key-0000000000000000"
    management_spec = REPO_ROOT / "mcp_gateway" / "server" / "management.yaml"
    management = {"spec": str(management_spec), "baseUrl": "${MCP_GATEWAY_URL}"}
    servers = {
        "open": {"openapi": management},
        "keyed": {"openapi": {**management, "auth": {"type": "bearer", "token": local_key}}},
    }
    config = write_config(tmp_path, servers, access={"keys": {"local": {"key": local_key, "admin": True}}})
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_gateway", "--log-level", "warning", "stdio", "--config", str(config)],
        cwd=str(REPO_ROOT),
    )
    async with Client(params) as client:
        names = {tool.name for tool in await list_all_tools(client)}
        assert {"open-list_servers", "keyed-list_servers"} <= names
        refused = await client.call_tool("open-list_servers", {})
        allowed = await client.call_tool("keyed-list_servers", {})
    assert refused.is_error and "401" in result_text(refused)
    assert not allowed.is_error, result_text(allowed)
    assert local_key not in result_text(refused) + result_text(allowed)


# --- no secret anywhere ----------------------------------------------------------------------------------------


def test_zz_no_secret_in_any_log_line_or_response(gateway: Gateway) -> None:
    """Runs last in the module: every key and the upstream token, in every form, in everything captured."""
    log = gateway.log()
    assert "refused" in log  # the 401s above were logged, so the log is not trivially clean
    assert "access: 4 gateway keys (1 admin)" in log
    captured = [log, *responses_seen]
    for secret in ALL_SECRETS:
        forms = {secret, secret.split("_", 1)[-1], json.dumps(secret)}
        for text in captured:
            for form in forms:
                assert form not in text, f"a secret appears in: {text[:200]!r}"
