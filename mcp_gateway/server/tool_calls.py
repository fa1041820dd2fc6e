"""A `tools/call` of an MCP endpoint, up to the upstream: which tool a name means for this caller, whether the call
is relayed to an MCP upstream, and the registry call for every other tool.

Shared by the SDK's handler (server/mcp.py) and the modern-era calls answered before the SDK's transport
(server/tool_call_wire.py), so both see the same tools and call them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from mcp_gateway.auth.principal import Principal
from mcp_gateway.auth.user_credentials import forwarding
from mcp_gateway.registry import (
    RegisteredTool,
    Registry,
    Relayed,
    ToolRelay,
    UnknownServerError,
    UnknownToolError,
)
from mcp_gateway.upstreams.era import InputRequired
from mcp_gateway.upstreams.mcp import McpUpstream

__all__ = ["ToolCalls", "sees"]


def sees(principal: Principal, tool: RegisteredTool) -> bool:
    return principal.sees_tool(tool.server, tool.server_name)


class ToolCalls:
    """The tool calls of one endpoint: `/mcp` (server None) or `/mcp/{server}`."""

    def __init__(self, registry: Registry, server: str | None) -> None:
        self._registry = registry
        self._server = server

    def resolve(self, name: str, caller: Principal) -> RegisteredTool:
        """The tool `name` means here, or the SDK's error for an unknown tool. A tool the caller may not see
        answers exactly as one that does not exist."""
        try:
            tool = self._registry.resolve(name, self._server)
        except (UnknownToolError, UnknownServerError):
            tool = None
        if tool is None or not (caller.unrestricted or sees(caller, tool)):
            raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {name}")
        return tool

    def relayed(self, tool: RegisteredTool) -> McpUpstream | None:
        """The MCP upstream a call of `tool` is relayed to (with progress, a client's own session, input
        requests), or None when the registry calls it alone."""
        try:
            upstream = self._registry.upstream(tool.server)
        except UnknownServerError:
            return None
        return upstream if isinstance(upstream, McpUpstream) else None

    async def call(
        self, name: str, arguments: dict[str, Any], credentials: Mapping[str, str]
    ) -> types.CallToolResult:
        """Call a tool that is not relayed, with the caller's forwarded credentials: the registry checks the
        arguments and applies the server's call limit."""
        with forwarding(credentials):
            return await self._registry.call_tool(name, arguments, self._server)

    async def relay(
        self, name: str, arguments: dict[str, Any], relay_call: ToolRelay[Relayed]
    ) -> Relayed | types.CallToolResult | types.InputRequiredResult:
        """Call a relayed tool through `relay_call`, under the registry's argument check and call limit; a
        modern-era upstream's request for input is the answer (the client calls again with its responses)."""
        try:
            return await self._registry.call_tool(name, arguments, self._server, relay=relay_call)
        except InputRequired as asked:
            return asked.result
