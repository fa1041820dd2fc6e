"""The bridge for any MCP client: a server's tools in a provider's format, and provider tool calls run on it.

Works with an `mcp.Client` or the `mcp.ClientSession` under it, connected to any server, not only this
gateway:

    async with Client("http://127.0.0.1:8000/mcp") as client:
        tools = await load_tools(client, "anthropic")
        ...  # send tools.definitions with the request; for each tool_use block in the reply:
        result = await call_tool(client, block, tools, "anthropic")

Failures of a single call (arguments that are not a JSON object, an MCP error from the server) come back
as an error result in the provider's shape, so the model can read them and correct itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types
from mcp import Client, ClientSession
from mcp.shared.exceptions import MCPError

from mcp_gateway.bridge.messages.tool_results import error_result, format_tool_result, read_tool_call
from mcp_gateway.bridge.targets import Provider, parse_provider
from mcp_gateway.bridge.tools import ConvertedTools, convert_tools
from mcp_gateway.names import NameMap

__all__ = ["call_tool", "list_all_tools", "load_tools"]

McpSession = Client | ClientSession

# A server that hands back a cursor forever would otherwise keep us listing; no real server has this many pages.
_MAX_PAGES = 10_000


async def list_all_tools(session: McpSession) -> list[mcp_types.Tool]:
    """Every tool of the server, following `next_cursor` through all pages."""
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        page = await _list_page(session, cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None or cursor in seen:
            return tools
        seen.add(cursor)
    return tools


async def _list_page(session: McpSession, cursor: str | None) -> mcp_types.ListToolsResult:
    if isinstance(session, Client):
        return await session.list_tools(cursor=cursor)
    params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor is not None else None
    return await session.list_tools(params=params)


async def load_tools(session: McpSession, provider: Provider | str, *, strict: bool = False) -> ConvertedTools:
    """The server's tools as `provider` tool definitions, with the name map that `call_tool` needs.

    `provider` is a `Provider` id or an alias `parse_provider` accepts ("claude", "google", "responses").
    """
    return convert_tools(await list_all_tools(session), parse_provider(provider), strict=strict)


async def call_tool(
    session: McpSession,
    provider_tool_call: Mapping[str, Any],
    tools: ConvertedTools | NameMap,
    provider: Provider | str,
    *,
    bedrock_error_status: bool = False,
) -> dict[str, Any]:
    """Run one tool call the provider returned and answer it in the provider's tool-result shape.

    Accepted tool calls, by provider:
    OpenAI, Mistral, Cohere: `{"id", "function": {"name", "arguments": "<json>"}}` -> `{"role": "tool", ...}`;
    OpenAI Responses: `{"type": "function_call", "call_id", "name", "arguments"}` -> `function_call_output`;
    Anthropic: `{"type": "tool_use", "id", "name", "input"}` -> `{"type": "tool_result", ...}`;
    Gemini: a `{"functionCall": {...}}` part or the bare `{"name", "args"}` -> `{"functionResponse": {...}}`;
    Bedrock: `{"toolUse": {...}}` or the bare `{"toolUseId", "name", "input"}` -> `{"toolResult": {...}}`.

    Pass the `ConvertedTools` from `load_tools`. A bare `NameMap` still maps the tool name, but nothing else:
    argument keys renamed for the provider (`$top` offered as `_top`) reach the server under the provider's
    key, and strict-mode calls keep the nulls a strict model sends for optional properties it leaves out.

    `bedrock_error_status` adds ``"status": "error"`` to failed Bedrock results; only Amazon Nova and
    Anthropic Claude 3 and 4 models accept it (see `format_tool_result`).
    """
    target = parse_provider(provider)
    call = read_tool_call(provider_tool_call, target)
    if call.arguments is None:
        result = error_result(call.argument_error or "invalid arguments")
    else:
        if isinstance(tools, ConvertedTools):
            original = tools.name_map.to_original(call.name)
            arguments = tools.upstream_arguments(original, call.arguments)
        else:
            original, arguments = tools.to_original(call.name), call.arguments
        result = await _call(session, original, arguments)
    return format_tool_result(call, result, target, bedrock_error_status=bedrock_error_status)


async def _call(session: McpSession, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
    try:
        return await session.call_tool(name, arguments)
    except MCPError as error:
        return error_result(f"tool {name!r} failed: {error.message}")
