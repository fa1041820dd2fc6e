"""The MCP front door: the SDK's low-level server bound to the registry, over streamable HTTP and stdio.

`/mcp` is one low-level server over every tool (`{server}-{tool}` names) and, through server/aggregate.py, every
MCP upstream's prompts, resources, completion and logging. Each `/mcp/{server}` is its own low-level server over
one server's tools (their own names) that relays everything else to that server's upstream unchanged, with the
upstream's identity and capabilities (server/relay.py says which upstream session serves which client). Each
gets the SDK's streamable-HTTP session manager, which serves both protocol eras (handshake with
`Mcp-Session-Id`, and the 2026-07-28 modern era).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import anyio.abc
import mcp_types as types
from anyio.abc import TaskGroup
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types.methods import CACHEABLE_METHODS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_gateway import __version__
from mcp_gateway.auth.middleware import server_refusal
from mcp_gateway.auth.principal import Principal, caller_of, current_principal
from mcp_gateway.auth.user_credentials import credentials_of
from mcp_gateway.registry import Registry, UnknownServerError, UnknownToolError
from mcp_gateway.server.aggregate import AggregatedHandlers, union_capabilities
from mcp_gateway.server.relay import ClientLink, Roster, progress_relay, relay_roots_changed, send
from mcp_gateway.server.sessions import SessionLimits, SessionPool
from mcp_gateway.server.start_gate import StartedRequests
from mcp_gateway.server.tool_call_wire import ToolCallWire
from mcp_gateway.server.tool_calls import ToolCalls, sees
from mcp_gateway.server.tool_list_answers import ToolListAnswers
from mcp_gateway.server.tool_list_wire import InitializeStash, ListedSessions, ToolListWire
from mcp_gateway.server.tracing import apply_tracing, tracing_enabled
from mcp_gateway.upstreams.base import Upstream
from mcp_gateway.upstreams.mcp import McpUpstream
from mcp_gateway.upstreams.openapi import OpenAPIUpstream

PAGE_SIZE = 100
"""Tools per tools/list page; big registries (the GitHub spec alone is 1,223 tools) are paginated."""


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise MCPError(code=types.INVALID_PARAMS, message="Invalid cursor") from error
    if not isinstance(offset, int) or offset < 0:
        raise MCPError(code=types.INVALID_PARAMS, message="Invalid cursor")
    return offset


_LIST_TOOLS_RESULT: dict[str, Any] = types.ListToolsResult(tools=[]).model_dump(
    by_alias=True, mode="json", exclude_none=True
)
"""A `tools/list` result's other fields as the SDK's model writes them (the SDK keeps those of the request's
protocol version), for the handler that returns the wire form itself."""

_RELAYED_REQUESTS: dict[str, type[BaseModel]] = {
    "prompts/list": types.PaginatedRequestParams,
    "prompts/get": types.GetPromptRequestParams,
    "resources/list": types.PaginatedRequestParams,
    "resources/templates/list": types.PaginatedRequestParams,
    "resources/read": types.ReadResourceRequestParams,
    "resources/subscribe": types.SubscribeRequestParams,
    "resources/unsubscribe": types.UnsubscribeRequestParams,
    "completion/complete": types.CompleteRequestParams,
    "logging/setLevel": types.SetLevelRequestParams,
}
"""Requests a per-server endpoint relays to its upstream as they are, and the params the SDK validates first."""

def _offers(capabilities: types.ServerCapabilities, method: str) -> bool:
    """Whether an upstream with these capabilities serves `method` (one of `_RELAYED_REQUESTS`)."""
    family = method.split("/", 1)[0]
    if family == "prompts":
        return capabilities.prompts is not None
    if family == "resources":
        if capabilities.resources is None:
            return False
        return method not in ("resources/subscribe", "resources/unsubscribe") or bool(capabilities.resources.subscribe)
    if family == "completion":
        return capabilities.completions is not None
    return capabilities.logging is not None


def relayed_capabilities(upstream: types.ServerCapabilities | None) -> types.ServerCapabilities:
    """What a per-server endpoint advertises: tools (always, from the registry), and of the rest exactly what
    the upstream offers. List changes are always announced: the gateway sends them (reloads, recoveries)."""
    tools = types.ToolsCapability(list_changed=True)
    if upstream is None:
        return types.ServerCapabilities(tools=tools)
    resources = None
    if upstream.resources is not None:
        resources = types.ResourcesCapability(subscribe=upstream.resources.subscribe, list_changed=True)
    return types.ServerCapabilities(
        tools=tools,
        prompts=types.PromptsCapability(list_changed=True) if upstream.prompts is not None else None,
        resources=resources,
        logging=upstream.logging,
        completions=upstream.completions,
    )


def _for_era(ctx: ServerRequestContext[Any, Any], result: dict[str, Any]) -> dict[str, Any]:
    """A handshake-era upstream's result, completed for a modern-era client: its `resultType`, and for cacheable
    methods a freshness hint that promises nothing (the upstream gave none; the gateway relays live)."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return result
    completed = {"resultType": "complete", **result}
    if ctx.method in CACHEABLE_METHODS:
        completed = {"ttlMs": 0, "cacheScope": "private", **completed}
    return completed


@dataclass(frozen=True)
class EndpointIdentity:
    """How an endpoint presents itself, read when a client connects: an upstream that reconnects, or a reload,
    changes it."""

    info: Callable[[], types.Implementation]
    capabilities: Callable[[], types.ServerCapabilities]
    instructions: Callable[[], str | None]


class _EndpointServer(Server[Any]):
    """A low-level server whose identity and capabilities come from an `EndpointIdentity`, not from its
    constructor."""

    def __init__(self, label: str, identity: EndpointIdentity, **handlers: Any) -> None:
        super().__init__(label, version=__version__, **handlers)
        self._identity = identity

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        info = self._identity.info()
        return InitializationOptions(
            server_name=info.name,
            server_version=info.version,
            title=info.title,
            description=info.description,
            website_url=info.website_url,
            icons=info.icons,
            capabilities=self._identity.capabilities(),
            instructions=self._identity.instructions(),
        )

    @property
    def server_info(self) -> types.Implementation:
        return self._identity.info()

    @property
    def server_info_stamp(self) -> dict[str, Any]:
        return self.server_info.model_dump(by_alias=True, mode="json", exclude_none=True)

    def get_capabilities(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> types.ServerCapabilities:
        return self._identity.capabilities()


def build_mcp_server(
    registry: Registry,
    server: str | None = None,
    roster: Roster | None = None,
    *,
    tracing: bool | None = None,
    listed: ListedSessions | None = None,
) -> Server[Any]:
    """A low-level MCP server over the whole registry (server=None) or one server, relaying to its upstream.
    `roster` collects the connected clients, to tell them when lists change. `tracing`: keep the SDK's
    OpenTelemetry spans (None: when the environment configures an exporter; see server/tracing.py). `listed`
    collects the handshake-era sessions whose listings server/tool_list_wire.py may answer."""

    calls = ToolCalls(registry, server)

    def mcp_upstream(name: str) -> McpUpstream | None:
        try:
            upstream = registry.upstream(name)
        except UnknownServerError:
            return None
        return upstream if isinstance(upstream, McpUpstream) else None

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        offset = _decode_cursor(params.cursor if params else None)
        caller = _caller(ctx)
        admits = None if caller.unrestricted else partial(sees, caller)
        # Wire forms prepared once per registry change (tool_pages.py): nothing is copied or dumped per request.
        page = registry.tool_pages(server).page(offset, admits)
        result = {**_LIST_TOOLS_RESULT, "tools": page.tools}
        if page.next_offset is not None:
            result["nextCursor"] = _encode_cursor(page.next_offset)
        return result

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        arguments = dict(params.arguments or {})
        tool = calls.resolve(params.name, _caller(ctx))
        if calls.relayed(tool) is None:
            return await calls.call(params.name, arguments, _caller_credentials(ctx))

        async def relay_call(upstream: Upstream, upstream_name: str, checked: dict[str, Any]) -> types.CallToolResult:
            assert isinstance(upstream, McpUpstream), "resolved to an MCP upstream above"
            link = ClientLink.of(ctx, upstream)
            try:
                session = await link.session(ctx)
            except MCPError as error:
                # A failing tool call is a result, whatever made it fail.
                return types.CallToolResult(content=[types.TextContent(text=error.message)], is_error=True)
            link.started(ctx)
            try:
                return await upstream.call_tool(
                    upstream_name,
                    checked,
                    on_progress=progress_relay(ctx),
                    meta=link.request_meta(ctx, session),
                    session=session,
                    passing_input=params if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS else None,
                )
            finally:
                link.finished(ctx)

        return await calls.relay(params.name, arguments, relay_call)

    async def relay(ctx: ServerRequestContext[Any, Any], params: BaseModel) -> dict[str, Any]:
        upstream = mcp_upstream(server) if server is not None else None
        capabilities = upstream.capabilities if upstream is not None else None
        if upstream is None or capabilities is None or not _offers(capabilities, ctx.method):
            raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data=ctx.method)
        return _for_era(ctx, await send(ctx, upstream, ctx.method, ctx.params))

    def input_schema(name: str) -> dict[str, Any] | None:
        # Without this lookup the SDK finds a tool's schema for modern-era calls by paging through tools/list
        # on every call: measured 28 ms of CPU per call instead of 9, and 265 ms for a tool on the last page.
        try:
            tool = registry.resolve(name, server)
        except (UnknownToolError, UnknownServerError):
            return None
        return tool.definition.input_schema if sees(current_principal(), tool) else None

    label = "mcp-gateway" if server is None else f"mcp-gateway/{server}"
    own_info = types.Implementation(name=label, version=__version__)
    """Built once: every answer of a modern-era request is stamped with the server's identity."""

    def info() -> types.Implementation:
        upstream = mcp_upstream(server) if server is not None else None
        upstream_info = upstream.server_info if upstream is not None else None
        return upstream_info or own_info

    def capabilities() -> types.ServerCapabilities:
        if server is None:
            return union_capabilities(registry)
        upstream = mcp_upstream(server)
        return relayed_capabilities(upstream.capabilities if upstream is not None else None)

    def instructions() -> str | None:
        upstream = mcp_upstream(server) if server is not None else None
        return upstream.instructions if upstream is not None else None

    low_level = _EndpointServer(
        label,
        EndpointIdentity(info, capabilities, instructions),
        # The SDK accepts a dict in the result's wire form as well as the model its annotation names.
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=input_schema,
    )
    apply_tracing(low_level, tracing_enabled(os.environ) if tracing is None else tracing)
    if server is not None:
        for method, params_type in _RELAYED_REQUESTS.items():
            low_level.add_request_handler(method, params_type, relay)
    else:
        aggregated = AggregatedHandlers(registry, PAGE_SIZE, _encode_cursor, _decode_cursor, _for_era)
        for method, params_type in _RELAYED_REQUESTS.items():
            low_level.add_request_handler(method, params_type, aggregated.handler(method))

    def identity_servers() -> list[str]:
        # The MCP upstreams whose identity or capabilities this endpoint announces (server/start_gate.py).
        names = [server] if server is not None else registry.server_names()
        return [name for name in names if mcp_upstream(name) is not None]

    low_level.middleware.append(StartedRequests(registry, identity_servers))
    # Inside the SDK's own middleware (tracing still sees every request); answers repeated listings as shaped.
    low_level.middleware.append(
        ToolListAnswers(registry, server, _decode_cursor, lambda: low_level.server_info_stamp)
    )
    low_level.add_notification_handler(
        "notifications/roots/list_changed", types.NotificationParams, relay_roots_changed
    )
    if listed is not None:
        low_level.middleware.append(InitializeStash())
    if roster is not None:

        async def initialized(ctx: ServerRequestContext[Any, Any], params: types.NotificationParams) -> None:
            # Only a handshake-era client has a connection to tell later; it says so once, here (rather than
            # a middleware on every request).
            roster.add(ctx)

        low_level.add_notification_handler("notifications/initialized", types.NotificationParams, initialized)
    return low_level


def _caller(ctx: Any) -> Principal:
    return caller_of(ctx)


def _caller_credentials(ctx: Any) -> dict[str, str]:
    request = getattr(ctx, "request", None)
    return credentials_of(request.scope) if request is not None else {}


class _AsgiEndpoint:
    """Starlette treats plain functions as request/response handlers; this marks a handler as raw ASGI."""

    def __init__(self, handler: ASGIApp) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._handler(scope, receive, send)


class McpEndpoints:
    """Session managers for `/mcp` and every `/mcp/{server}`, as one ASGI app routed by path parameter. Tells
    connected clients when what they see changes, and opens or closes a server's endpoint when a reload adds or
    removes the server."""

    def __init__(
        self,
        registry: Registry,
        *,
        stateless: bool,
        security: TransportSecuritySettings | None,
        sessions: SessionLimits | None = None,
    ) -> None:
        self._registry = registry
        self._stateless = stateless
        self._security = security
        self._pool = SessionPool(sessions or SessionLimits())
        self._wires: weakref.WeakKeyDictionary[StreamableHTTPSessionManager, ToolListWire] = (
            weakref.WeakKeyDictionary()
        )
        """How each endpoint's repeated listings are answered (server/tool_list_wire.py), by its manager."""
        self._call_wires: weakref.WeakKeyDictionary[StreamableHTTPSessionManager, ToolCallWire] = (
            weakref.WeakKeyDictionary()
        )
        """How each endpoint's modern-era tool calls are answered (server/tool_call_wire.py), by its manager."""
        self.gateway_roster = Roster()
        self.gateway = self._manager(None, self.gateway_roster)
        self.rosters: dict[str, Roster] = {}
        self.per_server: dict[str, StreamableHTTPSessionManager] = {}
        """The endpoints that are open (their session manager runs)."""
        self._closers: dict[str, anyio.Event] = {}
        self._task_group: TaskGroup | None = None
        registry.on_change(self._changed)

    def _manager(self, server: str | None, roster: Roster) -> StreamableHTTPSessionManager:
        listed = ListedSessions()
        # One pool for every endpoint: the session cap is gateway-wide.
        manager = self._pool.manager(
            app=build_mcp_server(self._registry, server, roster, listed=listed),
            stateless=self._stateless,
            security_settings=self._security,
            json_responses=(lambda: self._answers_alone(server)) if server is not None else None,
        )
        self._wires[manager] = ToolListWire(self._registry, server, listed, stateless=self._stateless)
        self._call_wires[manager] = ToolCallWire(self._registry, ToolCalls(self._registry, server))
        return manager

    def _answers_alone(self, server: str) -> bool:
        """Whether every answer of this server's endpoint is its result alone: no progress, log messages or
        requests of an upstream to relay while a call runs (an OpenAPI server). Then the SDK answers with plain
        JSON in both eras, without the event stream and the task group and memory stream it needs per request
        (measured: 15% less CPU per OpenAPI call, benchmarks/peers.py). `/mcp` and MCP upstreams keep the streams.
        A handshake-era session keeps what it got when it opened."""
        try:
            upstream = self._registry.upstream(server)
        except UnknownServerError:
            return False
        return isinstance(upstream, OpenAPIUpstream)

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        async with self.gateway.run(), anyio.create_task_group() as task_group:
            self._task_group = task_group
            for name in self._registry.server_names():
                self._closers[name] = anyio.Event()
                await task_group.start(self._serve, name, self._closers[name])
            try:
                yield
            finally:
                self._task_group = None
                task_group.cancel_scope.cancel()

    async def _serve(
        self, server: str, closed: anyio.Event, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run one server's endpoint until `closed` (its server was removed) or the gateway stops."""
        roster = Roster()
        session_manager = self._manager(server, roster)
        try:
            async with session_manager.run():
                self.rosters[server], self.per_server[server] = roster, session_manager
                task_status.started()
                await closed.wait()
        finally:
            if self.per_server.get(server) is session_manager:
                del self.per_server[server], self.rosters[server]
            if self._closers.get(server) is closed:
                del self._closers[server]
            self._pool.release(session_manager)

    @property
    def session_managers(self) -> int:
        """Session managers alive: `/mcp` and one per open server endpoint."""
        return len(self._pool)

    def _changed(self, server: str, kind: str) -> None:
        task_group = self._task_group
        if task_group is None:
            return
        present = self._registry.has_server(server)
        if present and server not in self._closers:
            self._closers[server] = anyio.Event()
            task_group.start_soon(self._serve, server, self._closers[server])
        elif not present and server in self._closers:
            self._closers.pop(server).set()
        method = f"notifications/{kind}/list_changed"
        task_group.start_soon(self.gateway_roster.notify, method)
        roster = self.rosters.get(server)
        if roster is not None:
            task_group.start_soon(roster.notify, method)

    def open_sessions(self) -> int:
        """Handshake-era sessions open over every endpoint."""
        return self._pool.open_sessions()

    def gateway_app(self) -> ASGIApp:
        return _AsgiEndpoint(self.handle_gateway)

    def server_app(self) -> ASGIApp:
        """`/mcp/{server}` as a route's endpoint (the server named by the path parameter)."""

        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            await self.handle_server(scope.get("path_params", {}).get("server", ""), scope, receive, send)

        return _AsgiEndpoint(handle)

    async def handle_gateway(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A request of `/mcp`."""
        await self._handle(self.gateway, scope, receive, send)

    async def handle_server(self, server: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A request of `/mcp/{server}`: 403 for a caller that may not use the server, 404 for an unknown one."""
        refusal = server_refusal(scope, server)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        session_manager = self.per_server.get(server)
        if session_manager is None:
            response = JSONResponse(
                {"error": f"unknown server '{server}'", "servers": self._registry.server_names()}, status_code=404
            )
            await response(scope, receive, send)
            return
        await self._handle(session_manager, scope, receive, send)

    async def _handle(
        self, manager: StreamableHTTPSessionManager, scope: Scope, receive: Receive, send: Send
    ) -> None:
        wire = self._wires.get(manager)
        onward = manager.handle_request if wire is None else partial(wire.handle, manager)
        calls = self._call_wires.get(manager)
        if calls is None:
            await onward(scope, receive, send)
        else:
            await calls.handle(manager, scope, receive, send, onward)


__all__ = ["McpEndpoints", "UnknownServerError", "build_mcp_server"]
