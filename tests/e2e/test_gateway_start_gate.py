"""The gateway answers while its upstreams start (server/start_gate.py): an endpoint of OpenAPI servers answers
`initialize` at once, and every request whose answer depends on a server still starting waits for it.

The slow server is the test MCP server behind a gate: its command waits for a file before it runs, so the test
decides when the server finishes starting, and nothing depends on how long anything takes."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import pytest

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    LOOPBACK,
    REPO_ROOT,
    UPSTREAM_API_SPEC,
    Gateway,
    UpstreamAPI,
    free_port,
    gateway_command,
    http_ready,
    mcp_upstream_command,
    start_process,
    stopping,
    write_config,
)

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}},
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
HELD_SECONDS = 1.0
"""How long the test checks that held requests stay unanswered: they cannot be answered while the gate is shut,
however loaded the machine is."""


def _result(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:500]
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(data[-1])["result"])
    return dict(response.json()["result"])


@pytest.fixture()
def gated(upstream_api: UpstreamAPI, tmp_path: Path, e2e_log_dir: Path) -> Iterator[tuple[Gateway, Path]]:
    gate = tmp_path / "open"
    shutil.copy(UPSTREAM_API_SPEC, tmp_path / "upstream_api.yaml")
    waiting = f"import pathlib, time, os, sys\nwhile not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.02)\n" \
              "os.execv(sys.argv[1], sys.argv[1:])"
    command, *args = mcp_upstream_command("stdio")
    servers = {
        "api": {"openapi": {"spec": "upstream_api.yaml", "baseUrl": upstream_api.base_url}},
        "slow": {"command": sys.executable, "args": ["-c", waiting, command, *args], "cwd": str(REPO_ROOT)},
    }
    config = write_config(tmp_path, servers)
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    process = start_process(
        f"gateway-start-gate-{port}",
        gateway_command("serve", "--config", str(config), "--host", LOOPBACK, "--port", str(port)),
        ready=http_ready(f"{base_url}/health"),
        log_dir=e2e_log_dir,
    )
    with stopping(process):
        try:
            yield Gateway(base_url, config, process), gate
        finally:
            gate.touch()


def test_an_openapi_endpoint_initializes_while_another_server_starts_and_listings_wait_for_it(
    gated: tuple[Gateway, Path],
) -> None:
    gateway, gate = gated
    with httpx.Client(timeout=120) as http:
        opened = http.post(gateway.server_url("api"), json=INITIALIZE, headers=HEADERS)
        assert _result(opened)["serverInfo"]["name"] == "mcp-gateway/api"
        assert gateway.server_status("slow")["health"] == "starting"
        session = {**HEADERS, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
        assert http.post(gateway.server_url("api"), json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                         headers=session).status_code == 202
        with ThreadPoolExecutor(max_workers=3) as pool:
            listing = pool.submit(http.post, gateway.server_url("api"),
                                  json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=session)
            relayed_identity = pool.submit(http.post, gateway.server_url("slow"), json=INITIALIZE, headers=HEADERS)
            rest_tools = pool.submit(http.get, f"{gateway.base_url}/tools")
            held = [listing, relayed_identity, rest_tools]
            done, _ = wait(held, timeout=HELD_SECONDS)
            assert not done, [future.result().text[:200] for future in done]
            # What reports state never waits.
            assert gateway.get_json("/health")["servers"].get("starting") == 1
            assert gateway.server_status("slow")["health"] == "starting"
            gate.touch()
            wait(held, timeout=120)
    tools = {tool["name"] for tool in _result(listing.result())["tools"]}
    assert "getItem" in tools
    # The per-server endpoint of an MCP upstream announces the upstream's own identity, so it waited for it.
    assert _result(relayed_identity.result())["serverInfo"]["name"] == "test-upstream"
    assert rest_tools.result().status_code == 200
    assert any(tool["name"].startswith("slow-") for tool in rest_tools.result().json()["tools"])
