"""What an attacker or an unlucky operator sends: arguments that do not fit the schema, specs that explode or are
not specs, documents nested past any parser's depth, odd-cased Host headers, and upstreams that echo credentials.

Each answer is a clear error (an `isError` result or a 4xx), nothing reaches an upstream that should not, and no
credential comes back.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest

from mcp_gateway.http import httpx
from mcp_gateway.openapi.loader import MAX_SPEC_BYTES
from mcp_gateway.openapi.serialize import encode_cookie_value
from tests.e2e.gateway_process import (
    Gateway,
    UpstreamAPI,
    result_text,
    running_gateway,
    stdio_server_entry,
    write_config,
)

ROBUSTNESS_SPEC = Path(__file__).resolve().parent / "robustness_api.yaml"
# A slash is kept as-is by cookie encoding but percent-encoded in URLs, and a space is encoded by both: the
# cookie form of this key matches none of the URL forms.
COOKIE_KEY = f"ck/{secrets.token_hex(8)} x"

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("hostile-input")
    shutil.copy(ROBUSTNESS_SPEC, config_dir / "robustness_api.yaml")
    url = upstream_api.base_url
    servers = {
        "api": {
            "openapi": {
                "spec": "robustness_api.yaml",
                "baseUrl": url,
                "auth": {"type": "apiKey", "in": "cookie", "name": "auth_token", "value": "${E2E_COOKIE_KEY}"},
            }
        },
        "bomb": {"openapi": {"spec": f"{url}/__gzip-bomb?mb=40", "baseUrl": url}},
        "html": {"openapi": {"spec": f"{url}/__html", "baseUrl": url}},
        "child": stdio_server_entry(),
    }
    config = write_config(config_dir, servers)
    with running_gateway(config, e2e_log_dir, env={"E2E_COOKIE_KEY": COOKIE_KEY}) as running:
        yield running


async def call(gateway: Gateway, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
    async with gateway.client() as client:
        return await client.call_tool(tool, arguments)


async def test_arguments_that_break_the_schema_are_named_and_never_sent(
    gateway: Gateway, upstream_api: UpstreamAPI
) -> None:
    upstream_api.forget_received()
    wrong_types = await call(gateway, "api-getItem", {"item_id": {"x": [1, 2]}, "limit": "abc"})
    outside_enum = await call(gateway, "api-getItem", {"item_id": "7", "color": "blue"})
    wrong_body = await call(gateway, "api-createPerson", {"name": 5, "age": -1})
    missing = await call(gateway, "api-createPerson", {"name": None})

    assert upstream_api.received_requests() == []
    assert wrong_types.is_error
    assert result_text(wrong_types).startswith(
        "invalid arguments for tool 'api-getItem': 'item_id': {'x': [1, 2]} is not of type 'string'; "
        "'limit': 'abc' is not of type 'integer'."
    ), result_text(wrong_types)
    assert outside_enum.is_error
    assert "'color': 'blue' is not one of ['red', 'green']" in result_text(outside_enum)
    assert wrong_body.is_error
    assert "'age': -1 is less than the minimum of 0" in result_text(wrong_body)
    assert "'name': 5 is not of type 'string'" in result_text(wrong_body)
    assert missing.is_error
    assert "'name' is a required property" in result_text(missing)


async def test_arguments_that_fit_the_schema_still_go_through(gateway: Gateway, upstream_api: UpstreamAPI) -> None:
    # An explicit null leaves an optional argument out, as the request builder has always read it.
    fitting = await call(gateway, "api-getItem", {"item_id": "7", "limit": None, "color": "red"})
    assert not fitting.is_error, result_text(fitting)
    assert isinstance(fitting.structured_content, dict)
    assert fitting.structured_content["raw_path"] == "/items/7"
    assert fitting.structured_content["query"] == [["color", "red"]]


async def test_tools_of_upstream_mcp_servers_are_validated_too(gateway: Gateway) -> None:
    result = await call(gateway, "child-add", {"a": "two", "b": 2})
    assert result.is_error
    assert result_text(result).startswith("invalid arguments for tool 'child-add': 'a': 'two' is not of type 'integer'")
    assert result_text(await call(gateway, "child-add", {"a": 40, "b": 2})) == "42"


async def test_a_cookie_key_reflected_by_the_upstream_is_masked(gateway: Gateway) -> None:
    result = await call(gateway, "api-whoAmI", {})
    assert not result.is_error, result_text(result)
    text = result_text(result) + json.dumps(result.structured_content)
    assert encode_cookie_value(COOKIE_KEY) not in text
    assert COOKIE_KEY.split()[0] not in text
    assert "auth_token=***" in text


@pytest.mark.parametrize("status", [200, 502])
async def test_a_body_its_declared_charset_cannot_decode_is_an_error_result(gateway: Gateway, status: int) -> None:
    # Not a JSON-RPC internal error: the codec's UnicodeError used to escape the call.
    result = await call(gateway, "api-getUndecodable", {"status": status})
    assert result.is_error
    assert result_text(result).startswith(f"server 'api': HTTP {status} "), result_text(result)
    assert "application/json body (33 bytes) cannot be decoded as its declared charset 'utf-16'" in (
        result_text(result)
    )
    assert "Traceback" not in gateway.log()


async def test_a_spec_url_that_expands_past_the_cap_or_serves_html_is_refused(gateway: Gateway) -> None:
    bomb = gateway.server_status("bomb")
    assert bomb["health"] == "unhealthy"
    assert f"larger than {MAX_SPEC_BYTES} bytes (decoded)" in bomb["detail"], bomb["detail"]
    html = gateway.server_status("html")
    assert html["health"] == "unhealthy"
    assert "served as text/html, not JSON or YAML" in html["detail"], html["detail"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
        ('{"openapi": "4.0.0", "info": {"title": "t", "version": "1"}, "paths": {}}', "unsupported version openapi"),
        ('{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": [1, 2]}', "'paths' must be an object"),
        ('{"swagger": "1.2", "paths": {}}', "unsupported version swagger"),
    ],
    ids=["deep-nesting", "openapi-4", "paths-list", "swagger-1.2"],
)
async def test_preview_answers_400_to_documents_it_cannot_read(gateway: Gateway, document: str, expected: str) -> None:
    response = httpx.post(f"{gateway.base_url}/openapi/preview", content=document.encode(), timeout=30.0)
    assert response.status_code == 400, response.text[:500]
    assert expected in response.json()["error"]
    assert "Traceback" not in gateway.log()


async def test_the_host_check_ignores_case(gateway: Gateway) -> None:
    port = gateway.base_url.rsplit(":", 1)[1]
    health = httpx.get(f"{gateway.base_url}/health", headers={"Host": f"LOCALHOST:{port}"}, timeout=10.0)
    assert health.status_code == 200, health.text
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    mcp = httpx.post(
        gateway.mcp_url,
        json=initialize,
        headers={
            "Host": f"LocalHost:{port}",
            "Origin": f"HTTP://LOCALHOST:{port}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=10.0,
    )
    assert mcp.status_code == 200, mcp.text
    foreign = httpx.get(f"{gateway.base_url}/health", headers={"Host": "EVIL.example"}, timeout=10.0)
    assert foreign.status_code == 421
