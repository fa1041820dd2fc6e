"""The cost of the relay's session model: plain tool calls through an MCP upstream, and clients that get a session
of their own.

    .venv/bin/python benchmarks/mcp_relay_calls.py [--baseline-repo ../../main] [--calls 1000] [--concurrency 1,8]
                                                   [--repetitions 3] [--clients 20]
                                                   [--upstream URL --tool NAME --arguments JSON]

Starts the test MCP server (tests/e2e/mcp_upstream.py, streamable HTTP; or uses --upstream, e.g. the conformance
reference server, a handshake-era-only TypeScript server: --tool test_simple_text --arguments '{}') and
`mcp-gateway serve` with it as server `up`; with --baseline-repo, also a second gateway running that checkout's
code (the same interpreter, its package first on the path), which is "today" for the comparison. Then, per
concurrency level C (C sessions sharing `--calls` calls of the tool), the median calls/s and gateway CPU per call
over `--repetitions` runs of:

- direct: official clients straight to the upstream;
- baseline: plain clients through the baseline gateway's /mcp/up;
- shared: plain clients (no client capabilities) through this gateway's /mcp/up: the shared upstream session;
- own: clients declaring sampling through this gateway's /mcp/up: each gets an upstream session of its own.

Then the latency of one plain call (p50 and p90 of `--calls` sequential calls on one session): direct, shared,
own. Last, the cost per connected client: opening `--clients` sessions one after the other and making one call
each, in ms per client, and the gateway's resident memory per client while `--clients` stay connected, plain vs
declaring sampling (which opens an upstream session per client).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.session import ClientRequestContext  # noqa: E402

from tests.e2e.gateway_process import (  # noqa: E402
    LOOPBACK,
    free_port,
    gateway_command,
    http_ready,
    launch_process,
    running_gateway,
    running_mcp_upstreams,
    stopping,
    write_config,
)


async def _sampling(context: ClientRequestContext, params: types.CreateMessageRequestParams) -> Any:
    return types.CreateMessageResult(role="assistant", content=types.TextContent(text="x"), model="none")


def _client(url: str, *, own_session: bool) -> Client:
    options: dict[str, Any] = {"sampling_callback": _sampling} if own_session else {}
    return Client(url, mode="legacy", cache=None, **options)


TOOL: dict[str, Any] = {"name": "echo", "arguments": {"text": "hello"}}
"""The tool every run calls (--tool and --arguments change it)."""


async def calls_per_second(url: str, calls: int, concurrency: int, own_session: bool) -> float:
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(_client(url, own_session=own_session)) for _ in range(concurrency)]
        for client in clients:
            await client.call_tool(TOOL["name"], TOOL["arguments"])
        remaining = calls

        async def worker(client: Client) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                result = await client.call_tool(TOOL["name"], TOOL["arguments"])
                assert not result.is_error, result

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for client in clients:
                group.start_soon(worker, client)
        return calls / (time.perf_counter() - started)


async def ms_per_client(url: str, clients: int, own_session: bool) -> float:
    started = time.perf_counter()
    for _ in range(clients):
        async with _client(url, own_session=own_session) as client:
            await client.call_tool(TOOL["name"], TOOL["arguments"])
    return (time.perf_counter() - started) * 1000 / clients


async def call_latencies_ms(url: str, calls: int, own_session: bool) -> list[float]:
    async with _client(url, own_session=own_session) as client:
        await client.call_tool(TOOL["name"], TOOL["arguments"])
        latencies = []
        for _ in range(calls):
            started = time.perf_counter()
            await client.call_tool(TOOL["name"], TOOL["arguments"])
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def kib_per_held_client(url: str, clients: int, own_session: bool, pid: int) -> float:
    """The gateway's resident memory growth per client while `clients` stay connected (each made one call)."""
    before = rss_kib(pid)
    async with AsyncExitStack() as stack:
        for _ in range(clients):
            client = await stack.enter_async_context(_client(url, own_session=own_session))
            await client.call_tool(TOOL["name"], TOOL["arguments"])
        await anyio.sleep(0.5)
        held = rss_kib(pid)
    return (held - before) / clients


def rss_kib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    return 0.0


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) a process has used so far; 0 where /proc is not there."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Target:
    url: str
    own_session: bool
    gateway_pid: int | None
    """The gateway process serving this target, whose CPU per call is measured (None: direct)."""


@contextmanager
def baseline_gateway(repo: Path, config: Path, log_dir: Path) -> Iterator[tuple[str, int]]:
    """A gateway running `repo`'s code; yields its base URL and process id."""
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    args = gateway_command("serve", "--config", str(config), "--host", LOOPBACK, "--port", str(port))
    # PYTHONSAFEPATH keeps the current directory (this checkout) off the path, so PYTHONPATH's checkout wins.
    env = {"PYTHONSAFEPATH": "1", "PYTHONPATH": str(repo.resolve()), "MCP_GATEWAY_LOG_LEVEL": "warning"}
    process = launch_process(f"baseline-gateway-{port}", args, log_dir=log_dir, env=env)
    with stopping(process):
        process.wait_until_ready(http_ready(f"{base_url}/health"))
        yield base_url, process.popen.pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-repo", type=Path, help="a checkout whose gateway is the baseline (e.g. main)")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--upstream", help="an MCP server URL already running (default: start tests/e2e/mcp_upstream)")
    parser.add_argument("--tool", default="echo")
    parser.add_argument("--arguments", type=json.loads, default={"text": "hello"}, help="JSON object")
    args = parser.parse_args()
    TOOL.update(name=args.tool, arguments=args.arguments)
    levels = [int(level) for level in args.concurrency.split(",")]
    os.environ.setdefault("MCP_GATEWAY_LOG_LEVEL", "warning")
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as scratch, ExitStack() as stack:
        work = Path(scratch)
        upstream_url = args.upstream or stack.enter_context(running_mcp_upstreams(("http",), work))["http"].url
        config = write_config(work, {"up": {"url": upstream_url}})
        gateway = stack.enter_context(running_gateway(config, work))
        ours = gateway.process.popen.pid
        targets = {"direct": Target(upstream_url, False, None)}
        if args.baseline_repo is not None:
            baseline_url, baseline_pid = stack.enter_context(baseline_gateway(args.baseline_repo, config, work))
            targets["baseline"] = Target(f"{baseline_url}/mcp/up", False, baseline_pid)
        targets["shared"] = Target(gateway.server_url("up"), False, ours)
        targets["own"] = Target(gateway.server_url("up"), True, ours)
        print(f"calls/s and gateway CPU per call (medians of {args.repetitions}; {args.calls} calls of {args.tool})")
        print("C".rjust(4) + "".join(f"{label:>18}" for label in targets) + "   shared/base   own/shared (calls/s)")
        for level in levels:
            rates: dict[str, list[float]] = {label: [] for label in targets}
            cpu: dict[str, list[float]] = {label: [] for label in targets}
            # Interleaved, so that load from elsewhere on the machine falls on every target alike.
            for _ in range(args.repetitions):
                for label, target in targets.items():
                    before = cpu_seconds(target.gateway_pid)
                    rates[label].append(anyio.run(calls_per_second, target.url, args.calls, level, target.own_session))
                    cpu[label].append((cpu_seconds(target.gateway_pid) - before) * 1000 / args.calls)
            rate = {label: statistics.median(values) for label, values in rates.items()}
            cells = "".join(
                f"{rate[label]:9.0f} {statistics.median(cpu[label]):5.2f}ms" if targets[label].gateway_pid
                else f"{rate[label]:9.0f}    -   " for label in targets
            )
            base = f"{rate['shared'] / rate['baseline']:14.2f}" if "baseline" in rate else "-".rjust(14)
            print(f"{level:4d}{cells}{base}{rate['own'] / rate['shared']:13.2f}")
        print(f"latency of one call, ms (p50 / p90 of {args.calls} sequential calls on one session, medians of "
              f"{args.repetitions} runs):")
        for label in ("direct", "shared", "own"):
            target = targets[label]
            p50s, p90s = [], []
            for _ in range(args.repetitions):
                latencies = sorted(anyio.run(call_latencies_ms, target.url, args.calls, target.own_session))
                p50s.append(statistics.median(latencies))
                p90s.append(latencies[int(len(latencies) * 0.9)])
            print(f"  {label:>7}: {statistics.median(p50s):.2f} / {statistics.median(p90s):.2f}")
        for own_session in (False, True):
            kib = statistics.median(
                anyio.run(kib_per_held_client, gateway.server_url("up"), args.clients, own_session, ours)
                for _ in range(args.repetitions)
            )
            kind = "with its own upstream session" if own_session else "plain"
            print(f"gateway memory per connected client ({kind}, {args.clients} held): {kib:.0f} KiB")
        plain = statistics.median(
            anyio.run(ms_per_client, gateway.server_url("up"), args.clients, False) for _ in range(args.repetitions)
        )
        own = statistics.median(
            anyio.run(ms_per_client, gateway.server_url("up"), args.clients, True) for _ in range(args.repetitions)
        )
        print(f"ms per connected client (open + first call, median of {args.repetitions} x {args.clients} clients): "
              f"plain {plain:.1f}, with its own upstream session {own:.1f} (+{own - plain:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
