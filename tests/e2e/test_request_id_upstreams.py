"""The request id reaches MCP upstreams over HTTP (streamable HTTP and legacy SSE): each call the gateway relays
carries the `X-Request-Id` of the downstream request that caused it, even when concurrent callers of both eras share
one upstream session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.e2e.gateway_process import (
    ConnectMode,
    Gateway,
    McpUpstream,
    keyed_client,
    result_text,
    running_gateway,
    write_config,
)

pytestmark = pytest.mark.anyio

CALLERS = 6


@pytest.fixture(scope="module")
def gateway(mcp_http_upstream: McpUpstream, mcp_sse_upstream: McpUpstream, tmp_path_factory: pytest.TempPathFactory,
            e2e_log_dir: Path) -> Iterator[Gateway]:
    servers = {"tools": {"url": mcp_http_upstream.url}, "legacy": {"url": mcp_sse_upstream.url, "type": "sse"}}
    config = write_config(tmp_path_factory.mktemp("request-id"), servers)
    with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0"]) as running:
        yield running


async def test_each_relayed_call_carries_the_id_of_the_request_that_caused_it(gateway: Gateway) -> None:
    seen: dict[str, object] = {}

    async def caller(index: int) -> None:
        request_id = f"caller-{index}-trace"
        mode: ConnectMode = "2026-07-28" if index % 2 else "legacy"
        async with keyed_client(gateway.mcp_url, {"X-Request-Id": request_id}, mode=mode) as client:
            for tool in ("tools-whoami", "legacy-whoami", "tools-whoami"):
                result = await client.call_tool(tool, {})
                assert not result.is_error, result_text(result)
                assert result.structured_content is not None
                seen.setdefault(request_id, set()).add(result.structured_content["x_request_id"])  # type: ignore[union-attr]

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for index in range(CALLERS):
                group.start_soon(caller, index)
    assert seen == {f"caller-{index}-trace": {f"caller-{index}-trace"} for index in range(CALLERS)}


async def test_a_call_without_an_id_of_its_own_gets_the_one_the_gateway_made(gateway: Gateway) -> None:
    async with keyed_client(gateway.mcp_url, {}) as client:
        first = await client.call_tool("tools-whoami", {})
        second = await client.call_tool("tools-whoami", {})
    ids = [result.structured_content["x_request_id"] for result in (first, second)
           if result.structured_content is not None]
    # Each downstream request got an id of its own (32 hex digits), and the upstream saw it.
    assert len(ids) == 2 and ids[0] != ids[1] and all(len(str(found)) == 32 for found in ids), ids
