"""Upstream MCP servers that die, hang or misbehave while calls are in flight: the gateway's client side."""

from __future__ import annotations

import logging
import os
import shlex
import signal

import anyio
import mcp_types as types
import pytest

from mcp_gateway.upstreams.mcp_spec import McpServerSpec
from tests.e2e.test_mcp_upstream import call, started, stdio_spec, text_of

pytestmark = pytest.mark.anyio


async def test_background_recovery_does_not_close_the_connection_a_call_just_opened() -> None:
    async with started(stdio_spec(), name="child") as upstream:
        first = await call(upstream, "whoami")
        assert first.structured_content is not None
        os.kill(first.structured_content["pid"], signal.SIGKILL)
        lost = await call(upstream, "whoami")
        assert lost.is_error
        assert upstream.health.state == "unhealthy"

        results: list[types.CallToolResult] = []

        async def slow_call() -> None:
            # This call finds the connection dead and reconnects; the answer arrives over the new connection.
            results.append(await call(upstream, "slow", seconds=1.0))

        async with anyio.create_task_group() as group:
            group.start_soon(slow_call)
            await anyio.sleep(0.1)
            # The periodic retry runs while the call reconnects: it saw the server unhealthy before the reconnect
            # finished, and must not open yet another connection once it gets the lock.
            await upstream.recover()
        assert not results[0].is_error, text_of(results[0])
        assert text_of(results[0]) == "slept 1.0s"
        assert upstream.health.state == "healthy"


async def test_garbage_on_a_stdio_upstreams_stdout_is_one_log_line_per_line(caplog: pytest.LogCaptureFixture) -> None:
    spec = stdio_spec()
    # The SDK's server guards its own stdout, so the noise comes from a sibling sharing the child's stdout, as a
    # wrapper script or a chatty library would produce it.
    server = shlex.join([spec.command or "", *spec.args])
    script = f"(sleep 1; echo 'server starting...'; echo '{{\"not\": \"json-rpc\"}}') & exec {server}"
    noisy = McpServerSpec(transport="stdio", command="sh", args=("-c", script), cwd=spec.cwd)
    with caplog.at_level(logging.INFO):
        async with started(noisy, name="noisy") as upstream:
            with anyio.fail_after(20):
                while len([r for r in caplog.records if "not JSON-RPC" in r.getMessage()]) < 2:
                    await anyio.sleep(0.05)
            assert text_of(await call(upstream, "echo", text="still fine")) == "still fine"
    noise = [record for record in caplog.records if "not JSON-RPC" in record.getMessage()]
    assert [record.getMessage() for record in noise] == [
        "server 'noisy': ignored a line on its stdout that is not JSON-RPC (invalid JSON)",
        "server 'noisy': ignored a line on its stdout that is not JSON-RPC (JSON, but not a JSON-RPC message)",
    ]
    assert all(record.exc_info is None for record in caplog.records)
    sdk_errors = [record for record in caplog.records if record.name.startswith("mcp.") and record.levelno >= 40]
    assert sdk_errors == []
