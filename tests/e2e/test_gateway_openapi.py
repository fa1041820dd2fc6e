"""OpenAPI operations become MCP tools, and calling a tool sends exactly the HTTP request the spec describes.

The upstream is the echo API (tests/e2e/upstream_api.py), so every assertion is about what the upstream
RECEIVED, not what the gateway believes it sent. Several servers share the one spec and differ only in how the
gateway reaches them: outbound auth, a closed port, a short timeout.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from mcp_gateway import names
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    Gateway,
    UpstreamAPI,
    free_port,
    list_all_tools,
    result_text,
    running_gateway,
    write_config,
)
from tests.e2e.upstream_api import LONG_BODY_LENGTH, LONG_BODY_MARKER, PNG_BYTES

BEARER_TOKEN = f"bearer-{secrets.token_hex(12)}"
QUERY_KEY = f"querykey-{secrets.token_hex(12)}"
HEADER_KEY = f"headerkey-{secrets.token_hex(12)}"
COOKIE_KEY = f"cookiekey-{secrets.token_hex(12)}"
BASIC_PASSWORD = f"password-{secrets.token_hex(12)}"
STATIC_HEADER_VALUE = f"static-{secrets.token_hex(12)}"
CREDENTIALS = (BEARER_TOKEN, QUERY_KEY, HEADER_KEY, COOKIE_KEY, BASIC_PASSWORD)
SECRETS = (*CREDENTIALS, STATIC_HEADER_VALUE)

SPEC_OPERATION_COUNT = 15


def _spec_server(base_url: str, **openapi: Any) -> dict[str, Any]:
    # The relative spec path also proves that it is resolved against the config file's directory.
    return {"openapi": {"spec": "upstream_api.yaml", "baseUrl": base_url, **openapi}}


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("openapi-gateway")
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    url = upstream_api.base_url
    servers = {
        "api": _spec_server(
            url, auth={"type": "bearer", "token": "${E2E_BEARER_TOKEN}"}, headers={"X-Static": "${E2E_STATIC_HEADER}"}
        ),
        "keyed": _spec_server(
            url, auth={"type": "apiKey", "in": "query", "name": "api_key", "value": "${E2E_QUERY_KEY}"}
        ),
        "headerkey": _spec_server(
            url, auth={"type": "apiKey", "in": "header", "name": "X-Api-Key", "value": "${E2E_HEADER_KEY}"}
        ),
        "cookiekey": _spec_server(
            url, auth={"type": "apiKey", "in": "cookie", "name": "auth_token", "value": "${E2E_COOKIE_KEY}"}
        ),
        "basic": _spec_server(url, auth={"type": "basic", "username": "ada", "password": "${E2E_BASIC_PASSWORD}"}),
        # Nothing listens on this port; the query key must not leak through the connection error either.
        "dead": _spec_server(
            f"http://127.0.0.1:{free_port()}",
            auth={"type": "apiKey", "in": "query", "name": "api_key", "value": "${E2E_QUERY_KEY}"},
        ),
        "impatient": _spec_server(url, timeout=1),
    }
    env = {
        "E2E_BEARER_TOKEN": BEARER_TOKEN,
        "E2E_QUERY_KEY": QUERY_KEY,
        "E2E_HEADER_KEY": HEADER_KEY,
        "E2E_COOKIE_KEY": COOKIE_KEY,
        "E2E_BASIC_PASSWORD": BASIC_PASSWORD,
        "E2E_STATIC_HEADER": STATIC_HEADER_VALUE,
    }
    with running_gateway(write_config(config_dir, servers), e2e_log_dir, env=env) as running:
        yield running


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _argument_key(properties: dict[str, Any], wire_name: str) -> str | None:
    """The input-schema key for a wire parameter; the gateway may rename names like `$select`."""
    if wire_name in properties:
        return wire_name
    matches = [key for key in properties if _normalized(key) == _normalized(wire_name)]
    return matches[0] if len(matches) == 1 else None


def _body_container(properties: dict[str, Any], wire_name: str) -> str | None:
    """The argument holding the whole request body, when the gateway does not flatten it into arguments."""
    for key, schema in properties.items():
        if isinstance(schema, dict) and wire_name in schema.get("properties", {}):
            return key
    return None


def arguments_for(tool: types.Tool, wire_values: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments that should put each value on the wire under its name from the spec."""
    properties: dict[str, Any] = tool.input_schema.get("properties", {})
    arguments: dict[str, Any] = {}
    for wire_name, value in wire_values.items():
        key = _argument_key(properties, wire_name)
        if key is not None:
            arguments[key] = value
            continue
        container = _body_container(properties, wire_name)
        assert container is not None, f"{tool.name}: no argument for {wire_name!r} in {sorted(properties)}"
        arguments.setdefault(container, {})[wire_name] = value
    return arguments


@dataclass
class Session:
    client: Client
    tools: dict[str, types.Tool]

    async def call(self, tool_name: str, wire_values: dict[str, Any] | None = None) -> types.CallToolResult:
        assert tool_name in self.tools, f"{tool_name} is not listed; tools: {sorted(self.tools)[:40]}"
        return await self.client.call_tool(tool_name, arguments_for(self.tools[tool_name], wire_values or {}))

    async def received(self, tool_name: str, wire_values: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool that must succeed and return what the echo API says it received."""
        result = await self.call(tool_name, wire_values)
        assert not result.is_error, f"{tool_name} failed: {result_text(result)[:1000]}"
        assert isinstance(result.structured_content, dict), f"{tool_name}: no structured content"
        return result.structured_content


@asynccontextmanager
async def session(gateway: Gateway) -> AsyncIterator[Session]:
    async with gateway.client() as client:
        yield Session(client, {tool.name: tool for tool in await list_all_tools(client)})


def query_pairs(received: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, value) for key, value in received["query"]]


@pytest.mark.anyio
async def test_every_operation_is_a_tool_prefixed_with_its_server_name(gateway: Gateway) -> None:
    async with session(gateway) as api:
        api_tools = {name for name in api.tools if name.startswith("api-")}
    no_operation_id = names.sanitize("post_/reports/{report_id}/archive", names.MCP)
    expected = {
        "api-getItem",
        "api-getFile",
        "api-searchItems",
        "api-whoAmI",
        "api-createOrder",
        "api-submitContactForm",
        "api-uploadDocument",
        f"api-{no_operation_id}",
        "api-teams_list-members",
        "api-getStatus",
        "api-getLongError",
        "api-getImage",
        "api-deleteEverything",
        "api-slowEcho",
        "api-getTheVeryLongNamedQuarterlyReportSummaryForTheGivenFiscalQuarterAndRegionIncludingSubsidiaries",
    }
    assert len(expected) == SPEC_OPERATION_COUNT
    assert api_tools == expected


@pytest.mark.anyio
async def test_a_successful_json_response_is_text_plus_structured_content(gateway: Gateway) -> None:
    async with session(gateway) as api:
        result = await api.call("api-getItem", {"item_id": "42"})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["raw_path"] == "/items/42"
    assert '"raw_path"' in result_text(result)


@pytest.mark.anyio
async def test_path_and_query_parameters_reach_the_upstream(gateway: Gateway) -> None:
    async with session(gateway) as api:
        received = await api.received("api-getItem", {"item_id": "42", "limit": 5, "verbose": True, "q": "a b&c"})
    assert received["method"] == "GET"
    assert received["raw_path"] == "/items/42"
    assert sorted(query_pairs(received)) == [("limit", "5"), ("q", "a b&c"), ("verbose", "true")]


@pytest.mark.anyio
async def test_falsy_values_are_sent_not_dropped(gateway: Gateway) -> None:
    async with session(gateway) as api:
        received = await api.received("api-getItem", {"item_id": "0", "limit": 0, "verbose": False, "q": ""})
    assert received["raw_path"] == "/items/0"
    assert sorted(query_pairs(received)) == [("limit", "0"), ("q", ""), ("verbose", "false")]


@pytest.mark.anyio
async def test_array_object_and_odata_style_query_parameters_follow_style_and_explode(gateway: Gateway) -> None:
    async with session(gateway) as api:
        received = await api.received(
            "api-searchItems",
            {
                "tags": ["red", "blue"],  # form, explode: true -> repeated
                "ids": [1, 2, 3],  # form, explode: false -> comma-separated
                "filter": {"status": "open", "min_price": 0},  # deepObject
                "$select": "name,id",
                "$top": 0,
            },
        )
    assert sorted(query_pairs(received)) == sorted(
        [
            ("tags", "red"),
            ("tags", "blue"),
            ("ids", "1,2,3"),
            ("filter[status]", "open"),
            ("filter[min_price]", "0"),
            ("$select", "name,id"),
            ("$top", "0"),
        ]
    )


@pytest.mark.anyio
async def test_header_and_cookie_parameters_are_sent(gateway: Gateway) -> None:
    async with session(gateway) as api:
        received = await api.received(
            "api-whoAmI", {"X-Request-Id": "req-7", "X-Dry-Run": False, "session_id": "s-1", "theme": "dark"}
        )
    assert received["headers"]["x-request-id"] == "req-7"
    assert received["headers"]["x-dry-run"] == "false"
    assert received["cookies"] == {"session_id": "s-1", "theme": "dark"}
    assert received["headers"]["x-static"] == STATIC_HEADER_VALUE


@pytest.mark.anyio
async def test_json_body_keeps_nested_objects_arrays_enums_and_falsy_values(gateway: Gateway) -> None:
    order = {
        "customer": {"name": "Ada", "address": {"street": "1 Loop Rd", "city": "Zürich"}},
        "items": [{"sku": "A-1", "quantity": 0}, {"sku": "B-2", "quantity": 3}],
        "priority": "high",
        "gift": False,
        "note": "",
    }
    async with session(gateway) as api:
        received = await api.received("api-createOrder", order)
    assert received["method"] == "POST"
    assert received["content_type"].startswith("application/json")
    assert received["json"] == order
    assert received["query"] == []


@pytest.mark.anyio
async def test_same_name_in_query_and_body_are_separate_arguments_and_both_sent(gateway: Gateway) -> None:
    async with session(gateway) as api:
        tool = api.tools["api-createOrder"]
        properties: dict[str, Any] = tool.input_schema["properties"]
        arguments = arguments_for(tool, {"customer": {"name": "Ada"}, "items": []})
        source_keys = [key for key in properties if "source" in key.lower()]
        container = _body_container(properties, "source")
        if container is None:
            # Flattened body: the two locations must have two distinct arguments.
            assert len(source_keys) == 2, f"expected two distinct 'source' arguments, got {source_keys}"
            arguments[source_keys[0]], arguments[source_keys[1]] = "first", "second"
        else:
            assert len(source_keys) == 1, f"expected one top-level 'source' argument, got {source_keys}"
            arguments[source_keys[0]] = "first"
            arguments[container]["source"] = "second"
        result = await api.client.call_tool("api-createOrder", arguments)
    assert not result.is_error, result_text(result)
    received = result.structured_content
    assert received is not None
    query_sources = [value for key, value in received["query"] if key == "source"]
    assert len(query_sources) == 1
    assert {query_sources[0], received["json"]["source"]} == {"first", "second"}


@pytest.mark.anyio
async def test_form_encoded_body(gateway: Gateway) -> None:
    async with session(gateway) as api:
        received = await api.received(
            "api-submitContactForm", {"name": "Ada", "age": 0, "subscribe": False, "topics": ["x", "y"]}
        )
    assert received["content_type"].startswith("application/x-www-form-urlencoded")
    assert sorted(map(tuple, received["form"])) == [
        ("age", "0"),
        ("name", "Ada"),
        ("subscribe", "false"),
        ("topics", "x"),
        ("topics", "y"),
    ]


@pytest.mark.anyio
async def test_multipart_body(gateway: Gateway) -> None:
    async with session(gateway) as api:
        received = await api.received("api-uploadDocument", {"title": "Report", "pages": 0, "draft": False})
    assert received["content_type"].startswith("multipart/form-data")
    assert sorted(map(tuple, received["form"])) == [("draft", "false"), ("pages", "0"), ("title", "Report")]


@pytest.mark.anyio
async def test_operation_without_operation_id_and_operation_id_with_a_slash_are_callable(gateway: Gateway) -> None:
    archive = "api-" + names.sanitize("post_/reports/{report_id}/archive", names.MCP)
    async with session(gateway) as api:
        archived = await api.received(archive, {"report_id": "r-1"})
        members = await api.received("api-teams_list-members", {"team": "core"})
    assert (archived["method"], archived["raw_path"]) == ("POST", "/reports/r-1/archive")
    assert (members["method"], members["raw_path"]) == ("GET", "/teams/core/members")


@pytest.mark.anyio
async def test_a_path_value_with_a_slash_stays_inside_its_segment(gateway: Gateway) -> None:
    async with session(gateway) as api:
        received = await api.received("api-getFile", {"file_name": "a/b c"})
    assert received["raw_path"] == "/files/a%2Fb%20c"
    assert received["path"] == "/files/a/b c"


@pytest.mark.anyio
@pytest.mark.parametrize("file_name", ["..", "../admin", "."])
async def test_a_dot_segment_path_value_never_reaches_another_path(
    gateway: Gateway, upstream_api: UpstreamAPI, file_name: str
) -> None:
    upstream_api.forget_received()
    async with session(gateway) as api:
        result = await api.call("api-getFile", {"file_name": file_name})
    reached = upstream_api.received_paths()
    if file_name == "..":
        assert result.is_error, f"'..' must be rejected, upstream received {reached}"
    for raw_path in reached:
        segment = raw_path.removeprefix("/files/")
        assert raw_path.startswith("/files/") and segment not in ("", ".", ".."), f"escaped: {raw_path}"
        assert "/" not in segment, f"escaped its segment: {raw_path}"


@pytest.mark.anyio
async def test_http_error_statuses_are_tool_errors_with_status_and_body(gateway: Gateway) -> None:
    async with session(gateway) as api:
        not_found = await api.call("api-getStatus", {"code": 404})
        server_error = await api.call("api-getStatus", {"code": 500, "format": "text"})
    assert not_found.is_error
    assert "404" in result_text(not_found)
    assert "failure with status 404" in result_text(not_found)
    assert server_error.is_error
    assert "500" in result_text(server_error)
    assert "plain failure with status 500" in result_text(server_error)


@pytest.mark.anyio
async def test_a_long_error_body_is_cut_to_a_bounded_excerpt(gateway: Gateway) -> None:
    async with session(gateway) as api:
        result = await api.call("api-getLongError")
    text = result_text(result)
    assert result.is_error
    assert "502" in text
    assert LONG_BODY_MARKER in text
    assert len(text) < LONG_BODY_LENGTH // 10


@pytest.mark.anyio
async def test_a_binary_response_is_a_resource_or_a_clear_note(gateway: Gateway) -> None:
    async with session(gateway) as api:
        result = await api.call("api-getImage")
    assert not result.is_error, result_text(result)
    encoded = base64.b64encode(PNG_BYTES).decode()
    carried = [block.data for block in result.content if isinstance(block, types.ImageContent)] + [
        block.resource.blob
        for block in result.content
        if isinstance(block, types.EmbeddedResource) and isinstance(block.resource, types.BlobResourceContents)
    ]
    if carried:
        assert carried == [encoded]
    else:
        assert "image/png" in result_text(result)
    assert "PNG\r\n" not in result_text(result), "raw binary must not be pasted into text"


@pytest.mark.anyio
async def test_no_content_is_a_success(gateway: Gateway, upstream_api: UpstreamAPI) -> None:
    upstream_api.forget_received()
    async with session(gateway) as api:
        result = await api.call("api-deleteEverything")
    assert not result.is_error, result_text(result)
    assert upstream_api.received_paths() == ["/empty"]


@pytest.mark.anyio
async def test_an_unreachable_upstream_is_a_clear_tool_error_and_other_servers_keep_working(gateway: Gateway) -> None:
    async with session(gateway) as api:
        dead = await api.call("dead-getItem", {"item_id": "1"})
        alive = await api.received("api-getItem", {"item_id": "1"})
    assert dead.is_error
    assert re.search(r"unreachable|connect|refused", result_text(dead), re.IGNORECASE), result_text(dead)
    assert alive["raw_path"] == "/items/1"
    assert gateway.server_status("dead")["tools"] == SPEC_OPERATION_COUNT


@pytest.mark.anyio
async def test_a_slow_upstream_times_out_as_a_tool_error(gateway: Gateway) -> None:
    async with session(gateway) as api:
        result = await api.call("impatient-slowEcho", {"seconds": 3})
    assert result.is_error
    assert re.search(r"time(d)? ?out", result_text(result), re.IGNORECASE), result_text(result)


@pytest.mark.anyio
async def test_outbound_credentials_reach_the_upstream(gateway: Gateway, upstream_api: UpstreamAPI) -> None:
    # Read from the upstream's own record: the gateway may redact credentials the echo reflects into results.
    upstream_api.forget_received()
    async with session(gateway) as api:
        results = [
            await api.call("api-getItem", {"item_id": "bearer"}),
            await api.call("keyed-getItem", {"item_id": "query", "limit": 2}),
            await api.call("headerkey-getItem", {"item_id": "header"}),
            await api.call("cookiekey-whoAmI", {"X-Request-Id": "r", "session_id": "s-1"}),
            await api.call("basic-getItem", {"item_id": "basic"}),
        ]
    assert not any(result.is_error for result in results), [result_text(result) for result in results]
    bearer, query_key, header_key, cookie_key, basic = upstream_api.received_requests()
    assert bearer["headers"]["authorization"] == f"Bearer {BEARER_TOKEN}"
    assert sorted(query_pairs(query_key)) == sorted([("limit", "2"), ("api_key", QUERY_KEY)])
    assert header_key["headers"]["x-api-key"] == HEADER_KEY
    assert cookie_key["cookies"] == {"session_id": "s-1", "auth_token": COOKIE_KEY}
    expected_basic = base64.b64encode(f"ada:{BASIC_PASSWORD}".encode()).decode()
    assert basic["headers"]["authorization"] == f"Basic {expected_basic}"


@pytest.mark.anyio
async def test_credentials_never_appear_in_results_servers_or_the_gateway_log(gateway: Gateway) -> None:
    # Successful calls are included on purpose: the echo API reflects every credential it receives, so a
    # result that carries one verbatim is a leak the gateway must redact.
    async with session(gateway) as api:
        results = [
            await api.call("api-getItem", {"item_id": "1"}),
            await api.call("api-getStatus", {"code": 401}),
            await api.call("keyed-getItem", {"item_id": "1"}),
            await api.call("keyed-getStatus", {"code": 403}),
            await api.call("headerkey-getItem", {"item_id": "1"}),
            await api.call("headerkey-getLongError"),
            await api.call("cookiekey-whoAmI", {"X-Request-Id": "r"}),
            await api.call("cookiekey-getStatus", {"code": 500, "format": "text"}),
            await api.call("basic-getItem", {"item_id": "1"}),
            await api.call("basic-getStatus", {"code": 400}),
            await api.call("dead-getItem", {"item_id": "1"}),
        ]
    # A static header is configuration, not necessarily a credential, so only the credentials proper are
    # required to be kept out of results; nothing configured may show up in listings or logs.
    results_text = "\n".join(result_text(result) + json.dumps(result.structured_content) for result in results)
    assert not [secret.split("-")[0] for secret in CREDENTIALS if secret in results_text]
    exposed = {
        "GET /servers": gateway.get("/servers").text,
        "GET /tools": gateway.get("/tools").text,
        "gateway log": gateway.log(),
    }
    for where, text in exposed.items():
        leaked = [secret.split("-")[0] for secret in SECRETS if secret in text]
        assert not leaked, f"{where} contains the {leaked} secret(s)"
