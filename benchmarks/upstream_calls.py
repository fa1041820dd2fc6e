"""CPU the gateway spends per upstream call, on httpx2's own pool (the baseline) and on aiohttp's wire (the default).

    .venv/bin/python benchmarks/upstream_calls.py [--calls 2000] [--concurrency 32] [--repetitions 3]

Starts the items API and the bare-SDK MCP server of benchmarks/peers_servers.py as real processes on loopback,
then, in this process (the gateway's side, on uvloop as the gateway runs), drives the gateway's own upstream
objects with `--concurrency` tasks sharing `--calls` calls:
- openapi: `OpenAPIUpstream.call_tool("getItem", ...)`: the request built, sent, read and turned into a result;
- mcp: `McpUpstream.call_tool("getItem", ...)` on a streamable-HTTP upstream (the modern era's lean calls).
Each measures this process's CPU per call (`time.process_time`), alternating the two wires per repetition so load
drifts hit both alike; the table gives the median per wire and the ratio baseline / new (> 1: the new wire costs
less). The upstream processes share the machine: calls/s is printed for context, CPU per call is the figure.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ROOT / "benchmarks" / "peers_servers.py"
WIRES = ("httpcore", "aiohttp")
ARGUMENTS = {"item_id": "42", "limit": 5, "verbose": True, "q": "chairs"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server process exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds:g}s")


@contextmanager
def upstream_servers() -> Iterator[tuple[str, str]]:
    """The items API's base URL and the SDK server's MCP URL, both running until the block ends."""
    api_port, floor_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    processes = [
        subprocess.Popen([sys.executable, str(SERVERS), "api", "--port", str(api_port)]),
        subprocess.Popen([sys.executable, str(SERVERS), "floor", "--port", str(floor_port), "--api", api_url]),
    ]
    try:
        wait_for_port(api_port, processes[0])
        wait_for_port(floor_port, processes[1])
        yield api_url, f"http://127.0.0.1:{floor_port}/mcp"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


async def drive(call: Callable[[], Awaitable[bool]], calls: int, concurrency: int) -> tuple[float, float, int]:
    """CPU ms per call, calls/s, and failed calls, for `calls` calls over `concurrency` tasks."""
    remaining = calls
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            if not await call():
                failures += 1

    for _ in range(min(50, calls)):  # warm: connections opened, validators compiled
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / calls, calls / wall, failures


async def measure_openapi(api_url: str, calls: int, concurrency: int) -> tuple[float, float, int]:
    from mcp_gateway.config import OpenAPISource
    from mcp_gateway.upstreams.openapi import OpenAPIUpstream

    upstream = OpenAPIUpstream("items", OpenAPISource(spec=f"{api_url}/openapi.json", base_url=api_url), ROOT)
    await upstream.start()
    try:
        async def call() -> bool:
            return not (await upstream.call_tool("getItem", dict(ARGUMENTS))).is_error

        return await drive(call, calls, concurrency)
    finally:
        await upstream.aclose()


async def measure_mcp(mcp_url: str, calls: int, concurrency: int) -> tuple[float, float, int]:
    from mcp_gateway.upstreams.mcp import McpUpstream
    from mcp_gateway.upstreams.mcp_spec import McpServerSpec

    upstream = McpUpstream("floor", McpServerSpec(transport="http", url=mcp_url))
    await upstream.start()
    try:
        if upstream.health.state != "healthy":
            raise RuntimeError(f"MCP upstream not healthy: {upstream.health}")

        async def call() -> bool:
            return not (await upstream.call_tool("getItem", dict(ARGUMENTS))).is_error

        return await drive(call, calls, concurrency)
    finally:
        await upstream.aclose()


def run_once(path: str, url: str, wire: str, calls: int, concurrency: int) -> tuple[float, float, int]:
    from mcp_gateway import http

    http.DEFAULT_WIRE = wire  # type: ignore[assignment]
    measure = measure_openapi if path == "openapi" else measure_mcp
    result: tuple[float, float, int] = anyio.run(
        measure, url, calls, concurrency, backend_options={"use_uvloop": True}
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--paths", default="openapi,mcp")
    args = parser.parse_args(argv)
    paths = [path for path in args.paths.split(",") if path]
    results: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    with upstream_servers() as (api_url, mcp_url):
        for repetition in range(args.repetitions):
            for path in paths:
                url = api_url if path == "openapi" else mcp_url
                # Alternate which wire goes first, so a load change between them hits both alike.
                for wire in WIRES if repetition % 2 == 0 else tuple(reversed(WIRES)):
                    sample = run_once(path, url, wire, args.calls, args.concurrency)
                    results.setdefault((path, wire), []).append(sample)
                    print(f"  rep {repetition + 1} {path:7} {wire:8} cpu {sample[0]:.3f} ms/call  "
                          f"{sample[1]:7.0f} calls/s  failures {sample[2]}", flush=True)
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"\n{args.calls} calls, c={args.concurrency}, median of {args.repetitions}")
    print(f"{'path':8} {'httpcore ms/call':>17} {'aiohttp ms/call':>16} {'ratio':>6} "
          f"{'httpcore calls/s':>17} {'aiohttp calls/s':>16}")
    failed = 0
    for path in paths:
        base = results[(path, "httpcore")]
        new = results[(path, "aiohttp")]
        failed += sum(sample[2] for sample in base + new)
        base_cpu = statistics.median(sample[0] for sample in base)
        new_cpu = statistics.median(sample[0] for sample in new)
        print(f"{path:8} {base_cpu:17.3f} {new_cpu:16.3f} {base_cpu / new_cpu:5.2f}x "
              f"{statistics.median(s[1] for s in base):17.0f} {statistics.median(s[1] for s in new):16.0f}")
    if failed:
        print(f"{failed} calls failed")
    return 1 if failed else 0




if __name__ == "__main__":
    sys.exit(main())
