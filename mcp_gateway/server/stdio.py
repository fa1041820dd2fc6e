"""The stdio front door, for clients that launch a command (Claude Desktop).

The MCP conversation runs on stdin/stdout: the aggregated endpoint (`/mcp`), with the same relay (prompts,
resources, completion, logging, progress, sampling, elicitation, roots) and list-changed notifications. The
HTTP app (REST + /mcp) also runs, on an ephemeral loopback port, because the bundled config's `gateway` server
calls the gateway's own REST API through it.
"""

from __future__ import annotations

import logging
import socket

import anyio
import uvicorn
from mcp.server.stdio import stdio_server

from mcp_gateway.auth.settings import AccessSettings
from mcp_gateway.registry import Registry
from mcp_gateway.reload import ConfigReloader
from mcp_gateway.server.app import create_app
from mcp_gateway.server.mcp import build_mcp_server
from mcp_gateway.server.relay import Roster

logger = logging.getLogger(__name__)


async def serve_stdio(
    registry: Registry,
    sock: socket.socket,
    reloader: ConfigReloader | None = None,
    reload_interval: float = 2.0,
    access: AccessSettings | None = None,
) -> None:
    """Serve MCP on stdio until stdin closes; `sock` is the bound loopback socket for the HTTP side, which needs
    keys like `serve` does when `access` configures them (stdio itself is the local user's own channel)."""
    app = create_app(registry, reloader=reloader, reload_interval=reload_interval, access=access)
    http_server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on"))
    async with anyio.create_task_group() as group:
        group.start_soon(http_server.serve, [sock])
        # The registry starts in the HTTP app's lifespan; serve MCP only once its tools are known (the HTTP side
        # takes requests while servers start, server/start_gate.py; stdio announces its capabilities once).
        while not http_server.started:
            if http_server.should_exit:
                return
            await anyio.sleep(0.02)
        await registry.wait_started()
        roster = Roster()
        server = build_mcp_server(registry, None, roster)

        def changed(server_name: str, kind: str) -> None:
            group.start_soon(roster.notify, f"notifications/{kind}/list_changed")

        registry.on_change(changed)
        try:
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())
        finally:
            http_server.should_exit = True
