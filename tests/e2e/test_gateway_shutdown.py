"""SIGTERM drains the gateway: calls in flight are answered, new work gets 503, stdio children are stopped after.

Each test starts a gateway of its own, since it ends it.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    Gateway,
    UpstreamAPI,
    result_text,
    running_gateway,
    stdio_server_entry,
    write_config,
)

ROBUSTNESS_SPEC = Path(__file__).resolve().parent / "robustness_api.yaml"
EXIT_TIMEOUT = 30.0

pytestmark = pytest.mark.anyio


@contextmanager
def gateway_to_stop(
    upstream_api: UpstreamAPI, config_dir: Path, log_dir: Path, grace_period: float
) -> Iterator[Gateway]:
    shutil.copy(ROBUSTNESS_SPEC, config_dir / "robustness_api.yaml")
    servers = {
        "api": {"openapi": {"spec": "robustness_api.yaml", "baseUrl": upstream_api.base_url}},
        "child": stdio_server_entry(),
    }
    config = write_config(config_dir, servers)
    with running_gateway(config, log_dir, extra_args=["--grace-period", str(grace_period)]) as gateway:
        yield gateway


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def slow_requests(upstream_api: UpstreamAPI) -> list[str]:
    return [path for path in upstream_api.received_paths() if path.startswith("/slow")]


def new_tool_call(gateway: Gateway) -> httpx.Response:
    """A tools/call as a modern-era client sends it: one self-contained POST."""
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "api-whoAmI", "arguments": {}},
    }
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    return httpx.post(gateway.mcp_url, json=request, headers=headers, timeout=10.0)


async def test_sigterm_answers_the_calls_in_flight_refuses_new_work_then_stops_the_children(
    upstream_api: UpstreamAPI, tmp_path: Path, e2e_log_dir: Path
) -> None:
    with gateway_to_stop(upstream_api, tmp_path, e2e_log_dir, grace_period=30) as gateway:
        async with Client(gateway.mcp_url) as client:
            identity = await client.call_tool("child-whoami", {})
        assert isinstance(identity.structured_content, dict)
        child_pid = identity.structured_content["pid"]

        results: dict[int, types.CallToolResult] = {}
        calling: list[int] = []
        upstream_api.forget_received()

        async def slow_call(index: int, mode: Any) -> None:
            tool, arguments = ("api-slowEcho", {"seconds": 4}) if index % 2 else ("child-slow", {"seconds": 4})
            async with Client(gateway.mcp_url, mode=mode) as client:
                calling.append(index)
                results[index] = await client.call_tool(tool, arguments)

        async with anyio.create_task_group() as group:
            for index in range(8):
                # Both protocol eras: sessions with an event stream, and self-contained POSTs.
                group.start_soon(slow_call, index, "legacy" if index < 4 else "auto")
            # SIGTERM only once every call is on its way (opening eight clients can take seconds on a busy
            # machine) and the OpenAPI ones have reached the upstream.
            with anyio.fail_after(60):
                while len(calling) < 8 or len(await anyio.to_thread.run_sync(slow_requests, upstream_api)) < 4:
                    await anyio.sleep(0.05)
            await anyio.sleep(0.5)
            gateway.process.popen.send_signal(signal.SIGTERM)
            await anyio.sleep(0.3)
            health = await anyio.to_thread.run_sync(gateway.get, "/health")
            ready = await anyio.to_thread.run_sync(gateway.get, "/ready")
            refused = await anyio.to_thread.run_sync(new_tool_call, gateway)

        # Alive (a liveness probe must not kill the drain), but no longer ready for new work.
        assert health.status_code == 200
        assert health.json()["status"] == "draining"
        assert ready.status_code == 503
        assert ready.json() == {"ready": False, "reason": "draining"}
        assert refused.status_code == 503
        assert refused.headers["retry-after"]
        assert sorted(results) == list(range(8))
        for index, result in results.items():
            assert not result.is_error, result_text(result)
            if index % 2 == 0:
                assert result_text(result) == "slept 4.0s"
        assert gateway.process.popen.wait(timeout=EXIT_TIMEOUT) == 0
        log = gateway.log()
        assert "SIGTERM: draining" in log
        assert "every request in flight was answered" in log
        assert "Traceback" not in log
        deadline = time.monotonic() + 10
        while process_exists(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_exists(child_pid)


async def test_a_call_still_running_after_the_grace_period_is_cut_off(
    upstream_api: UpstreamAPI, tmp_path: Path, e2e_log_dir: Path
) -> None:
    with gateway_to_stop(upstream_api, tmp_path, e2e_log_dir, grace_period=1) as gateway:
        outcome: list[BaseException | types.CallToolResult] = []

        async def too_slow() -> None:
            try:
                async with Client(gateway.mcp_url) as client:
                    outcome.append(await client.call_tool("api-slowEcho", {"seconds": 60}))
            except Exception as error:
                outcome.append(error)

        upstream_api.forget_received()
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(too_slow)
            with anyio.fail_after(60):
                while not await anyio.to_thread.run_sync(slow_requests, upstream_api):
                    await anyio.sleep(0.05)
            gateway.process.popen.send_signal(signal.SIGTERM)
            assert await anyio.to_thread.run_sync(lambda: gateway.process.popen.wait(timeout=EXIT_TIMEOUT)) == 0
        assert time.monotonic() - started < 30
        assert len(outcome) == 1 and not isinstance(outcome[0], types.CallToolResult)
        assert "grace period of 1s over: 1 request(s) still running are cut off" in gateway.log()


async def test_a_client_that_got_its_answer_during_the_drain_can_still_follow_it_up(
    upstream_api: UpstreamAPI, tmp_path: Path, e2e_log_dir: Path
) -> None:
    # The official client lists tools after a call and ends its session with a DELETE: requests that arrive a
    # moment after the last answer of the drain, which must not find the port closed.
    with gateway_to_stop(upstream_api, tmp_path, e2e_log_dir, grace_period=30) as gateway:
        upstream_api.forget_received()
        async with Client(gateway.mcp_url, mode="legacy") as client, anyio.create_task_group() as group:
            answered: list[types.CallToolResult] = []

            async def slow_call() -> None:
                answered.append(await client.call_tool("api-slowEcho", {"seconds": 1}))

            group.start_soon(slow_call)
            with anyio.fail_after(60):
                while not await anyio.to_thread.run_sync(slow_requests, upstream_api):
                    await anyio.sleep(0.05)
            gateway.process.popen.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                while not answered:
                    await anyio.sleep(0.02)
            await anyio.sleep(0.3)
            follow_up = await client.list_tools()
        assert not answered[0].is_error and result_text(answered[0]) and follow_up.tools
        assert await anyio.to_thread.run_sync(lambda: gateway.process.popen.wait(timeout=EXIT_TIMEOUT)) == 0
        assert "every request in flight was answered" in gateway.log()
