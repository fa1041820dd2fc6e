"""Running the gateway as a service: the probes (/health, /ready) and the config digest that tells replicas apart,
and GET /metrics as Prometheus reads it, on two real gateway processes serving one config file.

Draining (/health stays 200 saying "draining", /ready turns 503) is proven by test_gateway_shutdown.py, metrics of
the tool loop by chat/test_metrics.py, and who may scrape /metrics by test_gateway_access.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mcp_gateway.config import load_config
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    result_text,
    running_gateway,
    write_config,
)
from tests.e2e.metrics_scrape import scrape, total, value

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def config_path(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    servers = {
        "api": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}},
        "tools": {"url": mcp_http_upstream.url},
    }
    return write_config(tmp_path_factory.mktemp("operations"), servers)


@pytest.fixture(scope="module")
def replicas(config_path: Path, e2e_log_dir: Path) -> Iterator[tuple[Gateway, Gateway]]:
    """Two gateways serving the same file, as two replicas of one deployment do."""
    options = ["--reload-interval", "0.2"]
    with (
        running_gateway(config_path, e2e_log_dir, extra_args=options) as first,
        running_gateway(config_path, e2e_log_dir, extra_args=options) as second,
    ):
        yield first, second


def test_replicas_of_one_config_show_one_digest_and_are_ready(
    replicas: tuple[Gateway, Gateway], config_path: Path
) -> None:
    first, second = replicas
    digests = {gateway.get_json("/health")["config"] for gateway in replicas}
    assert digests == {load_config(config_path).digest}
    assert first.get_json("/ready") == second.get_json("/ready") == {"ready": True}


def test_a_reloaded_file_changes_the_digest_on_every_replica(
    replicas: tuple[Gateway, Gateway], config_path: Path
) -> None:
    before = load_config(config_path).digest
    document = json.loads(config_path.read_text())
    document["mcpServers"]["spare"] = {"url": "http://127.0.0.1:9/mcp", "disabled": True}
    config_path.write_text(json.dumps(document))
    after = load_config(config_path).digest
    assert after != before
    deadline = time.monotonic() + 30
    while {gateway.get_json("/health")["config"] for gateway in replicas} != {after}:
        assert time.monotonic() < deadline, "a replica never reported the reloaded configuration"
        time.sleep(0.1)


async def test_metrics_count_each_replicas_own_calls_by_server_tool_and_outcome(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    argument = "metrics-argument-value-7f3a"
    before = await anyio.to_thread.run_sync(scrape, first.base_url)
    async with first.client() as gateway_client, first.client("tools", mode="legacy") as server_client:
        for _ in range(3):
            result = await gateway_client.call_tool("api-getItem", {"item_id": argument})
            assert not result.is_error, result_text(result)
        for _ in range(2):
            assert result_text(await server_client.call_tool("echo", {"text": argument})) == argument
        assert (await server_client.call_tool("fail", {"message": "no"})).is_error
        invalid = await gateway_client.call_tool("api-getItem", {"limit": "not a number"})
        assert invalid.is_error
        during = await anyio.to_thread.run_sync(scrape, first.base_url)
    after = await anyio.to_thread.run_sync(scrape, first.base_url)
    untouched = await anyio.to_thread.run_sync(scrape, second.base_url)

    def calls(series: dict[tuple[str, frozenset[tuple[str, str]]], float], server: str, tool: str,
              outcome: str) -> float:
        return value(series, "mcp_gateway_tool_calls_total", server=server, tool=tool, outcome=outcome)

    # Labelled by each tool's own name on its server, whichever endpoint the call came through.
    assert calls(after, "api", "getItem", "ok") - calls(before, "api", "getItem", "ok") == 3
    assert calls(after, "api", "getItem", "invalid_arguments") - calls(before, "api", "getItem",
                                                                        "invalid_arguments") == 1
    assert calls(after, "tools", "echo", "ok") - calls(before, "tools", "echo", "ok") == 2
    assert calls(after, "tools", "fail", "error") - calls(before, "tools", "fail", "error") == 1
    histogram_count = "mcp_gateway_tool_call_duration_seconds_count"
    assert value(after, histogram_count, server="api", tool="getItem") - value(
        before, histogram_count, server="api", tool="getItem") == 4
    assert value(after, "mcp_gateway_tool_calls_in_flight") == 0
    # The handshake-era client held a session while it was connected.
    assert value(during, "mcp_gateway_mcp_sessions_open") >= 1
    assert total(after, "mcp_gateway_http_requests_total", endpoint="/mcp", status="200") > 0
    assert total(after, "mcp_gateway_http_requests_total", endpoint="/mcp/{server}", status="200") > 0
    assert value(after, "mcp_gateway_upstream_health", server="api", state="healthy") == 1
    assert value(after, "mcp_gateway_upstream_health", server="api", state="unhealthy") == 0
    assert value(after, "mcp_gateway_memory_budget_capacity_bytes") == 256 * 1024 * 1024
    # Each replica counts its own traffic.
    assert total(untouched, "mcp_gateway_tool_calls_total") == 0


def test_no_argument_or_unbounded_value_becomes_a_label(replicas: tuple[Gateway, Gateway]) -> None:
    first, _ = replicas
    response = first.get("/metrics")
    assert "metrics-argument-value-7f3a" not in response.text
    # A path that is no route is counted under one label, however many such paths callers invent.
    for index in range(5):
        first.get(f"/no-such-path-{index}")
    series = scrape(first.base_url)
    assert value(series, "mcp_gateway_http_requests_total", endpoint="other", status="404") >= 5
    assert not any("no-such-path" in dict(labels).get("endpoint", "") for _, labels in series)
