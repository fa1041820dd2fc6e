"""The proof that the gateway scales out: two replicas sharing a real Redis behind a real HAProxy running the shipped
deploy/haproxy.cfg, driven by concurrent official MCP clients of both protocol eras, and one replica stopped
(SIGTERM, as Kubernetes and compose stop a container) in the middle of the load:

- every call succeeds through either replica, and each replica's /metrics shows its share;
- a list change one replica sees reaches a client connected to the other;
- while a replica goes away, modern-era clients see no failed call (its calls in flight are answered, its refusals
  of new work are retried on the other replica by the balancer); a handshake-era client whose session lived there
  is told 404 (never 500) and starts a new session, as the MCP spec asks;
- a session id no replica holds is answered 404.

The same load runs against one gateway with no Redis and no balancer (the embedded defaults).
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    LOOPBACK,
    McpUpstream,
    UpstreamAPI,
    free_port,
    mcp_upstream_command,
    port_ready,
    result_text,
    start_process,
    stopping,
    write_config,
)
from tests.e2e.listening_client import listening_client
from tests.e2e.metrics_scrape import scrape, total
from tests.e2e.replica_cluster import Cluster, running_cluster
from tests.e2e.replica_load import Load, handshake_client, modern_client, wait_for_calls

ROBUSTNESS_SPEC = Path(__file__).resolve().parent / "robustness_api.yaml"
LONG_CALLS = 4
LONG_CALL_SECONDS = 4
"""Longer than the balancer takes to mark a draining replica down (two failed checks a second apart)."""
CLIENTS_PER_ERA = 4
CALLS_BEFORE_STOP = 40
CALLS_AFTER_STOP = 40

pytestmark = pytest.mark.anyio


@pytest.fixture
def late_port() -> int:
    """Where the `late` server will listen once a test starts it."""
    return free_port()


@pytest.fixture
def config_path(upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, late_port: int, tmp_path: Path) -> Path:
    shutil.copy(ROBUSTNESS_SPEC, tmp_path / "robustness_api.yaml")
    servers = {
        "api": {"openapi": {"spec": "robustness_api.yaml", "baseUrl": upstream_api.base_url}},
        "tools": {"url": mcp_http_upstream.url},
        "late": {"url": f"http://{LOOPBACK}:{late_port}/mcp"},
    }
    return write_config(tmp_path, servers)


async def long_call(url: str, index: int, progress: list[str]) -> None:
    """One modern-era call that is still running when a replica is stopped, and still answered."""
    try:
        async with Client(url, mode="2026-07-28") as client:
            progress.append(f"sent {index}")
            result = await client.call_tool("api-slowEcho", {"seconds": LONG_CALL_SECONDS})
            progress.append(f"answered {index}" if not result.is_error else f"failed {index}: {result_text(result)}")
    except Exception as error:
        progress.append(f"failed {index}: {type(error).__name__}: {error}")


def unknown_session_status(url: str) -> int:
    request = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "Mcp-Session-Id": "0123456789abcdef0123456789abcdef", "MCP-Protocol-Version": "2025-06-18"}
    return httpx.post(url, json=request, headers=headers, timeout=30).status_code


async def list_change_reaches(watched_url: str, port: int, log_dir: Path) -> list[str]:
    """Start the `late` server and return the tool names a client of `watched_url` lists once told of the change."""
    told = anyio.Event()

    async def record(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            told.set()

    async with listening_client(watched_url, record) as client:
        # In a thread: the client's own tasks keep running while the upstream starts.
        upstream = await anyio.to_thread.run_sync(
            lambda: start_process(f"late-upstream-replicas-{port}", mcp_upstream_command("http", port=port),
                                  ready=port_ready(port), log_dir=log_dir)
        )
        with stopping(upstream), anyio.fail_after(30):
            await told.wait()
            return [tool.name for tool in (await client.list_tools()).tools]


@pytest.fixture(params=["two-replicas-redis-haproxy", "one-process"])
def cluster(request: pytest.FixtureRequest, config_path: Path, e2e_log_dir: Path) -> Iterator[Cluster]:
    retrying = ["--retry-interval", "0.3"]
    if request.param == "one-process":
        with running_cluster(config_path, e2e_log_dir, replicas=[retrying], redis=False, balancer=False) as single:
            yield single
        return
    # The first replica retries the late server by itself; the second never does, so only the first replica's
    # event through Redis can bring it back there.
    with running_cluster(config_path, e2e_log_dir, replicas=[retrying, ["--retry-interval", "0"]]) as pair:
        yield pair


async def test_calls_survive_a_replica_going_away_and_changes_reach_every_replica(
    cluster: Cluster, late_port: int, e2e_log_dir: Path
) -> None:
    replicas = cluster.replicas
    assert await anyio.to_thread.run_sync(unknown_session_status, cluster.mcp_url) == 404
    # A client of the replica that never retries the late server itself (or of the only gateway): told of the
    # change the other replica saw, it finds the late server's tools.
    names = await list_change_reaches(replicas[-1].mcp_url, late_port, e2e_log_dir)
    assert "late-echo" in names

    load, stop = Load(), anyio.Event()
    async with anyio.create_task_group() as group:
        for _ in range(CLIENTS_PER_ERA):
            group.start_soon(modern_client, cluster.mcp_url, load, stop)
            group.start_soon(handshake_client, cluster.mcp_url, load, stop)
        await wait_for_calls(load, CALLS_BEFORE_STOP)
        scraped_before_stop = [await anyio.to_thread.run_sync(scrape, replica.base_url) for replica in replicas]
        long_calls: list[str] = []
        for index in range(LONG_CALLS):
            group.start_soon(long_call, cluster.mcp_url, index, long_calls)
        with anyio.fail_after(30):
            while len(long_calls) < LONG_CALLS:
                await anyio.sleep(0.02)
        await anyio.sleep(0.5)
        if len(replicas) > 1:
            replicas[0].process.popen.send_signal(signal.SIGTERM)
            with anyio.fail_after(40):
                while replicas[0].process.is_running():
                    await anyio.sleep(0.05)
        await wait_for_calls(load, load.total() + CALLS_AFTER_STOP)
        stop.set()

    assert [failure for failure in load.failed if failure[0] == "modern"] == []
    # Calls that outlast the balancer's verdict on a draining replica (down after two failed checks) still end well.
    assert sorted(long_calls) == sorted([f"sent {index}" for index in range(LONG_CALLS)]
                                        + [f"answered {index}" for index in range(LONG_CALLS)])
    # Handshake-era clients lose only their session (404, then a new one), never a call to a server error.
    assert [failure for failure in load.failed if failure[0] == "handshake"] == []
    assert load.succeeded["modern"] > 0 and load.succeeded["handshake"] > 0
    if len(replicas) > 1:
        # Sessions lived on both replicas; those on the one that went away were told so and started anew.
        assert load.reinitialized > 0
        assert replicas[0].process.popen.returncode == 0, replicas[0].log()[-3000:]
        assert "every request in flight was answered" in replicas[0].log()
    for scraped in scraped_before_stop:
        # Each replica served its share of the calls.
        assert total(scraped, "mcp_gateway_tool_calls_total", outcome="ok") > 0
    survivor = replicas[-1]
    assert total(await anyio.to_thread.run_sync(scrape, survivor.base_url), "mcp_gateway_tool_calls_total",
                 outcome="error") == 0

