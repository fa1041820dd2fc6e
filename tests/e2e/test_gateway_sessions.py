"""Handshake-era sessions are bounded gateway-wide: one cap over `/mcp` and every `/mcp/{server}`, and an idle
timeout that closes abandoned sessions."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import Gateway, UpstreamAPI, running_gateway, write_config

ROBUSTNESS_SPEC = Path(__file__).resolve().parent / "robustness_api.yaml"
HANDSHAKE_VERSION = "2025-06-18"
HEADERS = {"Accept": "application/json, text/event-stream"}


def config(upstream_api: UpstreamAPI, config_dir: Path) -> Path:
    shutil.copy(ROBUSTNESS_SPEC, config_dir / "robustness_api.yaml")
    openapi = {"spec": "robustness_api.yaml", "baseUrl": upstream_api.base_url}
    return write_config(config_dir, {"api": {"openapi": openapi}})


def initialize(url: str) -> httpx.Response:
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    return httpx.post(url, json=request, headers=HEADERS, timeout=10.0)


def ping(url: str, session_id: str) -> httpx.Response:
    headers = {**HEADERS, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": HANDSHAKE_VERSION}
    return httpx.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers, timeout=10.0)


def open_session(url: str) -> str:
    response = initialize(url)
    assert response.status_code == 200, response.text
    session_id: str = response.headers["mcp-session-id"]
    return session_id


def test_one_session_cap_covers_every_endpoint(
    upstream_api: UpstreamAPI, tmp_path: Path, e2e_log_dir: Path
) -> None:
    with running_gateway(config(upstream_api, tmp_path), e2e_log_dir, extra_args=["--max-sessions", "3"]) as gateway:
        gateway_wide = [open_session(gateway.mcp_url), open_session(gateway.mcp_url)]
        per_server = open_session(gateway.server_url("api"))

        refused = initialize(gateway.server_url("api"))
        assert refused.status_code == 503
        assert "Too many open sessions" in refused.text
        assert initialize(gateway.mcp_url).status_code == 503

        # The sessions already open keep working, and ending one makes room for another.
        assert ping(gateway.mcp_url, gateway_wide[0]).status_code == 200
        ended = httpx.delete(
            gateway.server_url("api"),
            headers={"Mcp-Session-Id": per_server, "MCP-Protocol-Version": HANDSHAKE_VERSION},
            timeout=10.0,
        )
        assert ended.status_code == 200
        assert initialize(gateway.mcp_url).status_code == 200


def test_an_idle_session_is_closed_and_frees_its_place(
    upstream_api: UpstreamAPI, tmp_path: Path, e2e_log_dir: Path
) -> None:
    args = ["--max-sessions", "1", "--session-idle-timeout", "1"]
    with running_gateway(config(upstream_api, tmp_path), e2e_log_dir, extra_args=args) as gateway:
        abandoned = open_session(gateway.mcp_url)
        wait_until_gone(gateway, abandoned)
        assert ping(gateway.mcp_url, abandoned).status_code == 404
        assert initialize(gateway.mcp_url).status_code == 200


def wait_until_gone(gateway: Gateway, session_id: str, timeout: float = 30.0) -> None:
    """Poll the log (not the session: a ping would keep it alive) until the SDK reports the idle timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f"Session {session_id} idle timeout" in gateway.log():
            return
        time.sleep(0.1)
    raise AssertionError(f"session {session_id} was not closed within {timeout}s")
