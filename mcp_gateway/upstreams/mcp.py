"""An upstream MCP server (stdio, streamable HTTP or SSE) as a source of tools, through the official SDK client.

Task ownership, the one subtle part. The SDK's transports and `Client` are async context managers that open
anyio task groups, so each must be entered and exited by the same task, and an error inside one (a POST to a
dead server, a child that exits) cancels the task that entered it. Neither the task calling `start()` (the
registry starts upstreams concurrently, in short-lived tasks) nor a call handler can be that owner: both end
long before the connection should. So:

- each connection gets its own holder task, `_hold`, which enters the client, publishes it, and parks until
  asked to let go; other tasks only send requests through the published client, which the SDK allows from
  any task. When a connection dies, its holder leaves the client's context, records why, and ends without
  raising, so a broken connection never takes anything else down;
- the holders live in one anyio task group owned by the upstream. Its host is the upstream's own supervisor
  task, spawned by `start()` and ended by `aclose()`, so the group is entered and exited in one task whichever
  tasks call `start()` and `aclose()`. anyio has no way to spawn a task outside a task group, so the
  supervisor is an asyncio task: the gateway runs on asyncio (uvicorn).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, cast

import anyio
import mcp_types as types
from anyio.abc import TaskGroup
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp_gateway import __version__
from mcp_gateway.http import httpx, new_client
from mcp_gateway.request_id import tag_outbound_hook
from mcp_gateway.upstreams import era, mcp_errors
from mcp_gateway.upstreams.base import Health
from mcp_gateway.upstreams.lean_calls import LeanCalls
from mcp_gateway.upstreams.mcp_connection import McpSession, UpstreamConnection, release_connection
from mcp_gateway.upstreams.mcp_errors import describe_error, redact, upstream_target
from mcp_gateway.upstreams.mcp_session import ProgressCallback, SessionHandlers, send_raw
from mcp_gateway.upstreams.mcp_spec import McpServerSpec
from mcp_gateway.upstreams.modern_channel import modern_calls_channel
from mcp_gateway.upstreams.sse_retry import resume_request_streams_at_once
from mcp_gateway.upstreams.stdio_noise import quiet_sdk_parse_failures, stdout_noise_handler
from mcp_gateway.upstreams.tool_listing import list_all_tools
from mcp_gateway.upstreams.transport_noise import quiet_sdk_transport_failures
from mcp_gateway.upstreams.wire_result import WireResult

logger = logging.getLogger(__name__)

_STREAM_READ_TIMEOUT = 86400.0
"""How long a stream may stay silent. Streams are long-lived and carry the responses, so they are not bounded by
the per-call timeout: calls are bounded on our side. The upstream's standalone stream (its notifications: list
changes, resource updates, logs) is silent for as long as nothing happens; the SDK gives it up after two read
timeouts in a row, so a short one (it was 300 s) lost an idle upstream's notifications for good after ten minutes,
and tore down an SSE upstream's whole connection every five."""

_LIVENESS_INTERVAL = 5.0
"""How often the shared session of an idle upstream is pinged, to notice a server that went away."""

_STANDALONE_STREAM_WAIT = 5.0
"""At most this long, a client's own session waits for its standalone stream before its first request."""



ChangeListener = Callable[[str, str], None]
"""Called with (server, what changed: "tools" | "prompts" | "resources") when the upstream says a list changed."""


class McpUpstream:
    """Tools of one upstream MCP server. A lost connection (seen by a call, or by the idle ping) is reopened once
    at once; one that stays lost is `down` (out of the lists) until `recover()` or a call reconnects it."""

    def __init__(self, name: str, spec: McpServerSpec) -> None:
        self.name = name
        self._spec = spec
        self._health = Health("starting")
        self._tools: list[types.Tool] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = anyio.Event()
        self._task_group: TaskGroup | None = None
        """Set while the supervisor runs; None before start() and from the moment aclose() begins."""
        self._connection: UpstreamConnection | None = None
        self._reconnect_lock = anyio.Lock()
        self._change_listener: ChangeListener | None = None
        self._identity: tuple[types.ServerCapabilities, types.Implementation | None, str | None] | None = None
        self.down = False
        """Lost, and not reopened at once: its tools are kept out of the lists until it is back."""
        self._modern_only = False
        """The shared session found the handshake refused: a client's own session need not try it again."""
        self.reconnects = 0
        """Connections opened again after one was established (what /metrics reports)."""

    @property
    def health(self) -> Health:
        return self._health

    def on_change(self, listener: ChangeListener) -> None:
        """Be told when the upstream's tools, prompts or resources change (its tools are re-listed first)."""
        self._change_listener = listener

    @property
    def timeout(self) -> float:
        return self._spec.timeout

    def _shared_client(self) -> Client | None:
        connection = self._connection
        return connection.client if connection is not None else None

    @property
    def capabilities(self) -> types.ServerCapabilities | None:
        """What the upstream advertised when the shared session last connected (kept while a reconnect is
        pending, like its tools); None if it never connected."""
        return self._identity[0] if self._identity is not None else None

    @property
    def server_info(self) -> types.Implementation | None:
        return self._identity[1] if self._identity is not None else None

    @property
    def instructions(self) -> str | None:
        return self._identity[2] if self._identity is not None else None

    async def start(self) -> None:
        if self._supervisor is not None:
            raise RuntimeError(f"server '{self.name}' is already started")
        running = anyio.Event()
        self._closing = anyio.Event()
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(running), name=f"mcp upstream {self.name}"
        )
        await running.wait()
        await self._connect()

    async def _supervise(self, running: anyio.Event) -> None:
        """Host the holder tasks' group from `start()` until `aclose()`."""
        async with anyio.create_task_group() as task_group:
            self._task_group = task_group
            running.set()
            await self._closing.wait()
            self._task_group = None
            if self._connection is not None:
                await release_connection(self._connection)

    def tools(self) -> list[types.Tool]:
        """The tools of the last successful listing, kept while a reconnect is pending and while the server is
        `down` (so a call to one still reaches this upstream, which says why it fails or reconnects)."""
        return list(self._tools)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        on_progress: ProgressCallback | None = None,
        meta: dict[str, Any] | None = None,
        session: McpSession | None = None,
        passing_input: types.InputResponseRequestParams | None = None,
    ) -> types.CallToolResult:
        """Call a tool on the shared session, or on `session` (one client's own). Progress the upstream reports
        goes to `on_progress`; `meta` is the caller's request `_meta`, relayed. `passing_input`: a modern-era
        client's call, see `era.call_passing_input`."""
        result = await self._call_tool(name, arguments, on_progress, meta, session, passing_input, keep_wire=False)
        return result if isinstance(result, types.CallToolResult) else result.model()

    async def relay_tool_call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        meta: dict[str, Any] | None = None,
        passing_input: types.InputResponseRequestParams | None = None,
    ) -> types.CallToolResult | WireResult:
        """`call_tool` on the shared session for a writer that relays the result unchanged: a result already in
        the form the SDK writes may come back as the upstream's own wire dict (upstreams/wire_result.py)."""
        return await self._call_tool(name, arguments, None, meta, None, passing_input, keep_wire=True)

    async def _call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        on_progress: ProgressCallback | None,
        meta: dict[str, Any] | None,
        session: McpSession | None,
        passing_input: types.InputResponseRequestParams | None,
        *,
        keep_wire: bool,
    ) -> types.CallToolResult | WireResult:
        connection = session.connection if session is not None else await self._usable_connection()
        client = connection.client if connection is not None else None
        lean = connection.calls if connection is not None and session is None else None
        if lean is not None:
            client = lean.client
            if on_progress is not None:  # the SDK client routes the upstream's progress to the caller
                lean = None
        if connection is None or client is None:
            if session is not None:
                return self._failure(f"the session for this client is closed ({session.failure or 'closed'})")
            # The health detail already names the server and says why it cannot be reached.
            return mcp_errors.error_result(self._health.detail or f"server '{self.name}' is not started")
        try:
            if lean is not None:
                # asyncio's own deadline (the gateway runs on asyncio): anyio's cancel scope and its backend look-ups
                # were ~3% of the gateway's CPU per relayed call (benchmarks/peers.py --profile, c=32).
                async with asyncio.timeout(self._spec.timeout):
                    return await lean.call_tool(name, arguments, meta, answers=passing_input, keep_wire=keep_wire)
            with anyio.fail_after(self._spec.timeout):
                if passing_input is not None and era.is_modern(client):
                    return await era.call_passing_input(
                        client, name, arguments, passing_input, on_progress=on_progress, meta=cast(Any, meta)
                    )
                return await client.call_tool(
                    name, arguments, progress_callback=on_progress, meta=cast(types.RequestParamsMeta | None, meta)
                )
        except TimeoutError:
            return self._failure(f"tool '{name}' did not answer within {self._spec.timeout:g}s")
        except MCPError as error:
            reason = self._redact(error.message)
            if error.code == types.REQUEST_TIMEOUT:
                # The SDK's own read timeout (the same length, armed a moment later) can win the race.
                return self._failure(f"tool '{name}' did not answer within {self._spec.timeout:g}s")
            if mcp_errors.means_connection_lost(error):
                await self._lose(connection, reason)
                return self._failure(f"connection lost ({reason})")
            return self._failure(f"rejected the call to '{name}': {reason}")
        except RuntimeError as error:
            # How the SDK reports structured content that breaks the tool's own output schema: a fault of the
            # upstream's result, not of the connection. Its first line says what is wrong; the rest dumps schemas.
            summary = self._redact(str(error).partition("\n")[0])
            return self._failure(f"returned an invalid result for '{name}': {summary}")
        except (httpx.HTTPError, OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as error:
            reason = self._describe(error)
            await self._lose(connection, reason)
            return self._failure(f"connection lost ({reason})")

    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        *,
        on_progress: ProgressCallback | None = None,
        session: McpSession | None = None,
    ) -> dict[str, Any]:
        """Relay one request (prompts, resources, completion, logging, subscriptions) on the shared session or
        on `session`, and return the upstream's result unchanged. The upstream's own errors are raised as they
        came; an unreachable upstream is an INTERNAL_ERROR naming the server."""
        connection = session.connection if session is not None else await self._usable_connection()
        client = connection.client if connection is not None else None
        if connection is None or client is None:
            raise MCPError(types.INTERNAL_ERROR, self._health.detail or f"server '{self.name}' is not connected")
        try:
            if session is not None and method in era.DRIVEN_FOR_OWN_SESSIONS and era.is_modern(client):
                return await era.answer_asking(client, method, params, timeout=self._spec.timeout)
            return await send_raw(client, method, params, timeout=self._spec.timeout, on_progress=on_progress)
        except MCPError as error:
            if error.code == types.REQUEST_TIMEOUT:
                message = f"server '{self.name}' did not answer {method} within {self._spec.timeout:g}s"
                raise MCPError(types.REQUEST_TIMEOUT, message) from None
            if mcp_errors.means_connection_lost(error) and error.code == types.CONNECTION_CLOSED:
                reason = self._redact(error.message)
                await self._lose(connection, reason)
                raise MCPError(types.INTERNAL_ERROR, f"server '{self.name}': connection lost ({reason})") from None
            raise
        except (httpx.HTTPError, OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as error:
            reason = self._describe(error)
            await self._lose(connection, reason)
            raise MCPError(types.INTERNAL_ERROR, f"server '{self.name}': connection lost ({reason})") from None

    async def open_session(self, handlers: SessionHandlers) -> McpSession:
        """A session of its own for one downstream client, declaring to the upstream only what `handlers`
        answer. It lives in the upstream's task group, so it ends at the latest with the upstream."""
        connection = UpstreamConnection(handlers, lists_tools=False)
        if self._task_group is None:
            connection.failure = f"server '{self.name}' is closed"
            return McpSession(connection)
        self._task_group.start_soon(self._hold, connection)
        with anyio.move_on_after(self._spec.timeout):
            await connection.settled.wait()
        if not connection.settled.is_set():
            connection.failure = f"no answer within {self._spec.timeout:g}s"
            await release_connection(connection)
        return McpSession(connection)

    async def recover(self) -> None:
        """Reconnect a server that was down (at startup or since), so its tools come back without a restart."""
        if self._health.state != "unhealthy":
            return
        async with self._reconnect_lock:
            # Checked again under the lock: a call may have reconnected while we waited for it, and connecting
            # again would close the connection that call (and every call after it) is using.
            if self._task_group is None or self._health.state != "unhealthy":
                return
            await self._connect()

    async def aclose(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return
        self._closing.set()
        await supervisor
        self._health = Health("unhealthy", f"server '{self.name}' is closed")

    async def _connect(self) -> None:
        """Open a new connection (releasing the old one) and record the outcome in health and tools."""
        if self._connection is not None:
            await release_connection(self._connection)
        if self._task_group is None:
            return
        connection = UpstreamConnection(self._shared_handlers(), lists_tools=True)
        self._connection = connection
        self._task_group.start_soon(self._hold, connection)
        with anyio.move_on_after(self._spec.timeout):
            await connection.settled.wait()
        if not connection.settled.is_set():
            connection.failure = f"no answer within {self._spec.timeout:g}s"
            await release_connection(connection)
        if self._task_group is None:
            return  # aclose() began meanwhile: "closed" is the health that stands
        client = connection.client
        if client is not None:
            self._tools = list(connection.tools)
            if self._identity is not None:  # connected once before
                self.reconnects += 1
            self._identity = (era.relayable_capabilities(client), client.server_info, client.instructions)
            self._modern_only = era.is_modern(client)
            self._health = Health("healthy", f"{len(self._tools)} tools")
            back, self.down = self.down, False
            if back and self._change_listener is not None:
                for kind in _LIST_CHANGES.values():  # back in the lists, whoever reconnected it
                    self._change_listener(self.name, kind)
        else:
            detail = f"server '{self.name}': cannot connect to {self._target()}: {connection.failure}"
            self._health = Health("unhealthy", detail)

    async def _hold(self, connection: UpstreamConnection) -> None:
        """Own one client context from entry to exit; never raises into the upstream's task group."""
        with connection.scope:
            try:
                async with self._open_client(
                    connection.handlers,
                    calls_channel=connection.lists_tools,
                    stream_opened=connection.standalone_stream,
                ) as (
                    client,
                    calls,
                ):
                    if connection.lists_tools:
                        connection.tools = await list_all_tools(client)
                    elif self._spec.transport == "http" and not era.is_modern(client):
                        # A client's own session exists to carry the upstream's requests to it; some servers send
                        # them on the standalone stream, which the SDK opens just after the handshake.
                        with anyio.move_on_after(min(self._spec.timeout, _STANDALONE_STREAM_WAIT)):
                            await connection.standalone_stream.wait()
                    connection.client, connection.calls = client, calls
                    connection.settled.set()
                    try:
                        if connection.lists_tools and era.is_modern(client) and self._task_group is not None:
                            self._task_group.start_soon(
                                era.follow_list_changes, client, self._list_changed, self.name, connection.follower
                            )
                        await self._watch(connection, client)
                    finally:
                        connection.follower.cancel()
                        connection.client = connection.calls = None
            # The boundary of the connection: whatever ended it becomes a health detail, never a crash.
            except Exception as error:
                connection.failure = self._describe(error)
                if connection.settled.is_set() and not connection.release.is_set():
                    self._note_lost(connection, connection.failure)
                    if connection.on_lost is not None and self._task_group is not None:
                        self._task_group.start_soon(connection.on_lost)
            finally:
                connection.settled.set()
                connection.closed.set()

    async def _watch(self, connection: UpstreamConnection, client: Client) -> None:
        """Park until the connection is released; meanwhile ping the shared session now and then, so a server
        that went away is noticed (and leaves the lists) without waiting for someone to call it: neither the SDK's
        stdio transport (a child that exits) nor its HTTP one (a server that stops) ends the client by itself."""
        while not connection.release.is_set():
            with anyio.move_on_after(_LIVENESS_INTERVAL):
                await connection.release.wait()
            if connection.release.is_set() or not (connection.lists_tools or connection.on_lost is not None):
                continue
            try:
                with anyio.fail_after(self._spec.timeout):
                    await era.probe_liveness(client)
            except MCPError as error:
                if error.code == types.REQUEST_TIMEOUT or mcp_errors.means_connection_lost(error):
                    raise
                # Any other answer (a server without ping) is an answer: the server is there.

    async def _usable_connection(self) -> UpstreamConnection | None:
        """The live connection, after at most one reconnect attempt shared by every caller that saw it dead."""
        observed = self._connection
        if observed is not None and observed.client is not None:
            return observed
        async with self._reconnect_lock:
            if self._task_group is None:
                return None
            if self._connection is observed and (observed is None or observed.client is None):
                await self._connect()
            # Otherwise another caller reconnected while we waited: its outcome stands for this call too.
            return self._connection

    async def _lose(self, connection: UpstreamConnection, reason: str) -> None:
        self._note_lost(connection, reason)
        await release_connection(connection)

    def _note_lost(self, connection: UpstreamConnection, reason: str) -> None:
        task_group = self._task_group
        if connection is self._connection and task_group is not None:
            first_news = self._health.state != "unhealthy"
            self._health = Health("unhealthy", f"server '{self.name}': connection to {self._target()} lost: {reason}")
            if first_news:  # every call in flight on the connection reports the loss; one line says it
                logger.warning("%s", self._health.detail)
                task_group.start_soon(self._after_loss, connection)

    async def _after_loss(self, lost: UpstreamConnection) -> None:
        """Reconnect once right away (a restarted server keeps its tools listed); a server that stays down
        leaves the lists, and clients are told, until a recovery brings it back."""
        async with self._reconnect_lock:
            if self._task_group is None or self._connection is not lost:
                return  # closing, or a call already reconnected
            await self._connect()
            if self._health.state != "unhealthy":
                return
            self.down = True
        if self._change_listener is not None:
            for kind in _LIST_CHANGES.values():
                self._change_listener(self.name, kind)

    def _shared_handlers(self) -> SessionHandlers:
        """The shared session declares sampling, elicitation and roots, so the upstream lists every tool (some
        hide those that need them); but nothing on it says which client a request is for, so such a request is
        refused there. Clients that declare these capabilities get a session of their own (see server/relay)."""

        async def refuse(*_: Any) -> types.ErrorData:
            return types.ErrorData(
                code=types.INVALID_REQUEST,
                message=f"mcp-gateway: the client calling '{self.name}' did not declare this capability",
            )

        async def on_notification(notification: types.ServerNotification) -> None:
            kind = _LIST_CHANGES.get(type(notification))
            if kind is not None:
                await self._list_changed(kind)

        return SessionHandlers(sampling=refuse, elicitation=refuse, roots=refuse, notification=on_notification)

    async def _list_changed(self, kind: str) -> None:
        if kind == "tools":
            client = self._shared_client()
            if client is None:
                return
            try:
                with anyio.fail_after(self._spec.timeout):
                    self._tools = await list_all_tools(client)
            except Exception as error:
                # The old listing stays; the next change or reconnect lists again.
                self._note_lost_listing(error)
                return
            self._health = Health("healthy", f"{len(self._tools)} tools")
        if self._change_listener is not None:
            self._change_listener(self.name, kind)

    def _note_lost_listing(self, error: BaseException) -> None:
        logger.warning(
            "server '%s': tools changed but could not be listed again: %s", self.name, self._describe(error)
        )

    @asynccontextmanager
    async def _open_client(
        self, handlers: SessionHandlers, *, calls_channel: bool = False, stream_opened: anyio.Event | None = None
    ) -> AsyncIterator[tuple[Client, LeanCalls | None]]:
        """The session (in the handshake era unless the upstream refuses it, see upstreams/era.py), and for the
        shared session of an HTTP upstream that speaks the modern era, the lean path for plain calls
        (upstreams/lean_calls.py): over a modern-era channel beside a handshake-era session, or over the session."""
        spec = self._spec
        refused = self._modern_only and not calls_channel  # the shared session (with the channel) always tries
        options: dict[str, Any] = {
            "read_timeout_seconds": spec.timeout,
            "client_info": types.Implementation(name="mcp-gateway", version=__version__),
            # The upstream keeps its own copy of the listing; a response cache would only hide a fresh one.
            "cache": None,
            **handlers.client_options(),
        }
        quiet_sdk_transport_failures()
        if spec.transport == "stdio":
            assert spec.command is not None, "checked by McpServerSpec"
            # The SDK merges env over its safe default set and leaves the child's stderr on ours.
            params = StdioServerParameters(
                command=spec.command, args=list(spec.args), env=dict(spec.env) or None, cwd=spec.cwd
            )
            quiet_sdk_parse_failures()
            noise = stdout_noise_handler(self.name)
            relayed = options.pop("message_handler", None)

            async def on_message(message: Any) -> None:
                # Unparsable stdout lines (exceptions) are reported once each; notifications go to the relay.
                if isinstance(message, Exception) or relayed is None:
                    await noise(message)
                else:
                    await relayed(message)

            async with era.negotiated_client(
                lambda mode: Client(params, mode=mode, message_handler=on_message, **options), refused=refused
            ) as client:
                yield client, None
        elif spec.transport == "http":
            assert spec.url is not None, "checked by McpServerSpec"
            url = spec.url
            http_client = new_client(
                timeout=spec.timeout,
                headers=dict(spec.headers),
                auth=spec.auth,
                max_connections=spec.max_connections,
                reuse_event_stream_connections=True,
            )
            # Responses stream back on the POST (and server messages on a GET): an idle read there must not
            # break the transport before our own per-call deadline reports the slow call as an error.
            http_client.timeout = httpx.Timeout(spec.timeout, read=_STREAM_READ_TIMEOUT)
            http_client.event_hooks["response"].append(resume_request_streams_at_once)
            http_client.event_hooks["request"].append(tag_outbound_hook)
            if stream_opened is not None:
                opened = stream_opened

                async def note_standalone_stream(response: httpx.Response) -> None:
                    if response.request.method == "GET":
                        opened.set()

                http_client.event_hooks["response"].append(note_standalone_stream)
            async with (
                http_client,
                era.negotiated_client(
                    lambda mode: Client(streamable_http_client(url, http_client=http_client), mode=mode, **options),
                    refused=refused,
                ) as client,
                AsyncExitStack() as stack,
            ):
                calls: LeanCalls | None = None
                if calls_channel and era.is_modern(client):
                    calls = LeanCalls(client, http_client, url)  # a modern-era session is its own calls channel
                elif calls_channel:
                    calls = await modern_calls_channel(stack, http_client, spec, self.name)
                yield client, calls
        else:
            assert spec.url is not None, "checked by McpServerSpec"
            transport = sse_client(
                spec.url, headers=dict(spec.headers), timeout=spec.timeout, sse_read_timeout=_STREAM_READ_TIMEOUT,
                auth=spec.auth, httpx_client_factory=_sse_http_client,
            )
            async with Client(transport, mode=era.UPSTREAM_ERA, **options) as client:  # SSE: the handshake era alone
                yield client, None

    def _failure(self, reason: str) -> types.CallToolResult:
        return mcp_errors.error_result(f"server '{self.name}': {reason}")

    def _target(self) -> str:
        return upstream_target(self._spec)

    def _describe(self, error: BaseException) -> str:
        return describe_error(self._spec, error)

    def _redact(self, text: str) -> str:
        return redact(self._spec, text)


_LIST_CHANGES: dict[type[Any], str] = {
    types.ToolListChangedNotification: "tools",
    types.PromptListChangedNotification: "prompts",
    types.ResourceListChangedNotification: "resources",
}


def _sse_http_client(headers: dict[str, str] | None = None, timeout: httpx.Timeout | None = None,
                     auth: httpx.Auth | None = None) -> httpx.AsyncClient:
    # The gateway's own client (aiohttp's wire, no settings from the environment), as for every other upstream.
    client = new_client(headers=headers, auth=auth)
    if timeout is not None:
        client.timeout = timeout
    client.event_hooks["request"].append(tag_outbound_hook)
    return client
