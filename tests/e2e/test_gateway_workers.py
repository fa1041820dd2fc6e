"""`serve --workers 2`: two gateway processes on one port, correct for both MCP protocol eras.

Modern-era requests are self-contained, so any worker answers them; with `--stateless` handshake-era clients work
on any worker too. Without it a handshake-era session lives in one worker, and a session id a worker does not
know is answered 404 (the client starts over), never 500. Stopping the gateway stops every worker.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    ConnectMode,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    result_text,
    running_gateway,
    write_config,
)

WORKERS = 2
CLIENTS = 8
"""Each client opens connections of its own, which the kernel hands to either worker."""
MODERN_ERA = "2026-07-28"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def config_path(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    config_dir = tmp_path_factory.mktemp("workers-gateway")
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    servers = {
        "api": {"openapi": {"spec": "upstream_api.yaml", "baseUrl": upstream_api.base_url}},
        "up": {"url": mcp_http_upstream.url},
    }
    return write_config(config_dir, servers)


@pytest.fixture(scope="module")
def stateful_gateway(config_path: Path, e2e_log_dir: Path) -> Iterator[Gateway]:
    with running_gateway(config_path, e2e_log_dir, extra_args=["--workers", str(WORKERS)]) as running:
        yield running


@pytest.fixture(scope="module")
def stateless_gateway(config_path: Path, e2e_log_dir: Path) -> Iterator[Gateway]:
    with running_gateway(config_path, e2e_log_dir, extra_args=["--workers", str(WORKERS), "--stateless"]) as running:
        yield running


def wait_for_log(gateway: Gateway, text: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while gateway.log().count(text) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.log().count(text) == count, gateway.log()[-3000:]


def workers_of(gateway: Gateway) -> list[int]:
    pid = gateway.process.popen.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii").split()
    return [int(child) for child in children]


def listening_sockets(pid: int, port: int) -> set[str]:
    """The sockets (inodes) that `pid` holds and that listen on the loopback `port` (Linux /proc)."""
    listening = {
        fields[9]
        for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
        if (fields := line.split())[1].endswith(f":{port:04X}") and fields[3] == "0A"  # 0A: LISTEN
    }
    held = {os.readlink(fd).removeprefix("socket:[").removesuffix("]") for fd in Path(f"/proc/{pid}/fd").iterdir()
            if os.readlink(fd).startswith("socket:[")}
    return listening & held


async def calls_through_many_clients(gateway: Gateway, mode: ConnectMode) -> list[str]:
    """CLIENTS clients at once, each calling an OpenAPI tool and an MCP upstream's tool twice."""
    texts: list[str] = []

    async def one_client(index: int) -> None:
        async with gateway.client(mode=mode) as client:
            for round_number in range(2):
                item = await client.call_tool("api-getItem", {"item_id": f"w{index}-{round_number}"})
                echoed = await client.call_tool("up-echo", {"text": f"client {index} round {round_number}"})
                assert not item.is_error and not echoed.is_error, (result_text(item), result_text(echoed))
                texts.extend([result_text(item), result_text(echoed)])

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for index in range(CLIENTS):
                group.start_soon(one_client, index)
    return texts


@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/task").exists(), reason="Linux only")
class TestTwoWorkers:
    def test_two_worker_processes_serve_the_port(self, stateful_gateway: Gateway) -> None:
        assert len(workers_of(stateful_gateway)) == WORKERS
        wait_for_log(stateful_gateway, "listening on", WORKERS)
        assert "without --stateless" in stateful_gateway.log()

    def test_each_worker_listens_on_a_socket_of_its_own_and_the_parent_on_none(self, stateful_gateway: Gateway) -> None:
        # SO_REUSEPORT: the kernel spreads new connections over the workers' sockets (one shared socket let the
        # first worker to wake accept every connection opened at once).
        wait_for_log(stateful_gateway, "listening on", WORKERS)
        port = int(stateful_gateway.base_url.rsplit(":", 1)[1])
        assert listening_sockets(stateful_gateway.process.popen.pid, port) == set()
        sockets = [listening_sockets(worker, port) for worker in workers_of(stateful_gateway)]
        assert [len(own) for own in sockets] == [1] * WORKERS
        assert len(set.union(*sockets)) == WORKERS, "the workers share one socket"

    def test_modern_era_calls_work_on_any_worker(self, stateful_gateway: Gateway) -> None:
        texts = anyio.run(calls_through_many_clients, stateful_gateway, MODERN_ERA)
        assert len(texts) == CLIENTS * 4
        assert "client 3 round 1" in texts
        assert any("/items/w5-1" in text for text in texts)

    def test_unknown_session_id_is_404_not_500(self, stateful_gateway: Gateway) -> None:
        # Whichever worker the connection lands on, a session it does not hold is "not found".
        for _ in range(6):
            with httpx.Client(timeout=10.0) as fresh_connection:
                response = fresh_connection.post(
                    stateful_gateway.mcp_url,
                    json={"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
                    headers={**MCP_HEADERS, "mcp-session-id": "f" * 32, "mcp-protocol-version": "2025-06-18"},
                )
            assert response.status_code == 404, response.text

    @pytest.mark.parametrize("mode", ["legacy", MODERN_ERA])
    def test_both_eras_work_on_any_worker_when_stateless(self, stateless_gateway: Gateway, mode: ConnectMode) -> None:
        texts = anyio.run(calls_through_many_clients, stateless_gateway, mode)
        assert len(texts) == CLIENTS * 4
        assert "client 7 round 0" in texts


def test_sighup_reloads_every_worker_and_sigterm_stops_them(config_path: Path, e2e_log_dir: Path) -> None:
    if not Path("/proc/self/task").exists():
        pytest.skip("Linux only")
    with running_gateway(config_path, e2e_log_dir, extra_args=["--workers", str(WORKERS), "--stateless"]) as gateway:
        workers = workers_of(gateway)
        assert len(workers) == WORKERS
        wait_for_log(gateway, "listening on", WORKERS)
        gateway.process.popen.send_signal(signal.SIGHUP)
        wait_for_log(gateway, "SIGHUP: reloading", WORKERS)
        assert gateway.process.is_running() and workers_of(gateway) == workers
        assert gateway.get("/health").status_code == 200
        gateway.process.popen.send_signal(signal.SIGTERM)
        assert gateway.process.popen.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    alive: list[Any] = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        time.sleep(0.05)
    assert not alive, f"workers outlived the gateway: {alive}"
