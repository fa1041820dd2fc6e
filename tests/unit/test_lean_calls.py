"""The one SDK internal the lean call path leans on: the session's envelope stamp (upstreams/lean_calls.py).

If an SDK upgrade renames it or changes what it stamps, this fails before any upstream call goes out unstamped.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.server.lowlevel import Server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS


async def _stamped() -> tuple[str, dict[str, Any], dict[str, Any]]:
    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="echo", input_schema={"type": "object"})])

    server: Server[Any] = Server("stamp", on_list_tools=list_tools)
    async with Client(server, mode="auto") as client:
        data: dict[str, Any] = {"method": "tools/call", "params": {"name": "echo", "arguments": {}, "_meta": {"k": 1}}}
        options: dict[str, Any] = {}
        client.session._stamp(data, options)  # type: ignore[arg-type]
        return client.protocol_version, data, options


def test_the_modern_session_stamps_the_envelope_the_lean_path_sends() -> None:
    version, data, options = anyio.run(_stamped)
    assert version in MODERN_PROTOCOL_VERSIONS
    meta = data["params"]["_meta"]
    assert meta["k"] == 1  # the caller's own _meta is kept
    assert meta[types.PROTOCOL_VERSION_META_KEY] == version
    assert meta[types.CLIENT_INFO_META_KEY]["name"]
    assert types.CLIENT_CAPABILITIES_META_KEY in meta
    headers = {name.lower(): value for name, value in options["headers"].items()}
    assert headers["mcp-protocol-version"] == version
    assert headers["mcp-method"] == "tools/call"
    assert headers["mcp-name"] == "echo"
