"""What the gateway adds to one MCP-upstream tool call at c=1, measured with the calls interleaved.

    .venv/bin/python benchmarks/mcp_overhead.py [--calls 400] [--repetitions 3] [--baseline-repo PATH]

Issue 15's target: the gateway (`/mcp/{server}`) adds < 2 ms p50 over calling the same upstream directly. On a
shared machine, load drifts by more than that between two rows measured one after the other (benchmarks/peers.py),
so here every round sends one call to each target in turn, and each target's p50 comes from the same stretch of
time. Targets: the bare-SDK floor itself (`floor`, benchmarks/peers_servers.py, the upstream), the gateway in
front of it (`gateway`, /mcp/floor) and, with `--baseline-repo`, another checkout's gateway in front of the same
floor (`baseline`). Two clients call each of them: a raw modern-era JSON-RPC POST with httpx2 (what the official
client sends, without its own ~2 ms of CPU per call) and the official `mcp.Client` (protocol negotiated).

Pinning (Linux): each gateway alone on core 0; the floor, the items API behind it and this load generator on
core 1, as in peers.py's `gateway mcp` row. Printed per repetition and as medians: each target's p50 per client,
the gateway's p50 minus the floor's, and each gateway's CPU per call (user+system from /proc, both clients' calls
counted); then the CPU ratio baseline / gateway and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.interleaved import (  # noqa: E402
    CALL_TIMEOUT_SECONDS,
    Call,
    Target,
    arguments,
    interleaved_rounds,
    mcp_calls,
    report,
)
from benchmarks.peers import SERVERS_SCRIPT, gateway_args, pin, python_process, started  # noqa: E402
from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import LOOPBACK, free_port, http_ready, port_ready, write_config  # noqa: E402


async def measure(targets: list[Target], calls: int) -> None:
    """Every target (the floor and the gateways in front of it) called by both clients, in interleaved rounds."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=CALL_TIMEOUT_SECONDS))
        steps: list[tuple[Target, str, Call]] = []
        for target in targets:
            steps += [(target, name, call) for name, call in await mcp_calls(stack, http, target)]
        await interleaved_rounds(targets, steps, calls)


def run_once(args: argparse.Namespace) -> list[Target]:
    """Start every process, pin them, measure, stop them."""
    with tempfile.TemporaryDirectory(prefix="mcp-overhead-") as work, ExitStack() as stack:
        log_dir = Path(work)
        ports = {name: free_port() for name in ("api", "floor", "gateway", "baseline")}
        api_url = f"http://{LOOPBACK}:{ports['api']}"
        floor_url = f"http://{LOOPBACK}:{ports['floor']}/mcp"
        upstreams = [
            python_process("api", [sys.executable, SERVERS_SCRIPT, "api", "--port", str(ports["api"])], log_dir,
                           http_ready(f"{api_url}/openapi.json")),
            python_process("floor", [sys.executable, SERVERS_SCRIPT, "floor", "--port", str(ports["floor"]),
                                     "--api", api_url], log_dir, port_ready(ports["floor"])),
        ]
        stack.enter_context(started(upstreams))
        config = write_config(log_dir, {"floor": {"url": floor_url}})
        quiet = {"MCP_GATEWAY_LOG_LEVEL": "warning"}
        gateways = {"gateway": quiet}
        if args.baseline_repo is not None:
            gateways["baseline"] = {**quiet, "PYTHONSAFEPATH": "1", "PYTHONPATH": str(args.baseline_repo.resolve())}
        launched = [
            python_process(name, gateway_args(config, ports[name]), log_dir,
                           http_ready(f"http://{LOOPBACK}:{ports[name]}/ready"), env)
            for name, env in gateways.items()
        ]
        stack.enter_context(started(launched))
        pids = {process.name: process.popen.pid for process, _ in [*upstreams, *launched]}
        all_cores = set(range(os.cpu_count() or 1))
        rest = all_cores - {0} or all_cores
        for name, pid in pids.items():
            pin(pid, {0} if name in gateways else rest)
        pin(os.getpid(), rest)
        targets = [Target("floor", floor_url, pids["floor"])]
        targets += [Target(name, f"http://{LOOPBACK}:{ports[name]}/mcp/floor", pids[name]) for name in gateways]
        anyio.run(measure, targets, args.calls)
        return targets


def main() -> int:
    return report(arguments(__doc__), run_once, "gateways alone on core 0; floor, API and client on core 1",
                  "target (issue 15): the gateway adds < 2 ms p50 over calling the floor directly")


if __name__ == "__main__":
    raise SystemExit(main())
