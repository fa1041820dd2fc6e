"""FastMCP's two rows of the side-by-side benchmark, run with the optional env's interpreter (never a dependency of
the gateway; `make peers-env` creates benchmarks/peers-env with `pip install fastmcp`):

    benchmarks/peers-env/bin/python benchmarks/peers_fastmcp.py openapi --port N --api http://127.0.0.1:M
    benchmarks/peers-env/bin/python benchmarks/peers_fastmcp.py proxy --port N --upstream http://127.0.0.1:K/mcp

- `openapi`: `FastMCP.from_openapi` over the items API's own /openapi.json (tool `getItem`);
- `proxy`: `create_proxy` in front of the bare-SDK floor server (benchmarks/peers_servers.py floor).

Both served with FastMCP's defaults over streamable HTTP at /mcp.
"""

from __future__ import annotations

import argparse

import httpx2
from fastmcp import FastMCP
from fastmcp.server import create_proxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["openapi", "proxy"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", help="the items API's base URL (openapi)")
    parser.add_argument("--upstream", help="the floor server's MCP URL (proxy)")
    args = parser.parse_args()
    if args.role == "openapi":
        spec = httpx2.get(f"{args.api}/openapi.json").json()
        server = FastMCP.from_openapi(spec, client=httpx2.AsyncClient(base_url=args.api, timeout=30.0))
    else:
        server = create_proxy(args.upstream)
    server.run(transport="http", host="127.0.0.1", port=args.port, path="/mcp", log_level="WARNING",
               show_banner=False)


if __name__ == "__main__":
    main()
