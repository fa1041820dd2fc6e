"""Per-server limits: config parsing and the bounded call queue."""

from __future__ import annotations

import anyio
import pytest
from pydantic import ValidationError

from mcp_gateway.config import ServerConfig
from mcp_gateway.limits import CallLimiter, ServerBusy, ServerLimits

pytestmark = pytest.mark.anyio


def test_limits_are_read_from_the_server_entry_with_defaults_for_the_rest() -> None:
    config = ServerConfig.model_validate({"url": "http://127.0.0.1:1/mcp", "limits": {"maxConcurrentCalls": 4}})
    assert config.limits.max_concurrent_calls == 4
    assert config.limits.queue_timeout == ServerLimits().queue_timeout
    assert ServerConfig.model_validate({"url": "http://127.0.0.1:1/mcp"}).limits == ServerLimits()


@pytest.mark.parametrize("limits", [{"maxConcurrentCalls": 0}, {"queueTimeout": -1}, {"maxConcurent": 3}])
def test_bad_limits_are_refused(limits: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ServerConfig.model_validate({"url": "http://127.0.0.1:1/mcp", "limits": limits})


async def test_calls_beyond_the_bound_queue_and_run_when_a_slot_frees() -> None:
    limiter = CallLimiter("api", ServerLimits(max_concurrent_calls=2, queue_timeout=5))
    running = 0
    most = 0

    async def call() -> None:
        nonlocal running, most
        async with limiter.slot():
            running += 1
            most = max(most, running)
            await anyio.sleep(0.05)
            running -= 1

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(call)
    assert most == 2
    assert limiter.in_flight == 0


async def test_a_call_that_waits_past_the_queue_timeout_is_told_the_server_is_busy() -> None:
    limiter = CallLimiter("slow", ServerLimits(max_concurrent_calls=1, queue_timeout=0.1))
    release = anyio.Event()

    async def hold() -> None:
        async with limiter.slot():
            await release.wait()

    async with anyio.create_task_group() as group:
        group.start_soon(hold)
        await anyio.sleep(0.02)
        with pytest.raises(ServerBusy, match=r"server 'slow' is busy: 1 calls in flight .* within 0.1s"):
            async with limiter.slot():
                pass
        release.set()
    async with limiter.slot():
        assert limiter.in_flight == 1
