"""The one gate before every route (server/front_gate.py): the MCP endpoints reached straight from it answer as the
Router would route them, and every answer, refusals included, carries a request id and is counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.applications import Starlette

from mcp_gateway.auth.settings import AccessSettings
from mcp_gateway.http import httpx
from mcp_gateway.llm.store import SqliteResponseStore
from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.registry import ToolFilter
from mcp_gateway.server.app import create_app
from mcp_gateway.server.front_gate import mcp_route
from tests.unit.test_registry import InMemoryUpstream, make_registry

pytestmark = pytest.mark.anyio

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "t", "version": "0"}}}


def _scope(path: str, method: str = "POST", root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path}


@pytest.mark.parametrize(
    ("path", "method", "route"),
    [
        ("/mcp", "POST", ""),
        ("/mcp/", "GET", ""),
        ("/mcp/items", "POST", "items"),
        ("/mcp/items/", "DELETE", "items"),
        ("/mcp/items", "HEAD", "items"),
        ("/mcp/a/b", "POST", None),
        ("/mcp//", "POST", None),
        ("/mcpx", "POST", None),
        ("/mcp/items", "PUT", None),
        ("/tools", "GET", None),
    ],
)
def test_the_mcp_route_is_the_one_the_router_matches(path: str, method: str, route: str | None) -> None:
    assert mcp_route(_scope(path, method)) == route


def test_a_request_under_a_root_path_is_left_to_the_router() -> None:
    assert mcp_route(_scope("/prefix/mcp/items", root_path="/prefix")) is None


@asynccontextmanager
async def gateway(tmp_path: Any, access: AccessSettings | None = None) -> AsyncIterator[tuple[httpx.AsyncClient,
                                                                                             GatewayMetrics]]:
    registry = make_registry((InMemoryUpstream("items", ["get"]), ToolFilter()))
    metrics = GatewayMetrics()
    app: Starlette = create_app(registry, metrics=metrics, access=access, retry_interval=0,
                                response_store=SqliteResponseStore(tmp_path / "responses.sqlite"))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as http:
        yield http, metrics


def _counted(metrics: GatewayMetrics, endpoint: str, status: int) -> float:
    value = metrics.registry.get_sample_value(
        "mcp_gateway_http_requests_total", {"endpoint": endpoint, "status": str(status)}
    )
    return value or 0.0


async def test_an_mcp_request_is_answered_with_a_request_id_and_counted(tmp_path: Any) -> None:
    async with gateway(tmp_path) as (http, metrics):
        opened = await http.post("/mcp/items", json=INITIALIZE, headers={**MCP_HEADERS, "x-request-id": "call-1"})
        assert opened.status_code == 200, opened.text
        assert opened.headers["x-request-id"] == "call-1"
        assert _counted(metrics, "/mcp/{server}", 200) == 1
        opened = await http.post("/mcp/", json=INITIALIZE, headers=MCP_HEADERS)
        assert opened.status_code == 200
        assert opened.headers["x-request-id"]
        assert _counted(metrics, "/mcp", 200) == 1


async def test_refusals_carry_a_request_id_and_are_counted(tmp_path: Any) -> None:
    async with gateway(tmp_path) as (http, metrics):
        unknown = await http.post("/mcp/nothing", json=INITIALIZE, headers=MCP_HEADERS)
        assert unknown.status_code == 404
        assert unknown.json()["servers"] == ["items"]
        foreign = await http.post("/mcp/items", json=INITIALIZE, headers={**MCP_HEADERS, "Host": "evil.example"})
        assert foreign.status_code == 421
        origin = await http.post("/mcp/items", json=INITIALIZE, headers={**MCP_HEADERS, "Origin": "http://evil.example"})
        assert origin.status_code == 403
        wrong_method = await http.put("/mcp/items", json=INITIALIZE, headers=MCP_HEADERS)
        assert wrong_method.status_code == 405
        for answer in (unknown, foreign, origin, wrong_method):
            assert answer.headers["x-request-id"]
        assert _counted(metrics, "/mcp/{server}", 404) == 1
        assert _counted(metrics, "/mcp/{server}", 421) == 1
        assert _counted(metrics, "/mcp/{server}", 403) == 1
        assert _counted(metrics, "/mcp/{server}", 405) == 1


async def test_authentication_comes_before_the_mcp_endpoints(tmp_path: Any) -> None:
    access = AccessSettings.model_validate({"keys": {"reader": {"key": "mgw_reader_key_0123456789",
                                                                "servers": ["other"]}}})
    async with gateway(tmp_path, access) as (http, metrics):
        anonymous = await http.post("/mcp/items", json=INITIALIZE, headers=MCP_HEADERS)
        assert anonymous.status_code == 401
        assert anonymous.headers["x-request-id"]
        keyed = {**MCP_HEADERS, "Authorization": "Bearer mgw_reader_key_0123456789"}
        elsewhere = await http.post("/mcp/items", json=INITIALIZE, headers=keyed)
        assert elsewhere.status_code == 403
        assert elsewhere.json()["error"] == "insufficient_scope"
        assert _counted(metrics, "/mcp/{server}", 401) == 1
        assert _counted(metrics, "/mcp/{server}", 403) == 1
        health = await http.get("/health")
        assert health.status_code == 200
