"""Bounds that keep one caller or one upstream from taking the gateway down: the memory budget for response bytes
in flight, and each server's bounded call queue."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.e2e.gateway_process import Gateway, UpstreamAPI, result_text, running_gateway, write_config

ROBUSTNESS_SPEC = Path(__file__).resolve().parent / "robustness_api.yaml"
MEMORY_BUDGET_MB = 8

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("limits")
    shutil.copy(ROBUSTNESS_SPEC, config_dir / "robustness_api.yaml")
    openapi = {"spec": "robustness_api.yaml", "baseUrl": upstream_api.base_url}
    servers = {
        "api": {"openapi": openapi},
        "slow": {"openapi": openapi, "limits": {"maxConcurrentCalls": 2, "queueTimeout": 1}},
    }
    extra_args = ["--memory-budget", str(MEMORY_BUDGET_MB)]
    with running_gateway(write_config(config_dir, servers), e2e_log_dir, extra_args=extra_args) as running:
        yield running


async def test_large_responses_beyond_the_budget_wait_for_room_and_all_arrive(gateway: Gateway) -> None:
    results: list[types.CallToolResult] = []

    async def big_call() -> None:
        async with Client(gateway.mcp_url) as client:
            results.append(await client.call_tool("api-getBig", {"mb": 3}))

    # Six 3 MB bodies against an 8 MB budget: at most two are held at once, the others wait their turn.
    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(big_call)
    assert len(results) == 6
    for result in results:
        assert not result.is_error, result_text(result)[:300]
        assert len(result_text(result)) > 3 * 1024 * 1024
        # One copy of a large body: the text, not the same data parsed once more as structured content.
        assert result.structured_content is None


async def test_small_json_bodies_keep_their_structured_content(gateway: Gateway) -> None:
    async with Client(gateway.mcp_url) as client:
        result = await client.call_tool("api-whoAmI", {})
    assert isinstance(result.structured_content, dict)
    assert result.structured_content["path"] == "/whoami"


async def test_a_response_larger_than_the_budget_is_an_error_saying_so(gateway: Gateway) -> None:
    async with Client(gateway.mcp_url) as client:
        result = await client.call_tool("api-getBig", {"mb": 10})
        after = await client.call_tool("api-getBig", {"mb": 1})
    assert result.is_error
    assert result_text(result).startswith(
        f"server 'api': no room for a 10 MB response in the memory budget for server 'api' (0 of {MEMORY_BUDGET_MB} MB"
    ), result_text(result)
    assert not after.is_error


async def test_a_slow_server_queues_its_own_calls_without_delaying_the_others(gateway: Gateway) -> None:
    slow_results: list[types.CallToolResult] = []
    other_results: list[types.CallToolResult] = []

    async def slow_call() -> None:
        async with Client(gateway.mcp_url) as client:
            slow_results.append(await client.call_tool("slow-slowEcho", {"seconds": 3}))

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(slow_call)
        await anyio.sleep(0.5)
        async with Client(gateway.mcp_url) as client:
            other_results.append(await client.call_tool("api-whoAmI", {}))
        # The other server answered while every slot of the slow one was still taken.
        assert slow_results == [] or all(result.is_error for result in slow_results)

    assert not other_results[0].is_error
    answered = [result for result in slow_results if not result.is_error]
    busy = [result_text(result) for result in slow_results if result.is_error]
    assert len(answered) == 2
    assert busy == ["server 'slow' is busy: 2 calls in flight and no slot came free within 1s; try again shortly"] * 2
