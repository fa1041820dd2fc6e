"""`/mcp/{server}` endpoints follow their servers through reloads without leaking: a removed server's session
manager is stopped and forgotten, so adding and removing servers over and over keeps the gateway's size flat."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio
import pytest

from mcp_gateway.registry import Registry, RegistryServer, ToolFilter
from mcp_gateway.server.mcp import McpEndpoints
from tests.unit.test_registry import InMemoryUpstream

CYCLES = 25


def _server(name: str) -> RegistryServer:
    return RegistryServer(InMemoryUpstream(name, ["echo"]), "test", ToolFilter())


async def _settle(condition: Callable[[], bool], what: str) -> None:
    with anyio.fail_after(10, shield=False):
        while not condition():
            await anyio.sleep(0.01)
    assert condition(), what


@pytest.mark.anyio
async def test_removed_server_endpoints_release_their_session_managers_and_tasks() -> None:
    steady = _server("steady")
    registry = Registry([steady])
    await registry.start()
    endpoints = McpEndpoints(registry, stateless=False, security=None)
    async with endpoints.run():
        assert sorted(endpoints.per_server) == ["steady"]
        baseline_tasks = len(asyncio.all_tasks())
        for cycle in range(CYCLES):
            name = f"extra{cycle}"
            await registry.reconfigure([steady, _server(name)])
            await _settle(lambda name=name: name in endpoints.per_server, f"endpoint {name} opening")
            await registry.reconfigure([steady])
            await _settle(lambda name=name: name not in endpoints.per_server, f"endpoint {name} closing")
        # Closing finishes after the endpoint leaves `per_server`: give its task a moment to end.
        await _settle(lambda: endpoints.session_managers == 2, "removed endpoints' managers released")
        await _settle(lambda: len(asyncio.all_tasks()) <= baseline_tasks, "removed endpoints' tasks ended")
        assert sorted(endpoints.per_server) == ["steady"]
    await registry.aclose()
