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
/proc, both clients' calls counted), the CPU ratio baseline / gateway and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mcp import Client  # noqa: E402

from benchmarks.gateway_calls import item_arguments, item_query, process_cpu_seconds  # noqa: E402
from benchmarks.mcp_overhead import (  # noqa: E402
    CALL_TIMEOUT_SECONDS,
    CLIENTS,
    RAW_HEADERS,
    TOOL,
    WARM_CALLS,
    Target,
    fmt,
    median,
    raw_body,
)
from benchmarks.peers import SERVERS_SCRIPT, gateway_args, pin, python_process, started  # noqa: E402
from benchmarks.peers_report import load_average  # noqa: E402
from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import LOOPBACK, free_port, http_ready, write_config  # noqa: E402


async def measure(targets: list[Target], api_url: str, calls: int) -> None:
    """`calls` rounds; each round calls every target once per client, in an order that rotates every round."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=CALL_TIMEOUT_SECONDS))
        steps: list[tuple[Target, str, Callable[[int], Awaitable[None]]]] = []
        direct, gateways = targets[0], targets[1:]

        async def get(sequence: int) -> None:
            response = await http.get(f"{api_url}/items/item-{sequence}", params=item_query(sequence))
            if response.status_code != 200:
                raise RuntimeError(f"{api_url}: HTTP {response.status_code}")

        steps += [(direct, client_name, get) for client_name in CLIENTS]
        for target in gateways:
            client = await stack.enter_async_context(
                Client(target.url, read_timeout_seconds=CALL_TIMEOUT_SECONDS, cache=None)
            )

            async def raw(sequence: int, url: str = target.url) -> None:
                response = await http.post(url, json=raw_body(sequence), headers=RAW_HEADERS)
                if response.status_code != 200 or '"result"' not in response.text or '"isError":true' in response.text:
                    raise RuntimeError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")

            async def official(sequence: int, client: Client = client, url: str = target.url) -> None:
                if (await client.call_tool(TOOL, item_arguments(sequence))).is_error:
                    raise RuntimeError(f"{url}: the tool call failed")

            steps += [(target, "raw", raw), (target, "official", official)]
        for sequence in range(WARM_CALLS):
            for _, _, call in steps:
                await call(sequence)
        cpu_before = [process_cpu_seconds(target.pid) for target in targets]
        for sequence in range(calls):
            shift = sequence % len(steps)
            for target, client_name, call in steps[shift:] + steps[:shift]:
                started_at = time.perf_counter()
                await call(sequence)
                target.latencies[client_name].append(time.perf_counter() - started_at)
        for target, before in zip(targets, cpu_before, strict=True):
            after = process_cpu_seconds(target.pid)
            if before is not None and after is not None:
                target.cpu_ms_per_call = (after - before) * 1000 / (calls * len(CLIENTS))


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400, help="rounds per repetition (each calls every target "
                        "once per client)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--baseline-repo", type=Path, help="a checkout whose gateway is measured too (e.g. main)")
    args = parser.parse_args()
    print(f"before: {load_average()}", flush=True)
    p50s: dict[tuple[str, str], list[float]] = {}
    adds: dict[tuple[str, str], list[float]] = {}
    cpu: dict[str, list[float]] = {}
    names: list[str] = []
    for repetition in range(args.repetitions):
        targets = run_once(args)
        names = [target.name for target in targets]
        direct = targets[0]
        line = [f"[{repetition + 1}/{args.repetitions}]"]
        for target in targets:
            for client in CLIENTS:
                p50s.setdefault((target.name, client), []).append(target.p50_ms(client))
                if target is not direct:
                    adds.setdefault((target.name, client), []).append(target.p50_ms(client) - direct.p50_ms(client))
            if target is not direct and target.cpu_ms_per_call is not None:
                cpu.setdefault(target.name, []).append(target.cpu_ms_per_call)
            line.append(f"{target.name} p50 raw {target.p50_ms('raw'):.2f} official {target.p50_ms('official'):.2f} "
                        f"CPU {fmt(target.cpu_ms_per_call if target is not direct else None)};")
        print(" ".join(line), load_average(), flush=True)

    print(f"\nc=1, {args.calls} interleaved rounds x {args.repetitions} repetitions, medians "
          "(gateways alone on core 0; API and client on core 1; direct = a plain GET in both client columns)")
    print(f"{'target':<10} {'raw p50 ms':>10} {'official p50 ms':>15} {'adds raw':>9} {'adds official':>13} "
          f"{'CPU ms/call':>11}")
    for name in names:
        print(f"{name:<10} {fmt(median(p50s[(name, 'raw')])):>10} {fmt(median(p50s[(name, 'official')])):>15} "
              f"{fmt(median(adds.get((name, 'raw'), []))):>9} {fmt(median(adds.get((name, 'official'), []))):>13} "
              f"{fmt(median(cpu.get(name, []))):>11}")
    gateway_cpu, baseline_cpu = median(cpu.get("gateway", [])), median(cpu.get("baseline", []))
    if gateway_cpu and baseline_cpu:
        print(f"gateway CPU per call: {baseline_cpu / gateway_cpu:.2f}x less than the baseline's")
    print("target (issue 15): the gateway adds ≤ 2 ms p50 over the direct GET, with the official client")
    print(load_average())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
