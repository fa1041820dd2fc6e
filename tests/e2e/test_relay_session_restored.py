"""A client's own upstream session outlives the upstream restarting: the gateway opens it again and gives it the
subscriptions and log level the client set, without waiting for the client's next request (a subscriber may only
be waiting for updates). The client's session with the gateway never ended, so it still counts on them.

The upstream is tests/e2e/relay_upstream.py over streamable HTTP, stopped and started again on the same port; in
the handshake era (its subscriptions are session state) and modern-only (they are a `subscriptions/listen` stream).
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import mcp_types as types
import pytest

from tests.e2e.gateway_process import (
    LOOPBACK,
    free_port,
    launch_process,
    port_ready,
    result_text,
    running_gateway,
    stopping,
    write_config,
)
from tests.e2e.test_gateway_relay import Peer

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

URI = "memo://text"


def _updates(peer: Peer) -> int:
    return sum(isinstance(item, types.ResourceUpdatedNotification) for item in peer.notifications)


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["handshake", "modern-only"])
async def test_subscriptions_and_log_level_survive_the_upstream_restarting(
    era: str, tmp_path: Path, e2e_log_dir: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "tests.e2e.relay_upstream", "--transport", "http", "--port", str(port)]
    if era == "modern-only":
        command.append("--modern-only")
    config = write_config(tmp_path, {"relay": {"url": f"http://{LOOPBACK}:{port}/mcp"}})
    subscriber = Peer("subscriber")
    first = launch_process(f"relay-{era}-first-{port}", command, log_dir=e2e_log_dir)
    with stopping(first):
        first.wait_until_ready(port_ready(port))
        with running_gateway(config, e2e_log_dir) as gateway:
            async with subscriber.client(gateway.server_url("relay")) as watching, \
                    gateway.client("relay", mode="legacy") as other:
                await watching.set_logging_level("warning")
                await watching.subscribe_resource(URI)
                await other.call_tool("touch", {"uri": URI})
                with anyio.fail_after(20):
                    while _updates(subscriber) < 1:
                        await anyio.sleep(0.05)

                await anyio.to_thread.run_sync(first.stop)
                second = launch_process(f"relay-{era}-second-{port}", command, log_dir=e2e_log_dir)
                with stopping(second):
                    await anyio.to_thread.run_sync(second.wait_until_ready, port_ready(port))
                    # Only the bystander calls until the update arrives: the subscriber's session is opened again
                    # by the gateway on its own.
                    with anyio.fail_after(60):
                        while _updates(subscriber) < 2:
                            outcome = await other.call_tool("touch", {"uri": URI})
                            if outcome.is_error:  # the gateway has not reconnected yet
                                await anyio.sleep(0.2)
                                continue
                            with anyio.move_on_after(1.0):
                                while _updates(subscriber) < 2:
                                    await anyio.sleep(0.05)
                    if era == "handshake":  # a modern-era upstream keeps no level: each request carries it
                        assert "level warning" in result_text(await watching.call_tool("whoami", {}))
                        await watching.call_tool("log", {"text": "after"})
                        await subscriber.logs_settled(1)
                        assert [log.level for log in subscriber.logs] == ["warning"]
