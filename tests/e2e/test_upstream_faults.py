"""Upstream MCP servers that die, hang or misbehave while calls are in flight: the gateway's client side."""

from __future__ import annotations

import os
import signal

import anyio
import mcp_types as types
import pytest

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
