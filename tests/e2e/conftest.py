"""Shared processes for the end-to-end tests.

Upstreams live for the whole session; each test module starts its own gateway (module-scoped) from a
servers.json it writes, so a module's configuration reads next to the tests that depend on it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.gateway_process import (
    REPO_ROOT,
    McpUpstream,
    UpstreamAPI,
    running_mcp_upstreams,
    running_upstream_api,
)


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


@pytest.fixture(scope="session")
def ts_client() -> Path:
    """tests/ts_client (the official TypeScript MCP client's scripts) with its locked @modelcontextprotocol/sdk
    installed (npm ci, once per checkout)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed")
    directory = REPO_ROOT / "tests" / "ts_client"
    if not (directory / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=directory, check=True, timeout=300,
                       capture_output=True)
    return directory


@pytest.fixture(scope="session")
def inspector() -> Path:
    """tests/inspector with its locked MCP Inspector installed (npm ci, once per checkout)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed")
    directory = REPO_ROOT / "tests" / "inspector"
    if not (directory / "node_modules" / "@modelcontextprotocol" / "inspector" / "package.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=directory, check=True, timeout=300,
                       capture_output=True)
    return directory
