"""The two fixed ends of the side-by-side benchmark (benchmarks/peers.py), each run as its own process.

    python benchmarks/peers_servers.py api --port N
    python benchmarks/peers_servers.py floor --port N --api http://127.0.0.1:M
    python benchmarks/peers_servers.py floor-stdio --api http://127.0.0.1:M     (the floor over stdio)

`--reuse-port` (api, floor): the listening socket has SO_REUSEPORT, so two processes started on one port share
its connections (the kernel spreads them): the `direct x2` and `floor x2` controls, which show what a second core
gives a server that shares nothing. Every HTTP answer carries `x-server-pid`, so a caller can tell them apart.

- `api`: the upstream HTTP API every path ends at. `GET /items/{item_id}` answers the item id and the query as
  JSON; `/openapi.json` describes it (what the gateway and FastMCP's OpenAPI server are given). A raw ASGI app
  on uvloop and httptools, so the upstream costs as little as possible and every row measures the layer in front
  of it.
- `floor`: the bare-SDK floor: the `mcp` package's low-level server with one tool, `getItem`, that sends the same
  GET with httpx2, served by the SDK's own streamable-HTTP app with its defaults (asyncio and h11: what
  `pip install mcp` brings). Its httpx2 client keeps as many connections alive as the gateway's upstream clients
  do (mcp_gateway/http.py), or at c=32 it would open and close a connection per call beyond httpx2's default 20.
  It is what a user writes by hand with the same SDK; it is also the MCP upstream behind the gateway's and
  FastMCP's proxies.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

ITEM_PATH_PREFIX = "/items/"

OPENAPI_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Items", "version": "1.0"},
    "paths": {
        "/items/{item_id}": {
            "get": {
                "operationId": "getItem",
                "summary": "Fetch one item.",
                "parameters": [
                    {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "The item."}},
            }
        }
    },
}

ITEM_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "item_id": {"type": "string"},
        "limit": {"type": "integer"},
        "verbose": {"type": "boolean"},
        "q": {"type": "string"},
    },
    "required": ["item_id"],
}


async def _send_json(send: Any, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def items_api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    if path.startswith(ITEM_PATH_PREFIX) and scope["method"] == "GET":
        query = dict(parse_qsl(scope["query_string"].decode()))
        await _send_json(send, 200, {"id": path[len(ITEM_PATH_PREFIX) :], "query": query})
    elif path == "/openapi.json":
        await _send_json(send, 200, OPENAPI_DOCUMENT)
    else:
        await _send_json(send, 404, {"error": "not found"})


def floor_server(api_url: str) -> Any:
    import httpx2
    import mcp_types as types
    from mcp.server.lowlevel import Server

    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    client = httpx2.AsyncClient(base_url=api_url, timeout=30.0, limits=limits)

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="getItem", input_schema=ITEM_INPUT_SCHEMA)])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = dict(params.arguments or {})
        query = {key: arguments[key] for key in ("limit", "verbose", "q") if key in arguments}
        if "verbose" in query:
            query["verbose"] = "true" if query["verbose"] else "false"
        response = await client.get(f"{ITEM_PATH_PREFIX}{arguments['item_id']}", params=query)
        return types.CallToolResult(
            content=[types.TextContent(text=response.text)], is_error=response.status_code >= 400
        )

    server: Server[Any] = Server("floor", on_list_tools=list_tools, on_call_tool=call_tool)
    return server


def tagged_with_pid(app: Any) -> Any:
    """`app` with an `x-server-pid` header on every HTTP answer."""
    pid_header = (b"x-server-pid", str(os.getpid()).encode())

    async def tagged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def send_tagged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), pid_header]}
            await send(message)

        await app(scope, receive, send_tagged)

    return tagged


def reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_stdio(server: Any) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    async def serve() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(serve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["api", "floor", "floor-stdio"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--api", help="the items API's base URL (floor)")
    parser.add_argument("--reuse-port", action="store_true", help="SO_REUSEPORT: several processes on one port")
    args = parser.parse_args()
    if args.role == "floor-stdio":
        serve_stdio(floor_server(args.api))
        return
    app = tagged_with_pid(items_api if args.role == "api" else floor_server(args.api).streamable_http_app())
    # The floor on asyncio and h11: what `pip install mcp` brings (uvicorn without extras), whatever else this env
    # holds. The API on the fastest uvicorn has, so that it is never what limits a row.
    loop, http = ("uvloop", "httptools") if args.role == "api" else ("asyncio", "h11")
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="auto", loop=loop,
                            http=http)
    sockets = [reuse_port_socket(args.host, args.port)] if args.reuse_port else None
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
