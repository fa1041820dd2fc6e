"""`serve --workers 2`: every scrape of /metrics, whichever worker answers it, counts the requests and calls of both
workers; the per-start directory the workers share their numbers through is gone once the gateway stops."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    McpUpstream,
    UpstreamAPI,
    result_text,
    running_gateway,
    write_config,
)
from tests.e2e.metrics_scrape import parse, scrape, total, value

pytestmark = pytest.mark.anyio

REQUESTS = 40
CALLS = 12
SCRAPES = 8


async def test_one_scrape_counts_every_workers_requests(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, tmp_path: Path, e2e_log_dir: Path
) -> None:
    shutil.copy(UPSTREAM_API_SPEC, tmp_path / "upstream_api.yaml")
    config = write_config(tmp_path, {"api": {"openapi": {"spec": "upstream_api.yaml",
                                                         "baseUrl": upstream_api.base_url}},
                                     "up": {"url": mcp_http_upstream.url}})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with running_gateway(config, e2e_log_dir, env={"TMPDIR": str(scratch)},
                         extra_args=["--workers", "2", "--stateless", "--retry-interval", "0"]) as gateway:
        assert [path.name.startswith("mcp-gateway-metrics-") for path in scratch.iterdir()] == [True]
        # /health answered means one worker is up; the other may still be starting on a loaded machine.
        deadline = time.monotonic() + 60
        while value(scrape(gateway.base_url), "mcp_gateway_processes") < 2:
            assert time.monotonic() < deadline, "the second worker never reported"
            await anyio.sleep(0.2)
        # A connection of its own per request: the kernel hands each to either worker.
        for _ in range(REQUESTS):
            assert httpx.get(f"{gateway.base_url}/tools", timeout=30).status_code == 200

        async def call(index: int) -> None:
            async with Client(gateway.mcp_url, mode="2026-07-28") as client:
                result = await client.call_tool("up-add", {"a": index, "b": 1})
                assert not result.is_error, result_text(result)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for index in range(CALLS):
                    group.start_soon(call, index)

        counts = []
        for _ in range(SCRAPES):
            # Each scrape on a new connection too, so both workers answer some of them.
            series = parse(httpx.get(f"{gateway.base_url}/metrics", timeout=30).text)
            counts.append((value(series, "mcp_gateway_processes"),
                           value(series, "mcp_gateway_http_requests_total", endpoint="/tools", status="200"),
                           total(series, "mcp_gateway_tool_calls_total", server="up", tool="add", outcome="ok"),
                           value(series, "mcp_gateway_upstream_health", server="up", state="healthy"),
                           value(series, "mcp_gateway_upstream_reconnects_total", server="up")))
    assert counts == [(2, REQUESTS, CALLS, 1, 0)] * SCRAPES
    assert list(scratch.iterdir()) == []
