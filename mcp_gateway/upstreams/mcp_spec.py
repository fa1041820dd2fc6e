"""How to reach one upstream MCP server, as read from a servers.json `mcpServers` entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mcp_gateway.auth.client_credentials import ClientCredentialsAuth

McpTransport = Literal["stdio", "http", "sse"]


@dataclass(frozen=True)
class McpServerSpec:
    """How to reach one upstream MCP server, as read from a servers.json `mcpServers` entry."""

    transport: McpTransport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for a stdio child, on top of the SDK's safe default set (HOME, LOGNAME, PATH, SHELL,
    TERM, USER on POSIX): like Claude Desktop, the child does not inherit the gateway's whole environment."""
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    """Seconds allowed for connecting (handshake and tool listing) and for each tool call."""
    max_connections: int | None = None
    """Pooled HTTP connections to a streamable-HTTP upstream (None: the gateway's default)."""
    auth: ClientCredentialsAuth | None = None
    """Credentials an HTTP or SSE upstream gets on every request (e.g. an OAuth2 client-credentials token)."""

    def __post_init__(self) -> None:
        if self.transport == "stdio" and not self.command:
            raise ValueError("a stdio MCP server needs a command")
        if self.transport != "stdio" and not self.url:
            raise ValueError(f"an {self.transport} MCP server needs a url")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
