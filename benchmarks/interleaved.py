"""c=1 overhead measured in interleaved rounds: what benchmarks/mcp_overhead.py and openapi_overhead.py share.

Every round calls each target once per client, in an order that rotates every round, so each target's p50 comes
from the same stretch of time on a shared machine. The first target is the reference (the upstream called
directly); the others are gateways in front of it. Clients: a raw modern-era JSON-RPC POST with httpx2 (what the
official client sends, without its own ~2 ms of CPU per call) and the official `mcp.Client`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from mcp import Client

from benchmarks.gateway_calls import item_arguments, percentile, process_cpu_seconds
from benchmarks.peers_report import load_average
from mcp_gateway.http import httpx

TOOL = "getItem"
MODERN = "2026-07-28"
CLIENTS = ("raw", "official")
CALL_TIMEOUT_SECONDS = 30.0
WARM_CALLS = 20

Call = Callable[[int], Awaitable[None]]


@dataclass
class Target:
    name: str
    url: str
    pid: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: {client: [] for client in CLIENTS})
    client_cpu: dict[str, list[float]] = field(default_factory=lambda: {client: [] for client in CLIENTS})
    """This process's CPU seconds per call, by client: what each client itself costs (calls run one at a time)."""
    cpu_ms_per_call: float | None = None

    def p50_ms(self, client: str) -> float:
        return percentile(self.latencies[client], 0.5) * 1000


def raw_body(sequence: int) -> dict[str, object]:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    return {"jsonrpc": "2.0", "id": sequence, "method": "tools/call",
            "params": {"name": TOOL, "arguments": item_arguments(sequence), "_meta": meta}}


RAW_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": TOOL}


async def mcp_calls(stack: AsyncExitStack, http: httpx.AsyncClient, target: Target) -> list[tuple[str, Call]]:
    """The raw and the official client's call of `TOOL` on an MCP endpoint; an error result raises."""
    client = await stack.enter_async_context(Client(target.url, read_timeout_seconds=CALL_TIMEOUT_SECONDS, cache=None))

    async def raw(sequence: int) -> None:
        response = await http.post(target.url, json=raw_body(sequence), headers=RAW_HEADERS)
        if response.status_code != 200 or '"result"' not in response.text or '"isError":true' in response.text:
            raise RuntimeError(f"{target.url}: HTTP {response.status_code}: {response.text[:300]}")

    async def official(sequence: int) -> None:
        if (await client.call_tool(TOOL, item_arguments(sequence))).is_error:
            raise RuntimeError(f"{target.url}: the tool call failed")

    return [("raw", raw), ("official", official)]


async def interleaved_rounds(targets: list[Target], steps: list[tuple[Target, str, Call]], calls: int) -> None:
    """Warm every step, then `calls` rotating rounds; fills each target's latencies and CPU per call."""
    for sequence in range(WARM_CALLS):
        for _, _, call in steps:
            await call(sequence)
    cpu_before = [process_cpu_seconds(target.pid) for target in targets]
    for sequence in range(calls):
        shift = sequence % len(steps)
        for target, client_name, call in steps[shift:] + steps[:shift]:
            cpu_at = time.process_time()
            started_at = time.perf_counter()
            await call(sequence)
            target.latencies[client_name].append(time.perf_counter() - started_at)
            target.client_cpu[client_name].append(time.process_time() - cpu_at)
    for target, before in zip(targets, cpu_before, strict=True):
        after = process_cpu_seconds(target.pid)
        if before is not None and after is not None:
            target.cpu_ms_per_call = (after - before) * 1000 / (calls * len(CLIENTS))


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def arguments(description: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400, help="rounds per repetition (each calls every target "
                        "once per client)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--baseline-repo", type=Path, help="a checkout whose gateway is measured too (e.g. main)")
    return parser.parse_args()


def report(args: argparse.Namespace, run_once: Callable[[argparse.Namespace], list[Target]], pinning: str,
           target_line: str) -> int:
    """Run `run_once` per repetition and print each repetition's p50s, then the medians, what each gateway adds
    over the reference target (the first), CPU per call and the CPU ratio baseline / gateway."""
    print(f"before: {load_average()}", flush=True)
    p50s: dict[tuple[str, str], list[float]] = {}
    adds: dict[tuple[str, str], list[float]] = {}
    cpu: dict[str, list[float]] = {}
    client_cpu: dict[tuple[str, str], list[float]] = {}
    names: list[str] = []
    for repetition in range(args.repetitions):
        targets = run_once(args)
        names = [target.name for target in targets]
        reference = targets[0]
        line = [f"[{repetition + 1}/{args.repetitions}]"]
        for target in targets:
            for client in CLIENTS:
                p50s.setdefault((target.name, client), []).append(target.p50_ms(client))
                if target.client_cpu[client]:
                    client_cpu.setdefault((target.name, client), []).append(
                        statistics.fmean(target.client_cpu[client]) * 1000)
                if target is not reference:
                    adds.setdefault((target.name, client), []).append(
                        target.p50_ms(client) - reference.p50_ms(client))
            if target is not reference and target.cpu_ms_per_call is not None:
                cpu.setdefault(target.name, []).append(target.cpu_ms_per_call)
            line.append(f"{target.name} p50 raw {target.p50_ms('raw'):.2f} official {target.p50_ms('official'):.2f} "
                        f"CPU {fmt(target.cpu_ms_per_call if target is not reference else None)};")
        print(" ".join(line), load_average(), flush=True)

    print(f"\nc=1, {args.calls} interleaved rounds x {args.repetitions} repetitions, medians ({pinning})")
    print(f"{'target':<10} {'raw p50 ms':>10} {'official p50 ms':>15} {'adds raw':>9} {'adds official':>13} "
          f"{'CPU ms/call':>11}")
    for name in names:
        print(f"{name:<10} {fmt(median(p50s[(name, 'raw')])):>10} {fmt(median(p50s[(name, 'official')])):>15} "
              f"{fmt(median(adds.get((name, 'raw'), []))):>9} {fmt(median(adds.get((name, 'official'), []))):>13} "
              f"{fmt(median(cpu.get(name, []))):>11}")
    print("client CPU ms/call (this process; what each client costs itself): " + "; ".join(
        f"{name} raw {fmt(median(client_cpu.get((name, 'raw'), [])))} "
        f"official {fmt(median(client_cpu.get((name, 'official'), [])))}" for name in names))
    gateway_cpu, baseline_cpu = median(cpu.get("gateway", [])), median(cpu.get("baseline", []))
    if gateway_cpu and baseline_cpu:
        print(f"gateway CPU per call: {baseline_cpu / gateway_cpu:.2f}x less than the baseline's")
    print(target_line)
    print(load_average())
    return 0
