"""Connected clients are told when what they can see changes: here, a server that comes up after the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest

from tests.e2e.gateway_process import (
    LOOPBACK,
    free_port,
    mcp_upstream_command,
    port_ready,
    running_gateway,
    start_process,
    stopping,
    write_config,
)
from tests.e2e.listening_client import listening_client


@pytest.mark.anyio
async def test_clients_connected_before_a_server_recovers_are_told_its_tools_changed(
    tmp_path: Path, e2e_log_dir: Path
) -> None:
    port = free_port()
    config = write_config(tmp_path, {"late": {"url": f"http://{LOOPBACK}:{port}/mcp"}})
    told: dict[str, list[Any]] = {"gateway": [], "server": []}

    def recorder(endpoint: str) -> Any:
        async def record(message: Any) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                told[endpoint].append(message)

        return record

    with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0.3"]) as gateway:
        async with (
            listening_client(gateway.mcp_url, recorder("gateway")) as everything,
            listening_client(gateway.server_url("late"), recorder("server")),
        ):
            capabilities = everything.server_capabilities
            assert (await everything.list_tools()).tools == []
            # In a thread: the clients' own tasks keep running while the upstream starts.
            upstream = await anyio.to_thread.run_sync(
                lambda: start_process("late-upstream-changed", mcp_upstream_command("http", port=port),
                                      ready=port_ready(port), log_dir=e2e_log_dir)
            )
            with stopping(upstream), anyio.fail_after(20):
                while not (told["gateway"] and told["server"]):
                    await anyio.sleep(0.05)
                names = [tool.name for tool in (await everything.list_tools()).tools]
    assert capabilities.tools is not None and capabilities.tools.list_changed
    assert "late-echo" in names
