"""A server that goes down leaves the lists, and connected clients are told, without anyone calling it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.e2e.gateway_process import result_text, running_gateway, running_mcp_upstreams, write_config


@pytest.mark.anyio
@pytest.mark.timeout(90)
async def test_clients_are_told_when_a_server_goes_down_and_its_tools_leave_the_list(
    tmp_path: Path, e2e_log_dir: Path
) -> None:
    told: dict[str, list[Any]] = {"gateway": [], "server": []}

    def recorder(endpoint: str) -> Any:
        async def record(message: Any) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                told[endpoint].append(message)

        return record

    with running_mcp_upstreams(["http", "sse"], e2e_log_dir) as upstreams:
        doomed, steady = upstreams["http"], upstreams["sse"]
        servers = {"steady": {"url": steady.url, "transport": "sse"}, "doomed": {"url": doomed.url}}
        config = write_config(tmp_path, servers)
        # No recovery loop: once found down, the server stays down while the test looks.
        with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0"]) as gateway:
            everything = Client(gateway.mcp_url, mode="legacy", message_handler=recorder("gateway"))
            own = Client(gateway.server_url("doomed"), mode="legacy", message_handler=recorder("server"))
            async with everything, own:
                before = {tool.name for tool in (await everything.list_tools()).tools}
                doomed.process.stop()
                with anyio.move_on_after(45):
                    while not (told["gateway"] and told["server"]):
                        await anyio.sleep(0.05)
                assert told["gateway"] and told["server"], f"not told\n--- log ---\n{gateway.process.log_tail()}"
                after = {tool.name for tool in (await everything.list_tools()).tools}
                left_on_own = (await own.list_tools()).tools
                still = await everything.call_tool("steady-echo", {"text": "still here"})
                # A client that kept the old list and calls anyway is told why, as a result.
                gone = await everything.call_tool("doomed-echo", {"text": "anyone?"})
            health = {entry["name"]: entry["health"] for entry in gateway.get_json("/servers")}
    assert "doomed-echo" in before and "steady-echo" in before
    assert not any(name.startswith("doomed-") for name in after)
    assert {name for name in before if name.startswith("steady-")} <= after
    assert left_on_own == []
    assert result_text(still) == "still here"
    assert gone.is_error and "server 'doomed'" in result_text(gone), result_text(gone)
    assert health == {"steady": "healthy", "doomed": "unhealthy"}
