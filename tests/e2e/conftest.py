"""Shared processes for the end-to-end tests.

Upstreams live for the whole session; each test module starts its own gateway (module-scoped) from a
servers.json it writes, so a module's configuration reads next to the tests that depend on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.gateway_process import McpUpstream, UpstreamAPI, running_mcp_upstreams, running_upstream_api


@pytest.fixture(scope="session")
def e2e_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every process started by these tests writes its output (shown when a process fails to start)."""
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="session")
def upstream_api(e2e_log_dir: Path) -> Iterator[UpstreamAPI]:
    """The echo HTTP API behind tests/e2e/upstream_api.yaml."""
    with running_upstream_api(e2e_log_dir) as api:
        yield api


@pytest.fixture(scope="session")
def mcp_upstreams(e2e_log_dir: Path) -> Iterator[dict[str, McpUpstream]]:
    """The test MCP server over streamable HTTP (endpoint /mcp) and over legacy SSE (endpoint /sse)."""
    with running_mcp_upstreams(("http", "sse"), e2e_log_dir) as upstreams:
        yield upstreams


@pytest.fixture(scope="session")
def mcp_http_upstream(mcp_upstreams: dict[str, McpUpstream]) -> McpUpstream:
    return mcp_upstreams["http"]


@pytest.fixture(scope="session")
def mcp_sse_upstream(mcp_upstreams: dict[str, McpUpstream]) -> McpUpstream:
    return mcp_upstreams["sse"]
