"""A small, real MCP server for tests, runnable over stdio, streamable HTTP (path /mcp) or SSE (path /sse).

    python -m tests.e2e.mcp_upstream --transport stdio|http|sse [--host 127.0.0.1] [--port N] [--tools N]

Its tools cover what a gateway must forward faithfully: plain text, structured output, tool errors, slow calls,
the child's environment, request headers, a result that breaks its own output schema, many tools, and a name
that is valid MCP but not valid for every provider (`repo.get`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, Literal

import anyio
import mcp_types as types
from mcp.server import MCPServer, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

Transport = Literal["stdio", "http", "sse"]


def build_server(transport: Transport, extra_tools: int) -> MCPServer:
    # WARNING keeps the test output readable: uvicorn and the SDK log every request at INFO.
    server: MCPServer = MCPServer("test-upstream", log_level="WARNING", middleware=[contradict_output_schema])

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers (the result is also returned as structured content)."""
        return a + b

    @server.tool()
    def fail(message: str) -> str:
        """Always fail with the given message, so the result is an error."""
        # ToolError is the SDK's anticipated failure: the caller gets the message, not a generic crash text.
        raise ToolError(message)

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then report how long."""
        await anyio.sleep(seconds)
        return f"slept {seconds}s"

    @server.tool()
    def env_value(name: str) -> str:
        """The value of an environment variable in this server's process, or "" when unset."""
        return os.environ.get(name, "")

    @server.tool()
    def whoami(ctx: Context) -> dict[str, Any]:
        """Which transport served this call, this process's id, and the X-Test-Header, Authorization and
        X-Request-Id request headers if any."""
        headers = ctx.headers or {}
        return {"transport": transport, "pid": os.getpid(), "x_test_header": headers.get("x-test-header"),
                "authorization": headers.get("authorization"), "x_request_id": headers.get("x-request-id")}

    @server.tool()
    def wrong_output() -> int:
        """Advertise an integer result, then (through `contradict_output_schema`) return a string instead."""
        return 1

    @server.tool(name="repo.get")
    def repo_get(owner: str, repo: str) -> str:
        """A valid MCP name with a dot, which providers such as OpenAI reject."""
        return f"{owner}/{repo}"

    for index in range(extra_tools):
        server.add_tool(_constant(index), name=f"t{index}", description=f"Trivial tool number {index}.")

    return server


async def contradict_output_schema(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Make `wrong_output` break its own output schema: the SDK's server never would, some servers in the wild do."""
    result = await call_next(ctx)
    if ctx.method == "tools/call" and (ctx.params or {}).get("name") == "wrong_output":
        return types.CallToolResult.model_validate(result).model_copy(
            update={"structured_content": {"result": "not a number"}}
        )
    return result


def _constant(index: int) -> Callable[[], int]:
    def constant() -> int:
        return index

    return constant


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["stdio", "http", "sse"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--tools", type=int, default=0, help="extra trivial tools t0..t{N-1}")
    args = parser.parse_args(argv)

    server = build_server(args.transport, args.tools)
    if args.transport == "stdio":
        server.run("stdio")
    elif args.transport == "http":
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("sse", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
