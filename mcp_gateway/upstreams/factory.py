"""Config entries -> upstream objects. The only place that knows which class serves which kind of server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mcp_types as types

from mcp_gateway.auth.client_credentials import TokenCaches
from mcp_gateway.config import GatewayConfig, ServerEntry
from mcp_gateway.limits import CallLimiter
from mcp_gateway.memory_budget import MemoryBudget
from mcp_gateway.openapi.conversion_cache import ConversionCache
from mcp_gateway.openapi.model import ToolKeep
from mcp_gateway.registry import Registry, RegistryServer, ToolFilter
from mcp_gateway.upstreams.base import Health, Upstream
from mcp_gateway.upstreams.mcp import McpUpstream
from mcp_gateway.upstreams.mcp_spec import McpServerSpec
from mcp_gateway.upstreams.openapi import OpenAPIUpstream, error_result
from mcp_gateway.upstreams.per_caller import PerCallerMcpUpstream


class UnavailableUpstream:
    """Stands in for a server that cannot start (bad config) or is switched off, so it still shows in health."""

    def __init__(self, name: str, health: Health) -> None:
        self.name = name
        self._health = health

    @property
    def health(self) -> Health:
        return self._health

    async def start(self) -> None:
        return None

    def tools(self) -> list[types.Tool]:
        return []

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return error_result(f"server '{self.name}' is {self._health.state}: {self._health.detail}")

    async def recover(self) -> None:
        # A config error or a disabled entry needs a new config, not another attempt.
        return

    async def aclose(self) -> None:
        return None


def _held_by(tool_filter: ToolFilter | None) -> ToolKeep | None:
    """What an OpenAPI upstream holds under `tool_filter`. Its tool names are already valid and unique, so the
    registry lists each under the same name (upstream name = server name) and this is the filter's own verdict."""
    if tool_filter is None or (tool_filter.allowed is None and not tool_filter.disallowed):
        return None
    return lambda name: tool_filter.admits(name, name)


def create_upstream(
    entry: ServerEntry,
    base_dir: Path,
    memory: MemoryBudget | None = None,
    tokens: TokenCaches | None = None,
    cache: ConversionCache | None = None,
    tool_filter: ToolFilter | None = None,
) -> Upstream:
    """`tokens`: the gateway's shared OAuth2 client-credentials tokens (a private cache when not given);
    `cache`: converted OpenAPI specs kept between starts (none: every start converts); `tool_filter`: the
    server's, so an OpenAPI upstream holds only the tools it lets through."""
    tokens = tokens or TokenCaches()
    config = entry.config
    if config is None:
        return UnavailableUpstream(entry.name, Health("unhealthy", entry.error or "invalid configuration"))
    if config.disabled:
        return UnavailableUpstream(entry.name, Health("disabled", "disabled in the config"))
    if config.openapi is not None:
        budget = (memory or MemoryBudget()).for_upstream(entry.name, config.limits.max_bytes_in_flight)
        return OpenAPIUpstream(
            entry.name, config.openapi, base_dir, tokens, limits=config.limits, budget=budget,
            forward_user_authorization=config.forward_user_authorization, cache=cache,
            keep=_held_by(tool_filter),
        )
    kind = config.kind
    cwd = config.cwd
    if cwd is not None and not Path(cwd).is_absolute():
        cwd = str(base_dir / cwd)
    spec = McpServerSpec(
        transport="stdio" if kind == "stdio" else kind if kind in ("http", "sse") else "http",
        command=config.command,
        args=tuple(config.args),
        env=dict(config.env),
        cwd=cwd,
        url=config.url,
        headers=dict(config.headers),
        timeout=config.timeout,
        max_connections=config.limits.max_connections,
        auth=tokens.auth_for(config.auth) if config.auth is not None else None,
    )
    if config.forward_user_authorization:
        return PerCallerMcpUpstream(entry.name, spec)
    return McpUpstream(entry.name, spec)


def registry_server(
    entry: ServerEntry,
    base_dir: Path,
    memory: MemoryBudget,
    tokens: TokenCaches | None = None,
    cache: ConversionCache | None = None,
) -> RegistryServer:
    """One config entry as the registry holds it (not started); `memory` is the gateway-wide budget, `tokens`
    the shared OAuth2 client-credentials tokens, `cache` the converted specs kept between starts."""
    tool_filter = ToolFilter()
    if entry.config is not None:
        allowed = entry.config.allowed_tools
        tool_filter = ToolFilter(
            allowed=tuple(allowed) if allowed is not None else None,
            disallowed=tuple(entry.config.disallowed_tools),
        )
    try:
        upstream = create_upstream(entry, base_dir, memory, tokens, cache, tool_filter)
    except ValueError as error:
        # The config loader should have caught it; if not, this server is unusable, the others are not.
        upstream = UnavailableUpstream(entry.name, Health("unhealthy", f"server '{entry.name}': {error}"))
    limiter = CallLimiter(entry.name, entry.config.limits) if entry.config is not None else None
    return RegistryServer(upstream, entry.kind or "invalid", tool_filter, limiter)


def build_registry(
    config: GatewayConfig,
    memory: MemoryBudget | None = None,
    cache: ConversionCache | None = None,
    tokens: TokenCaches | None = None,
) -> Registry:
    """`memory` is the gateway-wide budget for upstream response bytes (one default-sized budget if not given);
    `cache` keeps converted OpenAPI specs between starts (none: every start converts); `tokens` are the OAuth2
    client-credentials tokens (in process only if not given)."""
    budget = memory or MemoryBudget()
    tokens = tokens or TokenCaches()
    return Registry([registry_server(entry, config.base_dir, budget, tokens, cache) for entry in config.servers])
