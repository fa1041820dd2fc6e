"""Repeated listings answered before the SDK's transport (server/tool_list_wire.py): the same bytes the SDK sends,
and every request the SDK could answer differently left to the SDK.

The endpoints run in-process with the SDK's real session managers; the gateway endpoint's manager is watched to
see which requests reach it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from mcp_gateway.auth.principal import Principal, bind_principal
from mcp_gateway.http import httpx
from mcp_gateway.registry import ToolFilter
from mcp_gateway.server.mcp import McpEndpoints
from mcp_gateway.server.wire_gates import MAX_BODY_BYTES, plain_listing_request
from tests.unit.test_registry import InMemoryUpstream, make_registry

pytestmark = pytest.mark.anyio

PROTOCOL = "2025-06-18"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
TOOLS = 1000
"""Two `tools/list` pages (500 tools each at most), to follow a cursor."""
READER = Principal(name="reader", servers=("api",), tools=("tool_1*",))


@dataclass
class Gateway:
    http: httpx.AsyncClient
    endpoints: McpEndpoints
    reached_sdk: list[dict[str, Any]] = field(default_factory=list)
    """The JSON-RPC bodies that reached the gateway endpoint's SDK session manager."""
    principal: Principal | None = None

    async def open_session(self, **headers: str) -> dict[str, str]:
        opened = await self.http.post("/mcp", json=INITIALIZE, headers={**HEADERS, **headers})
        assert opened.status_code == 200, opened.text
        session = {**HEADERS, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
        initialized = await self.http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                                           headers=session)
        assert initialized.status_code == 202
        return session

    async def list_page(self, session: dict[str, str], cursor: str | None = None, *, through_sdk: bool = False,
                        request_id: int = 7, **extra: str) -> httpx.Response:
        params = {"cursor": cursor} if cursor else {}
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": params})
        if through_sdk:
            body += " " * MAX_BODY_BYTES  # still the same request, too long for the wire to read
        return await self.http.post("/mcp", content=body.encode(), headers={**session, **extra})


@asynccontextmanager
async def running_gateway(*, stateless: bool = False) -> AsyncIterator[Gateway]:
    registry = make_registry((InMemoryUpstream("api", [f"tool_{index}" for index in range(TOOLS)]), ToolFilter()))
    await registry.start()
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1"],
                                         allowed_origins=["http://127.0.0.1"])
    endpoints = McpEndpoints(registry, stateless=stateless, security=security)
    app = endpoints.gateway_app()
    manager = endpoints.gateway
    gateway = Gateway(httpx.AsyncClient(), endpoints)
    sdk_handle = manager.handle_request

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if body.strip():
            try:
                gateway.reached_sdk.append(json.loads(body))
            except (ValueError, RecursionError):
                gateway.reached_sdk.append({"unparsed": body.decode("latin-1")})
        replayed = [body]

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": replayed.pop(), "more_body": False} if replayed else await receive()

        await sdk_handle(scope, replay, send)

    manager.handle_request = watched  # type: ignore[method-assign]

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if gateway.principal is not None:
            bind_principal(scope, gateway.principal)
        await app(scope, receive, send)

    async with endpoints.run(), httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi),
                                                  base_url="http://127.0.0.1", timeout=30) as http:
        gateway.http = http
        yield gateway


def _methods(bodies: list[dict[str, Any]]) -> list[str]:
    return [body.get("method", "") for body in bodies]


def _headers(response: httpx.Response) -> dict[str, str]:
    return dict(response.headers)


async def test_repeated_listings_never_reach_the_sdk_and_are_its_answers_byte_for_byte() -> None:
    async with running_gateway() as gateway:
        session = await gateway.open_session()
        first = await gateway.list_page(session)
        cursor = first.text.split('"nextCursor":"', 1)[1].split('"', 1)[0]
        await gateway.list_page(session, cursor)
        assert _methods(gateway.reached_sdk) == ["initialize", "notifications/initialized", "tools/list", "tools/list"]
        before = len(gateway.reached_sdk)
        wire_pages = [await gateway.list_page(session), await gateway.list_page(session, cursor)]
        assert gateway.reached_sdk[before:] == []
        sdk_pages = [await gateway.list_page(session, through_sdk=True),
                     await gateway.list_page(session, cursor, through_sdk=True)]
        assert _methods(gateway.reached_sdk[before:]) == ["tools/list", "tools/list"]
    for wire, sdk in zip(wire_pages, sdk_pages, strict=True):
        assert wire.status_code == sdk.status_code == 200
        assert wire.content == sdk.content
        assert _headers(wire) == _headers(sdk)
    # The first listing, shaped by the SDK from the handler's answer, lists the same tools.
    first_result = json.loads(first.text.split("data: ", 1)[1])["result"]
    assert first_result == json.loads(wire_pages[0].text.split("data: ", 1)[1])["result"]
    assert len(first_result["tools"]) + len(json.loads(wire_pages[1].text.split("data: ", 1)[1])["result"]["tools"]) \
        == TOOLS


async def test_the_request_id_is_the_callers_own() -> None:
    async with running_gateway() as gateway:
        session = await gateway.open_session()
        await gateway.list_page(session)
        answered = await gateway.list_page(session, request_id=424242)
    assert json.loads(answered.text.split("data: ", 1)[1])["id"] == 424242


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Accept": "application/json"}, 406),
        ({"mcp-session-id": "0" * 32}, 404),
    ],
    ids=["dns-rebinding-origin", "accepts-no-event-stream", "unknown-session"],
)
async def test_a_request_the_sdk_would_refuse_goes_to_the_sdk(change: dict[str, str], expected_status: int) -> None:
    async with running_gateway() as gateway:
        session = await gateway.open_session()
        await gateway.list_page(session)
        before = len(gateway.reached_sdk)
        refused = await gateway.list_page(session, **change)
        assert _methods(gateway.reached_sdk[before:]) == ["tools/list"]
    assert refused.status_code == expected_status, refused.text


async def test_an_ended_session_is_not_found() -> None:
    async with running_gateway() as gateway:
        session = await gateway.open_session()
        await gateway.list_page(session)
        ended = await gateway.http.delete("/mcp", headers=session)
        assert ended.status_code == 200
        listed = await gateway.list_page(session)
    assert listed.status_code == 404


async def test_a_caller_who_sees_only_some_tools_is_answered_by_the_handler() -> None:
    async with running_gateway() as gateway:
        session = await gateway.open_session()
        await gateway.list_page(session)
        await gateway.list_page(session)  # kept and encoded for callers who see everything
        gateway.principal = READER
        before = len(gateway.reached_sdk)
        narrowed = await gateway.list_page(session)
        assert _methods(gateway.reached_sdk[before:]) == ["tools/list"]
    names = {tool["name"] for tool in json.loads(narrowed.text.split("data: ", 1)[1])["result"]["tools"]}
    assert names and all(name.startswith("api-tool_1") for name in names)


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"cursor": None, "other": 1}},
        {"jsonrpc": "2.0", "id": None, "method": "tools/list"},
        [{"jsonrpc": "2.0", "id": 9, "method": "tools/list"}],
        {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"cursor": "not-a-cursor"}},
    ],
    ids=["unknown-param", "null-id", "batch", "bad-cursor"],
)
async def test_anything_but_a_plain_listing_the_sdk_answered_goes_to_the_sdk(body: Any) -> None:
    async with running_gateway() as gateway:
        session = await gateway.open_session()
        await gateway.list_page(session)
        before = len(gateway.reached_sdk)
        answered = await gateway.http.post("/mcp", content=json.dumps(body).encode(), headers=session)
        assert len(gateway.reached_sdk) == before + 1
    assert answered.status_code < 500


def nested_listing(depth: int) -> bytes:
    """A `tools/list` request whose `_meta` nests arrays `depth` deep: small enough for the wire to read, too deep
    for Python's JSON decoder (its recursion limit)."""
    head = b'{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"_meta":{"x":'
    return head + b"[" * depth + b"]" * depth + b"}}}"


def test_a_body_nested_too_deep_is_no_plain_listing() -> None:
    body = nested_listing(1500)
    assert len(body) <= MAX_BODY_BYTES
    with pytest.raises(RecursionError):
        json.loads(body)
    assert plain_listing_request(body) is None
    assert plain_listing_request(nested_listing(3)) is not None


async def test_a_body_nested_too_deep_goes_to_the_sdk() -> None:
    async with running_gateway() as gateway:
        session = await gateway.open_session()
        await gateway.list_page(session)
        before = len(gateway.reached_sdk)
        answered = await gateway.http.post("/mcp", content=nested_listing(1500), headers=session)
        assert len(gateway.reached_sdk) == before + 1
    assert answered.status_code < 500
