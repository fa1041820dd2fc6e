"""Every tool an MCP server lists, across pages, refusing a server whose cursors go round in a circle."""

from __future__ import annotations

import mcp_types as types
from mcp import Client


class PaginationLoopError(Exception):
    """The server handed back a cursor it had already given, so following it would never end."""


async def list_all_tools(client: Client) -> list[types.Tool]:
    """Every tool the server lists, following `next_cursor` until the last page."""
    tools: list[types.Tool] = []
    seen_cursors: set[str] = set()
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools
        if cursor in seen_cursors:
            raise PaginationLoopError(f"tools/list returned the cursor {cursor!r} twice")
        seen_cursors.add(cursor)
