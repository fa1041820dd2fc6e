"""An upstream that is down when the gateway starts joins the registry once it comes up, without a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.gateway_process import (
    LOOPBACK,
    free_port,
    mcp_upstream_command,
    port_ready,
    result_text,
    running_gateway,
    start_process,
    stopping,
    write_config,
)


@pytest.mark.anyio
async def test_an_upstream_started_after_the_gateway_is_picked_up(tmp_path: Path, e2e_log_dir: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, {"late": {"url": f"http://{LOOPBACK}:{port}/mcp"}})
    with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0.3"]) as gateway:
        assert gateway.server_status("late")["health"] == "unhealthy"
        async with gateway.client() as client:
            assert [tool.name for tool in (await client.list_tools()).tools] == []

        upstream = start_process("late-upstream", mcp_upstream_command("http", port=port),
                                 ready=port_ready(port), log_dir=e2e_log_dir)
        with stopping(upstream):
            deadline = time.monotonic() + 20
            while gateway.server_status("late")["health"] != "healthy":
                assert time.monotonic() < deadline, f"never recovered: {gateway.server_status('late')}"
                time.sleep(0.1)
            async with gateway.client() as client:
                names = [tool.name for tool in (await client.list_tools()).tools]
                echoed = await client.call_tool("late-echo", {"text": "back"})
    assert "late-echo" in names
    assert not echoed.is_error and result_text(echoed) == "back"
