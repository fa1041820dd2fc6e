"""One session with an upstream MCP server as the gateway holds it: the connection its holder task keeps open, how
it is let go, and the handle a downstream client's own upstream session is (see `McpUpstream.open_session`)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import mcp_types as types
from mcp import Client

from mcp_gateway.upstreams import era
from mcp_gateway.upstreams.lean_calls import LeanCalls
from mcp_gateway.upstreams.mcp_session import SessionHandlers


class UpstreamConnection:
    """One session with the upstream, held open by its own `_hold` task."""

    def __init__(self, handlers: SessionHandlers, *, lists_tools: bool) -> None:
        self.handlers = handlers
        self.lists_tools = lists_tools
        self.client: Client | None = None
        """Set only while the session is usable; cleared before the client's context is left."""
        self.calls: LeanCalls | None = None
        """A modern-era (2026-07-28) channel for plain tool calls, when the upstream speaks that era over HTTP;
        set and cleared with `client`."""
        self.tools: list[types.Tool] = []
        self.failure = ""
        self.settled = anyio.Event()
        """Connected, or failed to."""
        self.release = anyio.Event()
        self.closed = anyio.Event()
        """The holder has left the client's context (the stdio child is gone)."""
        self.scope = anyio.CancelScope()
        """Lets a connection stuck before `settled` be abandoned; a settled one is released gracefully."""
        self.follower = anyio.CancelScope()
        """Ends the task that follows a modern-era upstream's list changes, with the connection."""
        self.on_lost: Callable[[], Coroutine[Any, Any, None]] | None = None
        """A client's own session that keeps state at the upstream (subscriptions, a log level): its liveness is
        watched like the shared session's, and this runs (in the upstream's task group) when it is lost."""
        self.standalone_stream = anyio.Event()
        """Streamable HTTP: the server answered the GET that opens the session's standalone stream (or refused
        it). Requests a server sends unrelated to a call travel there, and a server without the stream open
        drops them."""


async def release_connection(connection: UpstreamConnection) -> None:
    """Let the connection go: a settled one gracefully (its holder leaves the client's context), one still
    connecting is abandoned; returns once its holder is gone."""
    connection.client = None
    connection.release.set()
    if not connection.settled.is_set():
        connection.scope.cancel()
    await connection.closed.wait()


class McpSession:
    """One downstream client's own session with an upstream (see `McpUpstream.open_session`)."""

    def __init__(self, connection: UpstreamConnection) -> None:
        self.connection = connection

    @property
    def usable(self) -> bool:
        return self.connection.client is not None

    @property
    def modern(self) -> bool:
        return self.connection.client is not None and era.is_modern(self.connection.client)

    @property
    def failure(self) -> str:
        return self.connection.failure

    async def aclose(self) -> None:
        await release_connection(self.connection)
