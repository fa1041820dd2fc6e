"""The official MCP conformance suite against the gateway, in front of the suite's reference server: every
server scenario through `/mcp/{server}`, and the scenarios that name nothing through `/mcp`.

Needs npm and the npm registry (the suite and node 22 are installed from it, once, into ~/.cache); skipped,
saying so, where npm is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.conformance import suite
from tests.e2e.gateway_process import Gateway, result_text, running_gateway, write_config

FULL_SCENARIOS = 32
NAMES_FREE_SCENARIOS = 8


@pytest.fixture(scope="module")
def node() -> Path:
    try:
        return suite.install()
    except suite.SuiteUnavailable as error:
        pytest.skip(f"conformance suite unavailable: {error}")


@pytest.fixture(scope="module")
def gateway(node: Path, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path) -> Iterator[Gateway]:
    with suite.running_reference_server(node, e2e_log_dir) as reference_url:
        # A call the upstream never answers fails within this, not the default minute.
        entry = {"url": reference_url, "timeout": 15}
        config = write_config(tmp_path_factory.mktemp("conformance-gateway"), {"conf": entry})
        with running_gateway(config, e2e_log_dir) as running:
            yield running


def _localhost(gateway: Gateway) -> str:
    # The DNS-rebinding scenario sends a foreign Host and expects a refusal; localhost is one of ours.
    return gateway.base_url.replace("127.0.0.1", "localhost")


@pytest.mark.timeout(300)
def test_every_scenario_passes_through_the_server_endpoint(gateway: Gateway) -> None:
    outcome = suite.run(f"{_localhost(gateway)}/mcp/conf", strict=True)
    assert (outcome.passed, outcome.failed) == (FULL_SCENARIOS, 0), outcome.output


@pytest.mark.timeout(300)
def test_every_name_free_scenario_passes_through_the_gateway_endpoint(gateway: Gateway) -> None:
    outcome = suite.run(f"{_localhost(gateway)}/mcp", profile="names-free", strict=True)
    assert (outcome.passed, outcome.failed) == (NAMES_FREE_SCENARIOS, 0), outcome.output


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_a_call_whose_upstream_stream_closes_mid_call_gets_its_result(gateway: Gateway) -> None:
    # SEP-1699 polling: the reference server closes the call's event stream, asks for a 5 s retry, and answers
    # 100 ms later; it keeps that answer for replay only if a stream is attached by then, so the gateway has to
    # resume at once (the retry hint would lose the answer, and the call would fail at the server's timeout).
    async with Client(gateway.server_url("conf"), mode="legacy") as client:
        with anyio.fail_after(30):
            result = await client.call_tool("test_reconnection", {})
    assert not result.is_error, result_text(result)
    assert "Reconnection test completed successfully" in result_text(result)
