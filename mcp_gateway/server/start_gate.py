"""The gateway answers while its upstreams start: each request waits only for what its answer depends on.

Loading upstreams takes from milliseconds (a cached OpenAPI conversion) to seconds (a spec converted cold, an MCP
server started with npx). The HTTP server takes requests as soon as it is up, and:

- an MCP `initialize` (or modern-era `server/discover`) waits for the MCP upstreams behind its endpoint, whose
  identity and capabilities it announces (an endpoint of OpenAPI servers answers at once: it announces tools
  only, and a client hears `notifications/tools/list_changed` when they change);
- every other MCP request waits until every server has started and the listings hold their tools, so a client
  that initializes early and lists at once sees the same tools as one that came later;
- other HTTP routes (REST, LLM front doors) wait the same way, except those that report state (`/health`,
  `/ready`, `/servers`, which say which servers are still starting, and `/metrics`).

Notifications never wait (a client's `notifications/initialized` is recorded at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext

from mcp_gateway.registry import Registry

__all__ = ["IDENTITY_METHODS", "StartedRequests", "waits_for_start"]

IDENTITY_METHODS = frozenset({"initialize", "server/discover"})
"""Requests answered with the endpoint's identity and capabilities."""
_NEVER_WAIT = frozenset({"ping"})
_UNGATED_PATHS = ("/health", "/ready", "/servers", "/metrics", "/.well-known/")


class StartedRequests(ServerMiddleware[Any]):
    """Holds an MCP endpoint's requests until what they depend on has started (see the module's docstring)."""

    def __init__(self, registry: Registry, identity_servers: Callable[[], Sequence[str]]) -> None:
        self._registry = registry
        self._identity_servers = identity_servers

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is not None and ctx.method not in _NEVER_WAIT:
            if ctx.method in IDENTITY_METHODS:
                await self._registry.wait_started(self._identity_servers())
            else:
                await self._registry.wait_started()
        return await call_next(ctx)


def waits_for_start(path: str) -> bool:
    """Whether an HTTP request outside the MCP endpoints waits until every server has started (the routes that
    report state answer at once; the MCP endpoints wait per request, `StartedRequests`)."""
    return not (path.startswith(_UNGATED_PATHS) or path == "/mcp" or path.startswith("/mcp/"))
