"""Modern-era tool calls answered before the SDK's transport (server/tool_call_wire.py): the same bytes the SDK
sends for the same request, and every request the SDK could answer differently left to the SDK.

The endpoints run in-process with the SDK's real session managers; each manager is watched to see which requests
reach it. A request is sent to the SDK itself by padding its body past what the wire reads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.server import _streamable_http_modern as sdk_modern
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from mcp_gateway.auth.principal import UNRESTRICTED, Principal, bind_principal
from mcp_gateway.http import httpx
from mcp_gateway.registry import ToolFilter
from mcp_gateway.server.mcp import McpEndpoints
from mcp_gateway.server.wire_gates import MAX_BODY_BYTES
from tests.unit.test_registry import InMemoryUpstream, make_registry

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
           "MCP-Protocol-Version": MODERN}
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}}
READER = Principal(name="reader", servers=("api",), tools=("echo",))


class ToolsUpstream(InMemoryUpstream):
    """Tools whose results cover what a call can answer: text, an error result, structured content, a failure
    and a slow call."""

    def __init__(self) -> None:
        super().__init__("api", ["echo", "fails", "structured", "boom", "slow", "routed"])
        self.release = anyio.Event()
        self.cancelled = anyio.Event()

    def tools(self) -> list[types.Tool]:
        echo_schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
        return [
            types.Tool(name="echo", description="echo", input_schema=echo_schema),
            types.Tool(name="fails", input_schema={"type": "object"}),
            types.Tool(name="structured", input_schema={"type": "object"},
                       output_schema={"type": "object", "properties": {"n": {"type": "integer"}}}),
            types.Tool(name="boom", input_schema={"type": "object"}),
            types.Tool(name="slow", input_schema={"type": "object"}),
            types.Tool(name="routed", input_schema={
                "type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}),
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        self.calls.append((name, arguments))
        if name == "echo":
            return types.CallToolResult(content=[types.TextContent(text=f"héllo {arguments['text']}")])
        if name == "fails":
            return types.CallToolResult(content=[types.TextContent(text="upstream said 500")], is_error=True)
        if name == "structured":
            return types.CallToolResult(content=[types.TextContent(text='{"n": 1, "x": null}')],
                                        structured_content={"n": 1, "x": None})
        if name == "routed":
            return types.CallToolResult(content=[types.TextContent(text=arguments["region"])])
        if name == "slow":
            try:
                await self.release.wait()
            except anyio.get_cancelled_exc_class():
                self.cancelled.set()
                raise
            return types.CallToolResult(content=[types.TextContent(text="late")])
        raise RuntimeError("secret-token-123 leaked?")


@dataclass
class Gateway:
    http: httpx.AsyncClient
    upstream: ToolsUpstream
    reached_sdk: list[dict[str, Any]] = field(default_factory=list)
    principal: Principal | None = None
    app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def call(self, path: str, name: str, arguments: dict[str, Any] | None = None, *, through_sdk: bool = False,
                   request_id: int | str = 7, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        params: dict[str, Any] = {"name": name, "_meta": META}
        if arguments is not None:
            params["arguments"] = arguments
        text = json.dumps(body or {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        if through_sdk:
            text += " " * MAX_BODY_BYTES
        routing = {"Mcp-Method": "tools/call", "Mcp-Name": (body or {}).get("params", {}).get("name", name)}
        return await self.http.post(path, content=text.encode(), headers={**HEADERS, **routing, **headers})


@asynccontextmanager
async def running_gateway(*, json_responses: bool = False) -> AsyncIterator[Gateway]:
    upstream = ToolsUpstream()
    registry = make_registry((upstream, ToolFilter()))
    await registry.start()
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1"],
                                         allowed_origins=["http://127.0.0.1"])
    endpoints = McpEndpoints(registry, stateless=False, security=security)
    endpoints._answers_alone = lambda server: json_responses  # type: ignore[method-assign]
    gateway = Gateway(httpx.AsyncClient(), upstream)

    def watch(manager: Any) -> None:
        sdk_handle = manager.handle_request

        async def watched(scope: Scope, receive: Receive, send: Send) -> None:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            if body.strip():
                gateway.reached_sdk.append(json.loads(body))
            replayed = [body]

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": replayed.pop(), "more_body": False} if replayed \
                    else await receive()

            await sdk_handle(scope, replay, send)

        manager.handle_request = watched

    router = Router([Route("/mcp", endpoints.gateway_app(), methods=["POST"]),
                     Route("/mcp/{server}", endpoints.server_app(), methods=["POST"])])

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        # Bound for every request, as the gateway's access middleware does: the SDK's input-schema lookup reads the
        # caller from a context variable, which would otherwise keep whatever an earlier test bound.
        bind_principal(scope, gateway.principal or UNRESTRICTED)
        await router(scope, receive, send)

    async with endpoints.run(), httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi),
                                                  base_url="http://127.0.0.1", timeout=30) as http:
        watch(endpoints.gateway)
        watch(endpoints.per_server["api"])
        gateway.http = http
        gateway.app = asgi
        yield gateway


CASES = [
    ("/mcp/api", "echo", {"text": "wörld"}),
    ("/mcp", "api-echo", {"text": "wörld"}),
    ("/mcp/api", "echo", {"text": 3}),
    ("/mcp/api", "fails", None),
    ("/mcp/api", "structured", {}),
    ("/mcp/api", "boom", {}),
]
CASE_IDS = ["result", "gateway-endpoint", "invalid-arguments", "is-error", "structured", "upstream-raises"]


@pytest.mark.parametrize("json_responses", [False, True], ids=["event-stream-mode", "json-mode"])
@pytest.mark.parametrize(("path", "name", "arguments"), CASES, ids=CASE_IDS)
async def test_a_call_is_answered_without_the_sdk_with_the_sdks_bytes(
    path: str, name: str, arguments: dict[str, Any] | None, json_responses: bool
) -> None:
    async with running_gateway(json_responses=json_responses) as gateway:
        lean = await gateway.call(path, name, arguments, request_id="call-1")
        assert gateway.reached_sdk == []
        sdk = await gateway.call(path, name, arguments, request_id="call-1", through_sdk=True)
        assert [body["method"] for body in gateway.reached_sdk] == ["tools/call"]
    assert lean.status_code == sdk.status_code
    assert lean.content == sdk.content
    assert dict(lean.headers) == dict(sdk.headers)
    assert b"secret-token" not in lean.content


async def test_the_answers_say_what_happened() -> None:
    async with running_gateway() as gateway:
        echoed = (await gateway.call("/mcp/api", "echo", {"text": "x"})).json()
        invalid = (await gateway.call("/mcp/api", "echo", {})).json()
        failed = (await gateway.call("/mcp/api", "boom", {})).json()
    assert echoed["id"] == 7
    assert echoed["result"]["content"][0]["text"] == "héllo x"
    assert echoed["result"]["resultType"] == "complete"
    assert invalid["result"]["isError"] is True
    assert failed["error"]["code"] == types.INTERNAL_ERROR
    assert [call for call in gateway.upstream.calls if call[0] == "echo"] == [("echo", {"text": "x"})]


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Host": "evil.example"}, 421),
        ({"Accept": "application/json"}, 406),
        ({"Accept": "text/event-stream"}, 406),
        ({"Content-Type": "text/plain"}, 400),
        ({"MCP-Protocol-Version": "2099-01-01"}, 400),
        ({"Mcp-Method": "tools/list"}, 400),
    ],
    ids=["origin", "host", "accepts-no-event-stream", "accepts-no-json", "content-type", "unknown-version",
         "method-header-mismatch"],
)
async def test_a_request_the_sdk_would_refuse_or_answer_otherwise_goes_to_the_sdk(
    change: dict[str, str], expected_status: int
) -> None:
    async with running_gateway() as gateway:
        answered = await gateway.call("/mcp/api", "echo", {"text": "x"}, **change)
        assert [body["method"] for body in gateway.reached_sdk] == ["tools/call"]
    assert answered.status_code == expected_status, answered.text


async def test_param_headers_are_checked_as_the_sdk_checks_them() -> None:
    async with running_gateway() as gateway:
        agreeing = await gateway.call("/mcp/api", "routed", {"region": "eu"}, **{"Mcp-Param-Region": "eu"})
        assert gateway.reached_sdk == []
        disagreeing = await gateway.call("/mcp/api", "routed", {"region": "eu"}, **{"Mcp-Param-Region": "us"})
        missing = await gateway.call("/mcp/api", "routed", {"region": "eu"})
        assert [body["method"] for body in gateway.reached_sdk] == ["tools/call", "tools/call"]
    assert agreeing.json()["result"]["content"][0]["text"] == "eu"
    assert disagreeing.status_code == missing.status_code == 400


async def test_param_headers_of_a_tool_without_annotations_are_answered_here_as_the_sdk_answers_them() -> None:
    async with running_gateway() as gateway:
        lean = await gateway.call("/mcp/api", "echo", {"text": "x"}, request_id="call-2", **{"Mcp-Param-Text": "y"})
        assert gateway.reached_sdk == []
        sdk = await gateway.call("/mcp/api", "echo", {"text": "x"}, request_id="call-2", through_sdk=True,
                                 **{"Mcp-Param-Text": "y"})
        assert [body["method"] for body in gateway.reached_sdk] == ["tools/call"]
    assert lean.status_code == sdk.status_code == 200
    assert lean.content == sdk.content


@pytest.mark.parametrize(
    ("params", "principal"),
    [
        ({"name": "nope", "_meta": META}, None),
        ({"name": "fails", "_meta": META}, READER),
        ({"name": "echo", "arguments": {"text": "x"}, "_meta": {**META, "progressToken": 1}}, None),
        ({"name": "echo", "arguments": "text", "_meta": META}, None),
        ({"name": "echo", "arguments": {"text": "x"}}, None),
    ],
    ids=["unknown-tool", "tool-hidden-from-caller", "progress-token", "arguments-not-an-object", "no-envelope"],
)
async def test_a_call_the_sdk_must_word_goes_to_the_sdk(params: dict[str, Any], principal: Principal | None) -> None:
    async with running_gateway() as gateway:
        gateway.principal = principal
        body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params}
        answered = await gateway.call("/mcp/api", "", body=body)
        assert [body["method"] for body in gateway.reached_sdk] == ["tools/call"]
    assert answered.status_code < 500


async def test_handshake_era_and_other_methods_go_to_the_sdk() -> None:
    async with running_gateway() as gateway:
        listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}
        await gateway.call("/mcp/api", "", body=listing)
        await gateway.call("/mcp/api", "echo", {"text": "x"}, **{"MCP-Protocol-Version": "2025-06-18"})
        assert [body["method"] for body in gateway.reached_sdk] == ["tools/list", "tools/call"]


async def test_a_call_that_outlasts_the_keep_alive_interval_becomes_a_pinged_event_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sdk_modern, "_SSE_PING_INTERVAL", 0.05)
    async with running_gateway() as gateway:
        async with anyio.create_task_group() as task_group:
            answers: list[httpx.Response] = []

            async def call() -> None:
                answers.append(await gateway.call("/mcp/api", "slow", {}))

            task_group.start_soon(call)
            await anyio.sleep(0.3)
            gateway.upstream.release.set()
        assert gateway.reached_sdk == []
    (answer,) = answers
    assert answer.headers["content-type"] == "text/event-stream"
    assert answer.text.startswith(": ping\r\n\r\n")
    event = answer.text.rsplit("event: message\r\ndata: ", 1)[1]
    assert json.loads(event)["result"]["content"][0]["text"] == "late"


async def test_a_client_that_disconnects_cancels_its_call() -> None:
    async with running_gateway() as gateway:
        assert gateway.app is not None
        params = {"name": "slow", "arguments": {}, "_meta": META}
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()
        headers = {**HEADERS, "Mcp-Method": "tools/call", "Mcp-Name": "slow", "Host": "127.0.0.1",
                   "Content-Length": str(len(body))}
        scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/mcp/api",
                 "raw_path": b"/mcp/api", "root_path": "", "query_string": b"", "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 50000),
                 "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()]}
        unread = [{"type": "http.request", "body": body, "more_body": False}]
        gone = anyio.Event()
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if unread:
                return unread.pop()
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(gateway.app, scope, receive, send)
                while not gateway.upstream.calls:
                    await anyio.sleep(0.01)
                gone.set()
                await gateway.upstream.cancelled.wait()
        assert gateway.upstream.calls == [("slow", {})]
        assert sent == []
        assert gateway.reached_sdk == []
