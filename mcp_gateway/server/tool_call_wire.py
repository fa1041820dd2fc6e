"""Modern-era (2026-07-28) `tools/call` requests answered before the SDK's streamable-HTTP transport.

A modern-era POST is self-contained: no session, one request, one answer. The SDK's transport still spends most of
an OpenAPI tool call's CPU on its per-request machinery (issue #15's profile: a dispatch context, a connection and
its exit stack, the server runner and middleware chain, and in event-stream mode a task group with two tasks and
a memory stream). None of that changes the answer to a call that asks for no progress: an OpenAPI tool's result
is all there is, and a modern-era client has no session of its own upstream, so an MCP upstream's tool is called
on the shared session exactly as the SDK's handler calls it (the caller's `_meta`, the call's params for an
upstream that asks for input, whose `input_required` result is the answer). So it is answered here, with the
SDK's own checks and shaping, and the same bytes.

Answered here only when every check the SDK makes passes, in the SDK's order:

- a POST whose `MCP-Protocol-Version` header names a modern revision, small enough to read (wire_gates.py);
- Host/Origin and Content-Type accepted by the SDK's own transport security (the manager's settings), and an
  `Accept` the SDK accepts for the endpoint's answer mode;
- one JSON-RPC request (the SDK's `JSONRPCRequest`), `tools/call`, no routing header twice, an envelope the SDK's
  ladder accepts (`classify_inbound_request`: `_meta` pair, header vs `_meta` version, `Mcp-Method`/`Mcp-Name`),
  params valid for the SDK's surface and its `CallToolRequestParams`, no progress token;
- a tool this caller sees, whose `Mcp-Param-*` headers agree with the arguments;
- an endpoint server with only the gateway's own middleware (no tracing) and no cache hint for `tools/call`.

Anything else goes to the SDK with the body replayed, so every refusal and error the SDK writes stays its own.
The call itself is `ToolCalls.call` or `ToolCalls.relay` (the registry checks arguments and applies the call
limit), after waiting for the registry to start as server/start_gate.py does; an exception maps to the error the
SDK would write.

The answer is written as the SDK's modern entry writes it: plain JSON in JSON-response mode; in event-stream mode
plain JSON too unless the call outlasts the SDK's keep-alive interval, when the answer becomes an event stream
with pings, and a client that disconnects cancels the call. tests/unit/test_tool_call_wire.py compares the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

import mcp_types as types
from mcp.server import _streamable_http_modern as sdk_modern
from mcp.server.lowlevel import Server
from mcp.server.runner import modern_error_data
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PROTOCOL_VERSION_HEADER,
    X_MCP_HEADER_KEY,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
    validate_mcp_param_headers,
)
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from mcp_types import CORE_RESULT_TYPES, SERVER_INFO_META_KEY, JSONRPCError, JSONRPCRequest, RequestId
from mcp_types import methods as sdk_methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from mcp_gateway.auth.principal import principal_of
from mcp_gateway.auth.user_credentials import credentials_of
from mcp_gateway.registry import Registry, ToolRelay
from mcp_gateway.server.start_gate import StartedRequests
from mcp_gateway.server.tool_calls import ToolCalls
from mcp_gateway.server.tool_list_answers import ToolListAnswers
from mcp_gateway.server.tool_list_wire import InitializeStash
from mcp_gateway.server.wire_gates import replaying, small_body
from mcp_gateway.upstreams.base import Upstream
from mcp_gateway.upstreams.mcp import McpUpstream
from mcp_gateway.upstreams.mcp_session import relayable_params
from mcp_gateway.upstreams.wire_result import WireResult

__all__ = ["ToolCallWire"]

logger = logging.getLogger(__name__)

Onward = Callable[[Scope, Receive, Send], Awaitable[None]]
"""Where a request this module does not answer goes next (the listing wire or the SDK's manager)."""

_METHOD = "tools/call"
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.lower().encode()
_GATEWAY_MIDDLEWARE = (StartedRequests, ToolListAnswers, InitializeStash)
"""The server middleware whose effect on a tool call is done here (waiting for the start); any other (the SDK's
tracing) sends the call to the SDK."""
_JSON_HEADERS = [(b"content-type", b"application/json")]
_PING = b": ping\r\n\r\n"


class ToolCallWire:
    """The way into one endpoint's session manager that answers modern-era tool calls itself."""

    def __init__(self, registry: Registry, calls: ToolCalls) -> None:
        self._registry = registry
        self._calls = calls
        self._security: tuple[TransportSecuritySettings | None, TransportSecurityMiddleware] | None = None
        self._annotated = _AnnotatedSchemas()

    async def handle(
        self, manager: StreamableHTTPSessionManager, scope: Scope, receive: Receive, send: Send, onward: Onward
    ) -> None:
        version = next((value for name, value in scope.get("headers", ()) if name == _VERSION_HEADER), None)
        body = None
        if version is not None and version.decode("latin-1") in MODERN_PROTOCOL_VERSIONS:
            body = await small_body(scope, receive)
        if body is None:
            await onward(scope, receive, send)
            return
        answering = await self._answering(manager, scope, body)
        if answering is None:
            await onward(scope, replaying(body, receive), send)
            return
        if manager.json_response:
            await _write_json(await answering(), send)
        else:
            await _write_deferring_stream(answering, receive, send)

    async def _answering(
        self, manager: StreamableHTTPSessionManager, scope: Scope, body: bytes
    ) -> Callable[[], Awaitable[_Answer]] | None:
        """The call to make and answer, once every check the SDK would make has passed; else None."""
        server = manager.app
        if not isinstance(server, Server) or not self._plain(server):
            return None
        request = Request(scope)
        if await self._security_of(manager).validate_request(request, is_post=True) is not None:
            return None
        has_json, has_sse = check_accept_headers(request)
        if not has_json or (not manager.json_response and not has_sse):
            return None
        try:
            decoded = json.loads(body)
            if not isinstance(decoded, dict) or "id" not in decoded or decoded.get("method") != _METHOD:
                return None
            call = JSONRPCRequest.model_validate(decoded)
        except (ValueError, RecursionError):  # ValidationError is a ValueError
            return None
        headers = request.headers
        pairs = headers.items()
        if find_duplicated_routing_header(pairs) is not None:
            return None
        # As `dict(headers)` (the first of repeated names wins), without a scan of every header per name.
        first_values: dict[str, str] = {}
        for name, value in pairs:
            first_values.setdefault(name, value)
        verdict = classify_inbound_request(decoded, headers=first_values)
        if isinstance(verdict, InboundLadderRejection) or progress_token_from_params(call.params) is not None:
            return None
        version = verdict.protocol_version
        try:
            sdk_methods.validate_client_request(_METHOD, version, call.params)
            params = types.CallToolRequestParams.model_validate(call.params or {}, by_name=False)
        except (KeyError, ValueError):
            return None
        # Only a tool that exists for this caller: the SDK words the refusal.
        try:
            tool = self._calls.resolve(params.name, principal_of(scope))
        except MCPError:
            return None
        raw_arguments = (call.params or {}).get("arguments") or {}
        schema = tool.definition.input_schema
        if self._annotated.declares(schema) and validate_mcp_param_headers(schema, raw_arguments, headers):
            return None
        arguments = dict(params.arguments or {})
        relayed = self._calls.relayed(tool)
        credentials = credentials_of(scope) if relayed is None else {}

        async def answer() -> _Answer:
            try:
                await self._registry.wait_started()
                if relayed is None:
                    result: BaseModel | WireResult = await self._calls.call(params.name, arguments, credentials)
                else:
                    result = await self._calls.relay(params.name, arguments, _plain_relay(params, call.params))
                shaped = _shaped(server, version, result)
            except Exception as error:
                return _error_answer(JSONRPCError(jsonrpc="2.0", id=call.id, error=modern_error_data(error)))
            return _Answer(200, _encoded_result(call.id, shaped))

        return answer

    def _plain(self, server: Server[Any]) -> bool:
        # Exact types: a subclass could do more than the gateway's own layers (and an ABC's isinstance is slow).
        return server.cache_hints.get(_METHOD) is None and all(
            type(layer) in _GATEWAY_MIDDLEWARE for layer in server.middleware
        )

    def _security_of(self, manager: StreamableHTTPSessionManager) -> TransportSecurityMiddleware:
        # The SDK builds the same check from the manager's settings for every request; one is enough here.
        settings = manager.security_settings
        if self._security is None or self._security[0] is not settings:
            self._security = (settings, TransportSecurityMiddleware(settings))
        return self._security[1]


def _plain_relay(
    params: types.CallToolRequestParams, raw: Mapping[str, Any] | None
) -> ToolRelay[types.CallToolResult | WireResult]:
    """A modern-era call relayed as the SDK's handler relays it for a client without a session of its own: on
    the upstream's shared session, with the caller's `_meta` (less its envelope), the call's params for an
    upstream that asks for input, and no progress (none was asked for). A plain result may come back as the
    upstream's own wire dict, which `_shaped` writes as the SDK would."""
    meta = (relayable_params(raw) or {}).get("_meta")

    async def relay_call(
        upstream: Upstream, upstream_name: str, checked: dict[str, Any]
    ) -> types.CallToolResult | WireResult:
        assert isinstance(upstream, McpUpstream), "only MCP upstreams are relayed"
        return await upstream.relay_tool_call(
            upstream_name, checked, meta=dict(meta) if isinstance(meta, Mapping) else None, passing_input=params
        )

    return relay_call


def _shaped(server: Server[Any], version: str, result: BaseModel | WireResult) -> dict[str, Any]:
    """The result's wire form as the SDK's server runner shapes it for `version`. A result kept as the upstream's
    wire dict is already in that form when the upstream spoke `version`: the SDK's validation and dump would give
    it back as it is (upstreams/wire_result.py), so only the stamps below are left to add."""
    if isinstance(result, WireResult) and result.protocol_version == version:
        dumped = result.wire
    else:
        dumped = _dumped(version, result.model() if isinstance(result, WireResult) else result)
    if dumped.get("resultType") is None:
        dumped["resultType"] = "complete"
    meta = dumped.get("_meta")
    if meta is None:
        dumped["_meta"] = {SERVER_INFO_META_KEY: server.server_info_stamp}
    elif isinstance(meta, dict) and meta.get(SERVER_INFO_META_KEY) is None:
        dumped["_meta"] = {**meta, SERVER_INFO_META_KEY: server.server_info_stamp}
    return dumped


def _dumped(version: str, result: BaseModel) -> dict[str, Any]:
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    result_type = dumped.get("resultType")
    if version not in MODERN_PROTOCOL_VERSIONS or not isinstance(result_type, str) or result_type in CORE_RESULT_TYPES:
        try:
            dumped = sdk_methods.serialize_server_result(_METHOD, version, dumped)
        except ValidationError:
            # As the SDK: a server bug, and its detail (which may echo the result) stays in the log.
            logger.exception("handler for %r returned an invalid result", _METHOD)
            raise MCPError(code=types.INTERNAL_ERROR, message="Handler returned an invalid result") from None
    return dumped


class _Answer(NamedTuple):
    """An answer as it goes on the wire: its HTTP status and JSON-RPC message."""

    status: int
    body: bytes


def _encoded_result(request_id: RequestId, result: dict[str, Any]) -> bytes:
    # The SDK's modern entry encodes `JSONRPCResponse(...).model_dump(mode="json", by_alias=True, exclude_none=True)`
    # with json.dumps: the model's three fields in this order, and the result (already its wire form) as it is
    # (tests/unit/test_tool_call_wire.py compares the bytes).
    message = {"jsonrpc": "2.0", "id": request_id, "result": result}
    return json.dumps(message, separators=(",", ":")).encode()


def _error_answer(message: JSONRPCError) -> _Answer:
    body = json.dumps(message.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    return _Answer(ERROR_CODE_HTTP_STATUS.get(message.error.code, 200), body.encode())


async def _write_json(answer: _Answer, send: Send) -> None:
    headers = [(b"content-length", str(len(answer.body)).encode()), *_JSON_HEADERS]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _write_deferring_stream(answering: Callable[[], Awaitable[_Answer]], receive: Receive, send: Send) -> None:
    """The SDK's event-stream mode: JSON if the answer comes within its keep-alive interval, else an event stream
    opened then and pinged at that interval until the answer comes; a client that goes away cancels the call.

    The call runs in this task and the client is watched from a plain asyncio task beside it (the gateway runs on
    asyncio): an anyio task group per call, its cancel scopes and their backend look-ups were ~13% of the gateway's
    CPU on this path (benchmarks/peers.py --profile, c=32), for a watcher that almost never acts."""
    caller = asyncio.current_task()
    assert caller is not None, "called from a task"
    keep_alive = _KeepAlive(receive, send, caller)
    watcher = asyncio.get_running_loop().create_task(keep_alive.watch())
    try:
        answer = await answering()
    except asyncio.CancelledError:
        watcher.cancel()
        # The watcher's own cancel ends here (the client is gone); any other cancel goes on.
        if keep_alive.disconnected and caller.uncancel() == 0:
            return
        raise
    watcher.cancel()
    if keep_alive.disconnected:
        caller.uncancel()  # the call ended before the watcher's cancel reached it: the client is gone all the same
        return
    if not keep_alive.streaming:
        # Not a byte sent yet: the watcher waits on `receive`, and its cancel needs no waiting for.
        await _write_json(answer, send)
        return
    with contextlib.suppress(asyncio.CancelledError):
        await watcher  # a ping being written ends first
    event = b"event: message\r\ndata: " + answer.body + b"\r\n\r\n"
    await send({"type": "http.response.body", "body": event, "more_body": False})


class _KeepAlive:
    """The watch on a call's client while the call runs: cancels the call when the client disconnects, and once
    the call outlasts the SDK's keep-alive interval, opens the event stream and pings it at that interval."""

    def __init__(self, receive: Receive, send: Send, caller: asyncio.Task[Any]) -> None:
        self._receive = receive
        self._send = send
        self._caller = caller
        self.streaming = False
        self.disconnected = False

    async def watch(self) -> None:
        while True:
            try:
                async with asyncio.timeout(sdk_modern._SSE_PING_INTERVAL):
                    while (await self._receive()).get("type") != "http.disconnect":
                        pass
            except TimeoutError:
                if not self.streaming:
                    self.streaming = True  # before the first send: from here the answer waits for this task
                    await self._send({"type": "http.response.start", "status": 200,
                                      "headers": sdk_modern._SSE_HEADERS})
                await self._send({"type": "http.response.body", "body": _PING, "more_body": True})
            else:
                self.disconnected = True
                self._caller.cancel()
                return


class _AnnotatedSchemas:
    """Which input schemas mention `x-mcp-header`. Only those can make the SDK refuse a call for its `Mcp-Param-*`
    headers (without an annotation its check passes whatever the headers say), so only those are walked per call;
    the answer is kept per schema object (the registry's, alive until it is rebuilt)."""

    _LIMIT = 4096

    def __init__(self) -> None:
        self._known: dict[int, tuple[Mapping[str, Any], bool]] = {}

    def declares(self, schema: Mapping[str, Any]) -> bool:
        known = self._known.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        try:
            declares = X_MCP_HEADER_KEY in json.dumps(schema)
        except (TypeError, ValueError, RecursionError):
            declares = True  # the SDK's own walk decides
        if len(self._known) >= self._LIMIT:
            self._known.clear()  # tools of registries rebuilt since
        self._known[id(schema)] = (schema, declares)
        return declares
