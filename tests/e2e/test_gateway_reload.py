"""Hot reload of servers.json while clients keep calling: servers are added, removed and restarted, untouched
servers keep their sessions and never fail a call, and a broken file changes nothing."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.e2e.gateway_process import (
    Gateway,
    McpUpstream,
    result_text,
    running_gateway,
    stdio_server_entry,
    write_config,
)

WAIT_SECONDS = 30.0


def _servers(http_url: str, *, changing: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "steady": {"url": http_url},
        "kept": stdio_server_entry(),
        "changing": stdio_server_entry(env={"MARK": changing}),
        **extra,
    }


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def gateway(mcp_http_upstream: McpUpstream, config_dir: Path, e2e_log_dir: Path) -> Iterator[Gateway]:
    config = write_config(config_dir, _servers(mcp_http_upstream.url, gone=stdio_server_entry()))
    with running_gateway(config, e2e_log_dir, extra_args=["--reload-interval", "0.2"]) as running:
        yield running


def _rewrite(gateway: Gateway, servers: dict[str, Any]) -> None:
    # Write then rename, as editors do, so the watcher never reads half a file.
    staging = gateway.config_path.with_suffix(".tmp")
    staging.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    os.replace(staging, gateway.config_path)


def _wait_for(condition: Callable[[], bool], what: str, gateway: Gateway) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {WAIT_SECONDS:g}s\n--- log ---\n{gateway.process.log_tail()}")


def _names(gateway: Gateway) -> list[str]:
    return [entry["name"] for entry in gateway.get_json("/servers")]


def _healthy(gateway: Gateway, name: str) -> bool:
    return any(entry["name"] == name and entry["health"] == "healthy" for entry in gateway.get_json("/servers"))


@pytest.mark.anyio
async def test_servers_are_added_removed_and_restarted_while_untouched_ones_keep_serving(
    gateway: Gateway, mcp_http_upstream: McpUpstream
) -> None:
    failures: list[str] = []
    calls = 0
    changes: list[types.ServerNotification] = []

    async def record(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changes.append(message)

    async def keep_calling(server: str, stop: anyio.Event) -> None:
        nonlocal calls
        async with gateway.client(mode="legacy") as client:
            while not stop.is_set():
                result = await client.call_tool(f"{server}-echo", {"text": "still here"})
                calls += 1
                if result.is_error or result_text(result) != "still here":
                    failures.append(result_text(result))
                await anyio.sleep(0.01)

    async with gateway.client("kept", mode="legacy") as kept:
        before = json.loads(result_text(await kept.call_tool("whoami", {})))
        stop = anyio.Event()
        # A client connected all along is told about the changes.
        watching = Client(gateway.mcp_url, mode="legacy", message_handler=record)
        async with anyio.create_task_group() as group, watching as watcher:
            await watcher.list_tools()
            group.start_soon(keep_calling, "steady", stop)
            group.start_soon(keep_calling, "kept", stop)

            _rewrite(gateway, _servers(mcp_http_upstream.url, changing="2", fresh=stdio_server_entry()))
            await anyio.to_thread.run_sync(
                _wait_for, lambda: "fresh" in _names(gateway) and "gone" not in _names(gateway), "the reload", gateway
            )
            await anyio.to_thread.run_sync(_wait_for, lambda: _healthy(gateway, "fresh"), "fresh starting", gateway)
            async with gateway.client("fresh", mode="legacy") as fresh:
                added = result_text(await fresh.call_tool("echo", {"text": "new"}))
            changed = result_text(await watcher.call_tool("changing-env_value", {"name": "MARK"}))
            prefixed = {tool.name for tool in (await watcher.list_tools()).tools}
            await anyio.sleep(0.3)
            stop.set()
        after = json.loads(result_text(await kept.call_tool("whoami", {})))
    assert gateway.get("/mcp/gone").status_code == 404
    assert added == "new" and changed == "2"
    assert "fresh-echo" in prefixed and not any(name.startswith("gone-") for name in prefixed)
    assert _names(gateway) == ["steady", "kept", "changing", "fresh"]
    assert failures == [] and calls > 0
    assert after["pid"] == before["pid"]  # the untouched stdio server was not restarted
    assert changes


def test_a_broken_file_is_rejected_and_the_running_configuration_stays(
    gateway: Gateway, mcp_http_upstream: McpUpstream
) -> None:
    running = _names(gateway)
    gateway.config_path.write_text("{ not json", encoding="utf-8")
    _wait_for(lambda: "not valid JSON" in gateway.log(), "the rejection of a broken file", gateway)
    _rewrite(gateway, {**_servers(mcp_http_upstream.url), "bad": {"command": "x", "timeout": -1}})
    _wait_for(lambda: "server 'bad'" in gateway.log(), "the rejection of a bad entry", gateway)
    rejection = next(line for line in gateway.log().splitlines() if "server 'bad'" in line)
    assert "reload rejected" in rejection and str(gateway.config_path) in rejection and "timeout" in rejection
    assert _names(gateway) == running


def test_sighup_rereads_the_file(mcp_http_upstream: McpUpstream, config_dir: Path, e2e_log_dir: Path) -> None:
    config = write_config(config_dir, {"steady": {"url": mcp_http_upstream.url}})
    with running_gateway(config, e2e_log_dir, extra_args=["--reload-interval", "0"]) as running:
        _rewrite(running, {"steady": {"url": mcp_http_upstream.url}, "second": {"url": mcp_http_upstream.url}})
        time.sleep(0.5)
        assert _names(running) == ["steady"]  # not watching: only a signal reloads
        running.process.popen.send_signal(signal.SIGHUP)
        _wait_for(lambda: _names(running) == ["steady", "second"], "the reload on SIGHUP", running)
