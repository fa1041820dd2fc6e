"""Modern-era tool calls answered before the SDK's transport (server/tool_call_wire.py) next to the same calls
answered by the SDK, in one gateway process: the gateway's CPU per call, calls/s and p50.

    .venv/bin/python benchmarks/tool_call_wire.py [--calls 1500] [--concurrency 1,32] [--repetitions 3]

Starts the items API and the bare-SDK floor server (benchmarks/peers_servers.py) and `mcp-gateway serve` with the
API as OpenAPI server `items` and the floor as MCP server `floor`.
Each measurement sends `--calls` raw modern-era `tools/call` POSTs of `getItem` (the JSON the official client
sends, with httpx2 and nothing else, so the client's own cost stays small) from C concurrent tasks, to
`/mcp/items` (plain JSON answers), `/mcp` (`items-getItem`, event-stream mode) and `/mcp/floor` (relayed to the
MCP upstream, event-stream mode). `lean` is that request;
`sdk` is the same request with its body padded by spaces past what the wire reads (server/wire_gates.py), which
the gateway hands to the SDK's transport unchanged: same process, same upstream, same answer. Lean and SDK run in
turns, `--repetitions` times; the table shows medians and the SDK/lean ratio of CPU per call. The load average is
printed with the numbers (the machine is shared). Gateway pinned to core 0, everything else to the other cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.gateway_calls import item_arguments, percentile, process_cpu_seconds  # noqa: E402
from benchmarks.peers import SERVERS_SCRIPT, gateway_args, python_process, started  # noqa: E402
from mcp_gateway.http import httpx  # noqa: E402
from mcp_gateway.server.wire_gates import MAX_BODY_BYTES  # noqa: E402
from tests.e2e.gateway_process import LOOPBACK, free_port, http_ready, port_ready, write_config  # noqa: E402

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"}}
GATEWAY_CORE = 0


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    tool: str


TARGETS = [Target("openapi /mcp/items", "/mcp/items", "getItem"), Target("openapi /mcp", "/mcp", "items-getItem"),
           Target("mcp /mcp/floor", "/mcp/floor", "getItem")]


@dataclass(frozen=True)
class Sample:
    calls: int
    seconds: float
    p50_ms: float
    cpu_ms_per_call: float | None
    errors: int


async def measure(url: str, tool: str, *, padded: bool, concurrency: int, calls: int, gateway_pid: int) -> Sample:
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": tool}
    padding = b" " * (MAX_BODY_BYTES + 1) if padded else b""
    latencies: list[float] = []
    errors = 0
    remaining = calls

    def body(sequence: int) -> bytes:
        call = {"jsonrpc": "2.0", "id": sequence, "method": "tools/call",
                "params": {"name": tool, "arguments": item_arguments(sequence), "_meta": META}}
        return httpx.Request("POST", url, json=call).content + padding

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:

        async def one(sequence: int) -> None:
            nonlocal errors
            started_at = time.perf_counter()
            response = await http.post(url, content=body(sequence), headers=headers)
            latencies.append(time.perf_counter() - started_at)
            if response.status_code != 200 or '"result"' not in response.text or '"isError":true' in response.text:
                errors += 1

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one(remaining)

        for sequence in range(concurrency):  # warm: connections opened, first-call costs paid
            await one(sequence)
        latencies.clear()
        errors = 0
        cpu_before = process_cpu_seconds(gateway_pid)
        began = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
        seconds = time.perf_counter() - began
        cpu_after = process_cpu_seconds(gateway_pid)
    cpu = (cpu_after - cpu_before) * 1000 / len(latencies) if cpu_before is not None and cpu_after is not None \
        else None
    return Sample(len(latencies), seconds, percentile(latencies, 0.5) * 1000, cpu, errors)


def pin(pid: int, cores: set[int]) -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux: unpinned
        os.sched_setaffinity(pid, cores)


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "-"


def median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


async def run(args: argparse.Namespace, base_url: str, gateway_pid: int) -> None:
    print(f"load average before: {load_average()}  (cores: {os.cpu_count()})")
    print("| target | c | path | calls/s | p50 ms | gateway CPU ms/call | errors |")
    print("|---|---|---|---|---|---|---|")
    ratios: list[str] = []
    for target in TARGETS:
        for concurrency in args.concurrency:
            samples: dict[str, list[Sample]] = {"lean": [], "sdk": []}
            for _ in range(args.repetitions):
                for path in ("lean", "sdk"):
                    samples[path].append(await measure(
                        base_url + target.path, target.tool, padded=path == "sdk", concurrency=concurrency,
                        calls=args.calls if concurrency > 1 else args.calls_c1, gateway_pid=gateway_pid))
            cpu: dict[str, float | None] = {}
            for path, taken in samples.items():
                rate = median([sample.calls / sample.seconds for sample in taken])
                p50 = median([sample.p50_ms for sample in taken])
                cpu[path] = median([sample.cpu_ms_per_call for sample in taken])
                errors = sum(sample.errors for sample in taken)
                print(f"| {target.label} | {concurrency} | {path} | {fmt(rate, 0)} | {fmt(p50)} | {fmt(cpu[path])} "
                      f"| {errors} |")
            lean, sdk = cpu["lean"], cpu["sdk"]
            if lean and sdk:
                ratios.append(f"{target.label} c={concurrency}: SDK/lean CPU per call {sdk / lean:.2f}x")
    print(f"load average after: {load_average()}")
    for line in ratios:
        print(line)


def positive_ints(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError("expected positive integers, comma-separated")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1500, help="calls per measurement at c>1")
    parser.add_argument("--calls-c1", type=int, default=300, help="calls per measurement at c=1")
    parser.add_argument("--concurrency", type=positive_ints, default=[1, 32])
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tool-call-wire-") as work:
        log_dir = Path(work)
        api_port, floor_port, gateway_port = free_port(), free_port(), free_port()
        api_url = f"http://{LOOPBACK}:{api_port}"
        floor_url = f"http://{LOOPBACK}:{floor_port}/mcp"
        api = python_process("api", [sys.executable, SERVERS_SCRIPT, "api", "--port", str(api_port)], log_dir,
                             http_ready(f"{api_url}/openapi.json"))
        floor = python_process("floor", [sys.executable, SERVERS_SCRIPT, "floor", "--port", str(floor_port), "--api",
                                         api_url], log_dir, port_ready(floor_port))
        with started([api, floor]):
            spec_path = log_dir / "items.json"
            spec_path.write_text(httpx.get(f"{api_url}/openapi.json").text, encoding="utf-8")
            config = write_config(log_dir, {"items": {"openapi": {"spec": str(spec_path), "baseUrl": api_url}},
                                            "floor": {"url": floor_url}})
            gateway = python_process("gateway", gateway_args(config, gateway_port), log_dir,
                                     http_ready(f"http://{LOOPBACK}:{gateway_port}/health"),
                                     {"MCP_GATEWAY_LOG_LEVEL": "warning"})
            with started([gateway]):
                all_cores = set(range(os.cpu_count() or 1))
                others = all_cores - {GATEWAY_CORE} or all_cores
                gateway_pid = gateway[0].popen.pid
                pin(gateway_pid, {GATEWAY_CORE})
                pin(api[0].popen.pid, others)
                pin(floor[0].popen.pid, others)
                pin(os.getpid(), others)
                anyio.run(run, args, f"http://{LOOPBACK}:{gateway_port}", gateway_pid)


if __name__ == "__main__":
    main()
