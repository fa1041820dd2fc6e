"""What the gateway adds to one OpenAPI tool call at c=1, measured with the calls interleaved.

    .venv/bin/python benchmarks/openapi_overhead.py [--calls 400] [--repetitions 3] [--baseline-repo PATH]

Issue 15's target: an OpenAPI tool call through the gateway (`/mcp/items`) takes ≤ 2 ms p50 more than the same
`GET /items/{id}` sent straight to the API, with the official SDK client. As in benchmarks/mcp_overhead.py, every
round calls each target once per client in a rotating order, so every p50 comes from the same stretch of time on a
shared machine. Targets: the API itself (`direct`, a plain GET with httpx2, the same in both client columns), the
gateway in front of it and, with `--baseline-repo`, another checkout's gateway in front of the same API
(`baseline`). Gateway clients: a raw modern-era JSON-RPC POST with httpx2 and the official `mcp.Client`.

Pinning (Linux): each gateway alone on core 0; the API and this load generator on core 1. Printed per repetition
and as medians: p50s, each gateway's p50 minus the direct GET's, each gateway's CPU per call (user+system from
/proc, both clients' calls counted), each client's own CPU per call in this process (the official client's share
of its figure), the CPU ratio baseline / gateway and the load average.
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

from benchmarks.gateway_calls import item_query  # noqa: E402
from benchmarks.interleaved import (  # noqa: E402
    CALL_TIMEOUT_SECONDS,
    CLIENTS,
    Call,
    Target,
    arguments,
    interleaved_rounds,
    mcp_calls,
    report,
)
from benchmarks.peers import SERVERS_SCRIPT, gateway_args, pin, python_process, started  # noqa: E402
from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import LOOPBACK, free_port, http_ready, write_config  # noqa: E402


async def measure(targets: list[Target], api_url: str, calls: int) -> None:
    """The direct GET (the same in both client columns) and every gateway called by both clients, interleaved."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=CALL_TIMEOUT_SECONDS))
        direct, gateways = targets[0], targets[1:]

        async def get(sequence: int) -> None:
            response = await http.get(f"{api_url}/items/item-{sequence}", params=item_query(sequence))
            if response.status_code != 200:
                raise RuntimeError(f"{api_url}: HTTP {response.status_code}")

        steps: list[tuple[Target, str, Call]] = [(direct, client_name, get) for client_name in CLIENTS]
        for target in gateways:
            steps += [(target, name, call) for name, call in await mcp_calls(stack, http, target)]
        await interleaved_rounds(targets, steps, calls)


def run_once(args: argparse.Namespace) -> list[Target]:
    """Start every process, pin them, measure, stop them."""
    with tempfile.TemporaryDirectory(prefix="openapi-overhead-") as work, ExitStack() as stack:
        log_dir = Path(work)
        ports = {name: free_port() for name in ("api", "gateway", "baseline")}
        api_url = f"http://{LOOPBACK}:{ports['api']}"
        api = python_process("api", [sys.executable, SERVERS_SCRIPT, "api", "--port", str(ports["api"])], log_dir,
                             http_ready(f"{api_url}/openapi.json"))
        stack.enter_context(started([api]))
        spec_path = log_dir / "items.json"
        spec_path.write_text(httpx.get(f"{api_url}/openapi.json").text, encoding="utf-8")
        config = write_config(log_dir, {"items": {"openapi": {"spec": str(spec_path), "baseUrl": api_url}}})
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
        pids = {process.name: process.popen.pid for process, _ in [api, *launched]}
        all_cores = set(range(os.cpu_count() or 1))
        rest = all_cores - {0} or all_cores
        for name, pid in pids.items():
            pin(pid, {0} if name in gateways else rest)
        pin(os.getpid(), rest)
        targets = [Target("direct", api_url, pids["api"])]
        targets += [Target(name, f"http://{LOOPBACK}:{ports[name]}/mcp/items", pids[name]) for name in gateways]
        anyio.run(measure, targets, api_url, args.calls)
        return targets


def main() -> int:
    return report(arguments(__doc__), run_once,
                  "gateways alone on core 0; API and client on core 1; direct = a plain GET in both client columns",
                  "target (issue 15): the gateway adds ≤ 2 ms p50 over the direct GET, with the official client")


if __name__ == "__main__":
    raise SystemExit(main())
