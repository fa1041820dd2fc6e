"""An MCP HTTP or SSE upstream that takes each caller's own credential: one upstream session per credential.

Plain MCP upstreams share one pooled session among all callers, and a session carries its credential on every
request, so a caller's own credential (`x-mcp-{server}-authorization`, or its key's `credentials`) needs a session
of its own. The shared session, with the configured credentials, still lists the tools and serves callers that
bring none. Per-caller sessions are opened on a caller's first call and kept for the next ones; the least recently
used is closed when more than `max_sessions` are open.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import anyio
import mcp_types as types

from mcp_gateway.auth.user_credentials import forwarded_credential
from mcp_gateway.upstreams.base import Health
from mcp_gateway.upstreams.mcp import McpUpstream
from mcp_gateway.upstreams.mcp_spec import McpServerSpec

DEFAULT_MAX_SESSIONS = 32


class PerCallerMcpUpstream:
    def __init__(self, name: str, spec: McpServerSpec, *, max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        self.name = name
        self._spec = spec
        self._shared = McpUpstream(name, spec)
        self._max_sessions = max_sessions
        self._by_credential: OrderedDict[str, McpUpstream] = OrderedDict()
        """Keyed by the credential's SHA-256, so the map itself holds no credential."""
        self._lock = anyio.Lock()
        self._closed_reconnects = 0
        """Reconnects of per-caller sessions since closed, so the total only grows."""

    @property
    def health(self) -> Health:
        return self._shared.health

    @property
    def reconnects(self) -> int:
        """Connections opened again after a loss, over the shared session and every per-caller one."""
        return self._shared.reconnects + self._closed_reconnects + sum(
            upstream.reconnects for upstream in self._by_credential.values())

    async def start(self) -> None:
        await self._shared.start()

    def tools(self) -> list[types.Tool]:
        return self._shared.tools()

    async def recover(self) -> None:
        await self._shared.recover()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        credential = forwarded_credential(self.name)
        if credential is None:
            return await self._shared.call_tool(name, arguments)
        upstream = await self._session_for(credential)
        return await upstream.call_tool(name, arguments)

    async def _session_for(self, credential: str) -> McpUpstream:
        key = hashlib.sha256(credential.encode()).hexdigest()
        evicted: McpUpstream | None = None
        async with self._lock:
            upstream = self._by_credential.get(key)
            if upstream is not None:
                self._by_credential.move_to_end(key)
                return upstream
            # The caller's credential in place of the configured ones (static Authorization, client credentials).
            headers = {name: value for name, value in self._spec.headers.items() if name.lower() != "authorization"}
            upstream = McpUpstream(self.name, replace(self._spec, headers={**headers, "Authorization": credential},
                                                      auth=None))
            self._by_credential[key] = upstream
            if len(self._by_credential) > self._max_sessions:
                _, evicted = self._by_credential.popitem(last=False)
                self._closed_reconnects += evicted.reconnects
            # Connecting under the lock: one caller's first call waits for another's, never for a call in flight.
            await upstream.start()
        if evicted is not None:
            await evicted.aclose()
        return upstream

    async def aclose(self) -> None:
        async with self._lock:
            sessions = list(self._by_credential.values())
            self._by_credential.clear()
        for upstream in sessions:
            await upstream.aclose()
        await self._shared.aclose()
