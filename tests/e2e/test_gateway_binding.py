"""Where the gateway listens, and which Host headers it answers."""

from __future__ import annotations

import socket
from pathlib import Path

import anyio

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    REPO_ROOT,
    free_port,
    gateway_command,
    http_ready,
    keyed_client,
    list_all_tools,
    run_cli,
    start_process,
    stdio_server_entry,
    stopping,
    write_config,
)


def test_any_loopback_address_serves_and_answers_its_own_host_header(tmp_path: Path, e2e_log_dir: Path) -> None:
    management_spec = REPO_ROOT / "mcp_gateway" / "server" / "management.yaml"
    config = write_config(
        tmp_path, {"gateway": {"openapi": {"spec": str(management_spec), "baseUrl": "${MCP_GATEWAY_URL}"}}}
    )
    port = free_port()
    base_url = f"http://127.0.0.2:{port}"
    args = gateway_command("serve", "--config", str(config), "--host", "127.0.0.2", "--port", str(port))
    # /ready, not /health: /health answers while the server is still starting (its spec converted in the background).
    with stopping(start_process("gateway-127-0-0-2", args, ready=http_ready(f"{base_url}/ready"),
                                log_dir=e2e_log_dir)):
        assert httpx.get(f"{base_url}/servers", timeout=10).json()[0]["health"] == "healthy"
        foreign = httpx.get(f"{base_url}/health", headers={"Host": "evil.example"}, timeout=10)
        assert foreign.status_code == 421


def test_a_non_loopback_address_needs_allow_remote(tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    completed = run_cli("serve", "--config", str(config), "--host", "0.0.0.0", "--port", str(free_port()))
    assert completed.returncode == 2
    assert "--allow-remote" in completed.stderr


def test_a_port_in_use_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = run_cli("serve", "--config", str(config), "--port", str(port))
    assert completed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_port_out_of_range_is_refused() -> None:
    completed = run_cli("serve", "--port", "99999")
    assert completed.returncode == 2
    assert "99999 is not a TCP port" in completed.stderr


def test_a_foreign_origin_is_forbidden(tmp_path: Path, e2e_log_dir: Path) -> None:
    config = write_config(tmp_path, {})
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    args = gateway_command("serve", "--config", str(config), "--port", str(port))
    with stopping(start_process("gateway-origin", args, ready=http_ready(f"{base_url}/health"), log_dir=e2e_log_dir)):
        for path in ("/health", "/mcp"):
            foreign = httpx.get(f"{base_url}{path}", headers={"Origin": "http://evil.example"}, timeout=10)
            assert foreign.status_code == 403, path
        local = httpx.get(f"{base_url}/health", headers={"Origin": f"http://localhost:{port}"}, timeout=10)
        assert local.status_code == 200


def test_with_keys_any_address_serves_and_every_request_needs_a_key(tmp_path: Path, e2e_log_dir: Path) -> None:
    """Cursor's `"headers": {"Authorization": "Bearer <key>"}` against a gateway bound beyond loopback."""
    key = "mgw_binding-test-key-000000000000"
    config = write_config(tmp_path, {"tools": stdio_server_entry()}, access={"keys": {"cursor": {"key": key}}})
    port = free_port()
    args = gateway_command("serve", "--config", str(config), "--host", "0.0.0.0", "--port", str(port))
    base_url = f"http://127.0.0.1:{port}"
    with stopping(start_process("gateway-keys-0-0-0-0", args, ready=http_ready(f"{base_url}/health"),
                                log_dir=e2e_log_dir)):

        async def list_with_key() -> set[str]:
            async with keyed_client(f"{base_url}/mcp", {"Authorization": f"Bearer {key}"}) as client:
                return {tool.name for tool in await list_all_tools(client)}

        assert "tools-echo" in anyio.run(list_with_key)
        assert httpx.get(f"{base_url}/tools", timeout=10).status_code == 401
        # Keys do not switch the DNS-rebinding check off: a name the gateway was not told about is refused.
        foreign = httpx.get(f"{base_url}/health", headers={"Host": "evil.example"}, timeout=10)
        assert foreign.status_code == 421
