"""/metrics counts each MCP upstream's re-established connections: a stdio server killed under the gateway is
started again on the next call, and the scrape says so for that server only."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest

from tests.e2e.gateway_process import (
    REPO_ROOT,
    McpUpstream,
    mcp_upstream_command,
    result_text,
    running_gateway,
    write_config,
)
from tests.e2e.metrics_scrape import scrape, value

pytestmark = pytest.mark.anyio


def _reconnects(base_url: str, server: str) -> float:
    return value(scrape(base_url), "mcp_gateway_upstream_reconnects_total", server=server)


async def test_a_reestablished_connection_is_counted_for_its_server(
    mcp_http_upstream: McpUpstream, tmp_path: Path, e2e_log_dir: Path
) -> None:
    command, *args = mcp_upstream_command("stdio")
    entry = {"command": command, "args": args, "cwd": str(REPO_ROOT)}
    # A server with a session per caller credential is counted too (its shared and per-caller sessions together).
    per_caller = {"url": mcp_http_upstream.url, "forwardUserAuthorization": True}
    config = write_config(tmp_path, {"child": entry, "steady": entry, "percaller": per_caller})
    with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0"]) as gateway:
        assert _reconnects(gateway.base_url, "child") == 0
        async with gateway.client() as client:
            first = await client.call_tool("child-whoami", {})
            assert first.structured_content is not None, result_text(first)
            os.kill(first.structured_content["pid"], signal.SIGKILL)
            with anyio.fail_after(60):
                while True:
                    # The call that finds the child gone fails; the gateway starts it again at once.
                    again = await client.call_tool("child-whoami", {})
                    if not again.is_error:
                        break
                    await anyio.sleep(0.2)
        assert again.structured_content is not None
        assert again.structured_content["pid"] != first.structured_content["pid"]
        assert _reconnects(gateway.base_url, "child") == 1
        series = scrape(gateway.base_url)
        assert value(series, "mcp_gateway_upstream_reconnects_total", server="steady") == 0
        assert ("mcp_gateway_upstream_reconnects_total", frozenset({("server", "percaller")})) in series
