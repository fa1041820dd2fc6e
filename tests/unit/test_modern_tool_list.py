"""Repeated modern-era listings answered before the SDK (server/modern_tool_list.py): the same bytes and headers
the SDK sends, in stateful and stateless mode, and every request the SDK could answer differently left to it.

The endpoints run in-process with the SDK's real session managers (tests/unit/test_tool_list_wire.py); the
gateway endpoint's manager is watched to see which requests reach it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_gateway.http import httpx
from mcp_gateway.server.wire_gates import MAX_BODY_BYTES
from tests.unit.test_tool_list_wire import READER, TOOLS, Gateway, nested_listing, running_gateway

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
           "mcp-protocol-version": MODERN, "mcp-method": "tools/list"}


def listing(cursor: str | None = None, request_id: Any = 7, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/list",
            "params": {"_meta": META, **({"cursor": cursor} if cursor else {}), **params}}


async def post(gateway: Gateway, body: Any, *, through_sdk: bool = False,
               headers: list[tuple[str, str]] | None = None, **changed: str) -> httpx.Response:
    content = json.dumps(body)
    if through_sdk:
        content += " " * MAX_BODY_BYTES  # still the same request, too long for the wire to read
    raw = [*{**HEADERS, **changed}.items(), *(headers or [])]
    return await gateway.http.post("/mcp", content=content.encode(), headers=raw)


def _methods(bodies: list[Any]) -> list[str]:
    return [body.get("method", "") if isinstance(body, dict) else "batch" for body in bodies]


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
async def test_repeated_listings_never_reach_the_sdk_and_are_its_answers_byte_for_byte(stateless: bool) -> None:
    async with running_gateway(stateless=stateless) as gateway:
        first = await post(gateway, listing())
        cursor = first.json()["result"]["nextCursor"]
        await post(gateway, listing(cursor))
        assert _methods(gateway.reached_sdk) == ["tools/list", "tools/list"]
        wire_pages = [await post(gateway, listing()), await post(gateway, listing(cursor))]
        assert len(gateway.reached_sdk) == 2
        sdk_pages = [await post(gateway, listing(), through_sdk=True),
                     await post(gateway, listing(cursor), through_sdk=True)]
        assert len(gateway.reached_sdk) == 4
    for wire, sdk in zip(wire_pages, sdk_pages, strict=True):
        assert wire.status_code == sdk.status_code == 200
        assert wire.content == sdk.content
        assert dict(wire.headers) == dict(sdk.headers)
        assert wire.headers["content-type"] == "application/json"
    # The first listing, shaped by the SDK from the handler's answer, is the same JSON (its keys in another order).
    assert first.json() == wire_pages[0].json()
    tools = [*wire_pages[0].json()["result"]["tools"], *wire_pages[1].json()["result"]["tools"]]
    assert len(tools) == TOOLS
    assert wire_pages[0].json()["result"]["_meta"]  # the SDK's server identity stamp, as it sent it


@pytest.mark.parametrize("request_id", [424242, "a-string-id", "ünïcode"])
async def test_the_request_id_is_the_callers_own(request_id: Any) -> None:
    async with running_gateway() as gateway:
        await post(gateway, listing())
        answered = await post(gateway, listing(request_id=request_id))
        through_sdk = await post(gateway, listing(request_id=request_id), through_sdk=True)
        assert len(gateway.reached_sdk) == 2
    assert answered.json()["id"] == request_id
    assert answered.content == through_sdk.content


async def test_other_meta_keys_are_answered_as_the_sdk_answers_them() -> None:
    # The SDK's kept answer does not depend on them either (tool_list_answers.py keys on version and cursor).
    body = {"jsonrpc": "2.0", "id": 9, "method": "tools/list",
            "params": {"_meta": {**META, "progressToken": 3, "io.example/x": {"y": 1}}}}
    async with running_gateway() as gateway:
        await post(gateway, listing())
        answered = await post(gateway, body)
        through_sdk = await post(gateway, body, through_sdk=True)
        assert len(gateway.reached_sdk) == 2
    assert answered.status_code == 200
    assert answered.content == through_sdk.content


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Host": "evil.example"}, 421),
        ({"Content-Type": "text/plain"}, 400),
        ({"Accept": "text/event-stream"}, 406),
        ({"mcp-method": "tools/call"}, 400),
        ({"mcp-protocol-version": "2099-01-01"}, 400),
    ],
    ids=["dns-rebinding-origin", "host", "content-type", "accepts-no-json", "method-header", "unknown-version"],
)
async def test_a_request_the_sdk_would_refuse_goes_to_the_sdk(change: dict[str, str], expected_status: int) -> None:
    async with running_gateway() as gateway:
        await post(gateway, listing())
        await post(gateway, listing())
        before = len(gateway.reached_sdk)
        refused = await post(gateway, listing(), **change)
        assert len(gateway.reached_sdk) == before + 1
    assert refused.status_code == expected_status, refused.text


async def test_a_routing_header_given_twice_goes_to_the_sdk() -> None:
    async with running_gateway() as gateway:
        await post(gateway, listing())
        before = len(gateway.reached_sdk)
        refused = await post(gateway, listing(), headers=[("mcp-method", "tools/list")])
        assert len(gateway.reached_sdk) == before + 1
    assert refused.status_code == 400, refused.text


async def test_a_caller_who_sees_only_some_tools_is_answered_by_the_handler() -> None:
    async with running_gateway() as gateway:
        await post(gateway, listing())
        await post(gateway, listing())  # kept and encoded for callers who see everything
        gateway.principal = READER
        before = len(gateway.reached_sdk)
        narrowed = await post(gateway, listing())
        assert len(gateway.reached_sdk) == before + 1
    names = {tool["name"] for tool in narrowed.json()["result"]["tools"]}
    assert names and all(name.startswith("api-tool_1") for name in names)


@pytest.mark.parametrize(
    "body",
    [
        listing(other=1),
        listing(request_id=None),
        listing(request_id=7.0),
        listing(request_id=True),
        [listing()],
        listing("not-a-cursor"),
        {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}},
        {"jsonrpc": "2.0", "id": 9, "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
    ],
    ids=["unknown-param", "null-id", "float-id", "bool-id", "batch", "bad-cursor", "no-meta",
         "no-params", "notification"],
)
async def test_anything_but_a_plain_listing_the_sdk_answered_goes_to_the_sdk(body: Any) -> None:
    async with running_gateway() as gateway:
        await post(gateway, listing())
        before = len(gateway.reached_sdk)
        answered = await post(gateway, body)
        assert len(gateway.reached_sdk) == before + 1
    assert answered.status_code < 500


async def test_a_handshake_era_request_on_a_stateless_endpoint_goes_to_the_sdk() -> None:
    async with running_gateway(stateless=True) as gateway:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        for _ in range(2):
            answered = await gateway.http.post("/mcp", json=body, headers={
                "Accept": "application/json, text/event-stream", "Content-Type": "application/json"})
            assert answered.status_code == 200, answered.text
        assert _methods(gateway.reached_sdk) == ["tools/list", "tools/list"]


async def test_with_tracing_on_every_listing_goes_through_the_sdk() -> None:
    # The SDK's tracing middleware records a span per request: a listing answered before it would go unseen.
    from mcp.server._otel import OpenTelemetryMiddleware

    async with running_gateway() as gateway:
        gateway.endpoints.gateway.app.middleware.insert(0, OpenTelemetryMiddleware())
        await post(gateway, listing())
        traced = await post(gateway, listing())
        assert len(gateway.reached_sdk) == 2
    assert traced.status_code == 200


async def test_a_body_nested_too_deep_goes_to_the_sdk() -> None:
    async with running_gateway() as gateway:
        await post(gateway, listing())
        before = len(gateway.reached_sdk)
        answered = await gateway.http.post("/mcp", content=nested_listing(1500), headers=HEADERS)
        assert len(gateway.reached_sdk) == before + 1
    assert answered.status_code < 500
