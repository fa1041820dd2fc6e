"""Which upstream session serves a downstream client, and how the upstream's traffic finds its way back to it.

The session model:

- **Shared session (the default).** One pooled session per upstream carries every plain request of every
  client: tools, prompts, resources, completion (plain tool calls to an HTTP upstream that also speaks the
  modern era go over a modern-era channel beside it, see `upstreams/modern_channel.py`). What comes back
  on it is attributable only by progress token (the SDK's dispatcher gives each relayed request its own), so
  progress is relayed to the request that asked for it, and nothing else that comes back on it is delivered
  to anyone (log messages are dropped; sampling, elicitation and roots requests are refused, see
  `McpUpstream._shared_handlers`).
- **A session of the client's own**, opened the first time a handshake-era client with a back-channel needs
  one, and closed with that client's connection: when it declared sampling, elicitation or roots (the upstream
  may ask it during any call), or when it sets a log level or subscribes to a resource (state the upstream keeps
  per session). From then on every request of that client to that upstream uses it, so the upstream's log
  messages, sampling, elicitation, roots requests and resource updates on it belong to that client alone. Within
  the client they ride the stream of the request in flight that most recently started (the only one, in the
  common case), else the client's standalone stream.

Modern-era (2026-07-28) requests and stateless HTTP carry no session: they always use the shared one (the
modern protocol has no server-to-client requests, and log delivery is per request). When the upstream session
itself is of the modern era (a modern-only upstream, see upstreams/era.py), what the upstream asks comes as an
"input required" result: a modern-era client gets it passed through and answers it itself; a handshake-era
client's own session answers it by asking the client as above. Such a session keeps no log level or
subscriptions at the upstream: the client's level is stamped on each of its requests (`ClientLink.request_meta`)
and its subscriptions are one listen stream (`ClientLink.watch_resource`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from typing import Any

import anyio
import mcp_types as types
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import LOG_LEVEL_META_KEY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_gateway.upstreams.era import ResourceWatch
from mcp_gateway.upstreams.mcp import McpUpstream
from mcp_gateway.upstreams.mcp_connection import McpSession
from mcp_gateway.upstreams.mcp_session import ProgressCallback, SessionHandlers, relayable_params

logger = logging.getLogger(__name__)

_REOPEN_PAUSE = 0.5
_REOPEN_MAX_PAUSE = 10.0
"""How long to wait between attempts to open a lost session of a client's own again (doubling up to the max)."""

_LINKS_KEY = "mcp_gateway.links"
"""Where a downstream connection keeps its `ClientLink`s (one per upstream), in the SDK's per-connection state."""

_RELAYED_NOTIFICATIONS = (types.LoggingMessageNotification, types.ResourceUpdatedNotification)


def downstream_connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The downstream client's connection behind a request: its `state` and `exit_stack` are the SDK's documented
    seam for per-client bookkeeping (a link per upstream, closed with the client).

    The one private access of the relay, kept here alone. The SDK (mcp 2.x) has no public way to it from a
    low-level handler: `ServerRequestContext` carries a `ServerSession` built per request (so the session object
    cannot key per-client state either), only the high-level `Context` exposes `.connection`, and
    `Server.middleware` receives the same `ServerRequestContext` (the SDK's own TODO, "Context rework", is to
    hand it the `Context`). tests/e2e/test_gateway_relay.py fails if an upgrade moves it."""
    connection: Connection = ctx.session._connection
    return connection


def has_session(ctx: ServerRequestContext[Any, Any]) -> bool:
    """A handshake-era client that can be asked things back: the only kind a session of its own serves."""
    connection = downstream_connection(ctx)
    return connection.protocol_version not in MODERN_PROTOCOL_VERSIONS and ctx.session.can_send_request


def progress_relay(ctx: ServerRequestContext[Any, Any]) -> ProgressCallback | None:
    """Progress for the request behind `ctx`, under the token its client chose; None when it asked for none."""
    # From the wire params: the SDK's parsed `ctx.meta` spells the key `progress_token`.
    meta = (ctx.params or {}).get("_meta")
    token = meta.get("progressToken") if isinstance(meta, Mapping) else None
    if not isinstance(token, str | int):
        return None
    session, request_id = ctx.session, ctx.request_id

    async def relay(progress: float, total: float | None, message: str | None) -> None:
        params = types.ProgressNotificationParams(progress_token=token, progress=progress, total=total, message=message)
        notification = types.ProgressNotification(params=params)
        # The request's own id (not its string form): streamable HTTP finds the request's stream by it.
        await session.send_notification(notification, related_request_id=request_id)

    return relay


def request_meta(ctx: ServerRequestContext[Any, Any]) -> dict[str, Any] | None:
    """The caller's `_meta` to relay, without what the upstream session supplies itself (progress token,
    protocol envelope)."""
    if not ctx.params or "_meta" not in ctx.params:
        return None
    relayed = relayable_params(ctx.params)
    meta = (relayed or {}).get("_meta")
    return dict(meta) if isinstance(meta, Mapping) else None


class ClientLink:
    """One downstream client's ties to one upstream: its own session once it needs one, and its requests in
    flight there (so what the upstream sends back rides the right stream)."""

    def __init__(self, upstream: McpUpstream) -> None:
        self._upstream = upstream
        self._session: McpSession | None = None
        self._opening = anyio.Lock()
        self._in_flight: list[ServerRequestContext[Any, Any]] = []
        self._last: ServerRequestContext[Any, Any] | None = None
        self.capabilities: types.ClientCapabilities | None = None
        self._log_level: str | None = None
        """The level the client set. On a modern-era session of its own it is not state the upstream keeps but an
        opt-in each request carries (`_meta`), so the link stamps it; on a handshake-era one it is set again when
        the session has to be opened again."""
        self._subscriptions: set[str] = set()
        """The URIs the client subscribed to: what a session opened again (the upstream restarted) subscribes to."""
        self._resources: ResourceWatch | None = None
        """The client's resource subscriptions, when its own upstream session is of the modern era."""
        self._closed = False

    @classmethod
    def of(cls, ctx: ServerRequestContext[Any, Any], upstream: McpUpstream) -> ClientLink:
        """This client's link to `upstream`, created on first use and closed with the client's connection."""
        connection = downstream_connection(ctx)
        links: dict[str, ClientLink] = connection.state.setdefault(_LINKS_KEY, {})
        link = links.get(upstream.name)
        if link is None or link._upstream is not upstream:
            link = cls(upstream)
            links[upstream.name] = link
            connection.exit_stack.push_async_callback(link.aclose)
        link.capabilities = ctx.session.client_capabilities
        return link

    def wants_own_session(self) -> bool:
        capabilities = self.capabilities
        if capabilities is None:
            return False
        return any(value is not None for value in (capabilities.sampling, capabilities.elicitation, capabilities.roots))

    async def session(self, ctx: ServerRequestContext[Any, Any], *, required: bool = False) -> McpSession | None:
        """The session to use for this request: the client's own when it has or needs one (`required`: the
        request sets per-session state), else None for the shared session."""
        self._last = ctx
        if self._session is not None and self._session.usable:
            return self._session
        if not has_session(ctx) or not (required or self.wants_own_session() or self._session is not None):
            return None
        async with self._opening:
            if self._session is None or not self._session.usable:
                await self._reopen()
                if self._session is None or not self._session.usable:
                    failure = self._session.failure if self._session is not None else "closed"
                    raise MCPError(
                        types.INTERNAL_ERROR,
                        f"server '{self._upstream.name}': cannot open a session for this client: {failure}",
                    )
        return self._session

    async def _reopen(self) -> None:
        """Open the client's session (under `_opening`); one that replaces a lost session gets the state the
        client set on it again, as the client still counts on it: its gateway session never ended."""
        stale, self._session = self._session, await self._upstream.open_session(self._handlers())
        if stale is not None:
            await stale.aclose()
        if stale is not None and self._session.usable:
            await self._restore(self._session)

    async def _restore(self, session: McpSession) -> None:
        if self._log_level is None and not self._subscriptions:
            return
        self._watch_liveness(session)
        if session.modern:
            resources, self._resources = self._resources, None
            if resources is not None:
                await resources.aclose()
            for uri in sorted(self._subscriptions):
                await self.watch_resource(session, uri, watched=True)
            return
        restored: list[tuple[str, dict[str, Any]]] = [("resources/subscribe", {"uri": uri})
                                                      for uri in sorted(self._subscriptions)]
        if self._log_level is not None:
            restored.insert(0, ("logging/setLevel", {"level": self._log_level}))
        for method, params in restored:
            try:
                await self._upstream.request(method, params, session=session)
            except MCPError as error:
                logger.warning("server '%s': %s again for a client failed: %s", self._upstream.name, method,
                               error.error.message)

    def _watch_liveness(self, session: McpSession) -> None:
        """Have the upstream notice when this session is lost, so its state is set again without waiting for the
        client's next request (a subscriber may only be waiting for updates)."""
        session.connection.on_lost = self._session_lost

    async def _session_lost(self) -> None:
        pause = _REOPEN_PAUSE
        while not self._closed:
            async with self._opening:
                if self._closed or self._session is None or self._session.usable:
                    return
                await self._reopen()
                if self._session is not None and self._session.usable:
                    return
            await anyio.sleep(pause)
            pause = min(pause * 2, _REOPEN_MAX_PAUSE)

    def remember(self, session: McpSession, method: str, params: Mapping[str, Any] | None) -> None:
        """Per-session state the upstream accepted on the client's own handshake-era session."""
        value = str((params or {}).get("level" if method == "logging/setLevel" else "uri"))
        if method == "logging/setLevel":
            self._log_level = value
        elif method == "resources/subscribe":
            self._subscriptions.add(value)
        else:
            self._subscriptions.discard(value)
        self._watch_liveness(session)

    async def watch_resource(self, session: McpSession, uri: str, *, watched: bool) -> None:
        """`resources/subscribe` or `unsubscribe` on a modern-era session of the client's own: a listen stream."""
        client = session.connection.client
        if client is None:
            raise MCPError(types.INTERNAL_ERROR, f"server '{self._upstream.name}': the session for this client closed")
        if self._resources is None:
            # Updates arrive at this session's notification handler (see `_handlers`), as in the handshake era.
            self._resources = ResourceWatch(client, self._upstream.name)
        await self._resources.change(uri, watched=watched)
        if watched:
            self._subscriptions.add(uri)
        else:
            self._subscriptions.discard(uri)
        self._watch_liveness(session)

    def set_log_level(self, level: str) -> None:
        self._log_level = level

    def request_meta(self, ctx: ServerRequestContext[Any, Any], session: McpSession | None) -> dict[str, Any] | None:
        """The `_meta` to relay with this client's request on `session`: the caller's own (`request_meta`), with
        the client's log level stamped on a modern-era session of its own."""
        meta = request_meta(ctx)
        if session is None or self._log_level is None or not session.modern:
            return meta
        return {LOG_LEVEL_META_KEY: self._log_level, **(meta or {})}

    def started(self, ctx: ServerRequestContext[Any, Any]) -> None:
        self._in_flight.append(ctx)

    def finished(self, ctx: ServerRequestContext[Any, Any]) -> None:
        self._in_flight.remove(ctx)

    def _target(self) -> tuple[ServerRequestContext[Any, Any] | None, types.RequestId | None]:
        """Where upstream traffic for this client goes: the newest request in flight, else the standalone stream
        (reached through any of the client's request sessions, without a related request id)."""
        if self._in_flight:
            ctx = self._in_flight[-1]
            return ctx, ctx.request_id
        return self._last, None

    def _handlers(self) -> SessionHandlers:
        capabilities = self.capabilities or types.ClientCapabilities()

        async def ask(request: types.ServerRequest, result_type: type[Any]) -> Any:
            ctx, related = self._target()
            if ctx is None:
                return types.ErrorData(code=types.INTERNAL_ERROR, message="mcp-gateway: the client is gone")
            try:
                return await ctx.session.send_request(
                    request, result_type, metadata=ServerMessageMetadata(related_request_id=related)
                )
            except MCPError as error:
                return error.error
            except Exception as error:
                logger.warning("relaying %s to the client failed: %s", request.method, error)
                return types.ErrorData(code=types.INTERNAL_ERROR, message=f"mcp-gateway: {type(error).__name__}")

        async def sampling(params: types.CreateMessageRequestParams) -> Any:
            result_type = types.CreateMessageResultWithTools if params.tools else types.CreateMessageResult
            return await ask(types.CreateMessageRequest(params=params), result_type)

        async def elicitation(params: types.ElicitRequestParams) -> Any:
            return await ask(types.ElicitRequest(params=params), types.ElicitResult)

        async def roots() -> Any:
            return await ask(types.ListRootsRequest(), types.ListRootsResult)

        async def notification(notification: types.ServerNotification) -> None:
            if not isinstance(notification, _RELAYED_NOTIFICATIONS):
                # Progress reaches its request through the dispatcher; list changes come once, from the shared
                # session, to every client.
                return
            ctx, related = self._target()
            if ctx is None:
                return
            if isinstance(notification, types.ResourceUpdatedNotification):
                related = None  # an update belongs to the subscription, not to whatever request is running
            await ctx.session.send_notification(notification, related_request_id=related)

        return SessionHandlers(
            sampling=sampling if capabilities.sampling is not None else None,
            elicitation=elicitation if capabilities.elicitation is not None else None,
            roots=roots if capabilities.roots is not None else None,
            notification=notification,
        )

    async def roots_changed(self) -> None:
        """The client's roots changed: tell the upstream, on the client's own session (the only one that asked)."""
        session = self._session
        client = session.connection.client if session is not None else None
        if client is not None:
            await client.session.send_notification(types.RootsListChangedNotification())

    async def aclose(self) -> None:
        self._closed = True
        resources, self._resources = self._resources, None
        if resources is not None:
            await resources.aclose()
        session, self._session = self._session, None
        self._in_flight.clear()
        self._last = None
        if session is not None:
            await session.aclose()


async def relay_roots_changed(ctx: ServerRequestContext[Any, Any], params: types.NotificationParams) -> None:
    """`notifications/roots/list_changed` from a client, to every upstream it has a session of its own with."""
    links: dict[str, ClientLink] = downstream_connection(ctx).state.get(_LINKS_KEY, {})
    for link in list(links.values()):
        await link.roots_changed()


class Roster:
    """The downstream connections of one endpoint, to tell each when a list changes. Weak: a connection that
    ends simply drops out."""

    def __init__(self) -> None:
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()

    def add(self, ctx: ServerRequestContext[Any, Any]) -> None:
        self._connections.add(downstream_connection(ctx))

    def __len__(self) -> int:
        return len(self._connections)

    async def notify(self, method: str) -> None:
        for connection in list(self._connections):
            if connection.initialized.is_set():
                # Best effort by the SDK's contract: a closed stream drops the notification, never raises.
                await connection.outbound.notify(method, None)


SESSION_STATE_REQUESTS = frozenset({"logging/setLevel", "resources/subscribe"})
"""Requests that set per-session state at the upstream, so they need the client's own upstream session."""


_SESSION_STATE_CHANGES = frozenset({"logging/setLevel", "resources/subscribe", "resources/unsubscribe"})
"""Requests whose effect the client's own session keeps: a modern-era upstream session does not take them (the
client's link keeps their state instead), and a session opened again is given them again."""


async def send(
    ctx: ServerRequestContext[Any, Any], upstream: McpUpstream, method: str, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Relay one request of this client to `upstream`, on the session that client's requests use there."""
    link = ClientLink.of(ctx, upstream)
    needs_state = method in SESSION_STATE_REQUESTS
    session = await link.session(ctx, required=needs_state)
    if session is not None and session.modern and method in _SESSION_STATE_CHANGES:
        if method == "logging/setLevel":
            link.set_log_level(str((params or {}).get("level")))
        else:
            await link.watch_resource(session, str((params or {}).get("uri")), watched=method == "resources/subscribe")
        return {}
    if needs_state and session is None:
        if method == "logging/setLevel":
            # No session to keep a level for, and nothing logged on the shared session reaches anyone.
            return {}
        raise MCPError(
            code=types.INVALID_REQUEST,
            message="resource subscriptions need a session (the handshake era over stateful HTTP or stdio)",
        )
    meta = link.request_meta(ctx, session)
    if meta is not None:
        params = {**(params or {}), "_meta": meta}
    link.started(ctx)
    try:
        result = await upstream.request(method, params, on_progress=progress_relay(ctx), session=session)
    finally:
        link.finished(ctx)
    if session is not None and method in _SESSION_STATE_CHANGES:
        link.remember(session, method, params)
    return result
