"""The gateway beside what a user could pick instead, in one run: tool calls per second, latency and CPU per call.

    .venv/bin/python benchmarks/peers.py [--calls-c1 300] [--wrk-seconds 5] [--repetitions 3] [--workers 2]
                                         [--client-c32] [--baseline-repo PATH] [--only ROW,ROW]
    make bench-peers      (creates benchmarks/peers-env with FastMCP first: make peers-env)

Starts, each as its own process on a free loopback port:

- `api`: the upstream HTTP API (`GET /items/{id}`, benchmarks/peers_servers.py);
- `floor`: the bare-SDK floor, the `mcp` package's low-level server whose one tool sends that GET with httpx2; it
  is also the MCP upstream of `gateway mcp`, so its row is that upstream served alone;
- `gateway`: `mcp-gateway serve` with the API as OpenAPI server `items`, the floor as MCP server `floor` and the
  same floor code over stdio (a child of the gateway) as `floorstdio`; rows `gateway openapi` (/mcp/items),
  `gateway mcp` (/mcp/floor) and `gateway mcp stdio` (/mcp/floorstdio);
- with `--baseline-repo`: the same gateway running another checkout's code (rows `baseline …`);
- with `--workers N`: the gateway again with `serve --workers N` (row `gateway openapi xN`, read against the
  one-worker gateway unpinned, `gateway openapi x1`), and two controls that share nothing between processes: N
  APIs on one port (`direct xN`) and N floors on one port (`floor xN`), both with SO_REUSEPORT. They show what N
  cores of this machine give a server, with the load generator on them too;
- where benchmarks/peers-env holds FastMCP: its OpenAPI server over the API, and its proxy in front of the floor.

Two load generators. The official `mcp.Client` (protocol negotiated as by default) measures c=1 latency:
`--calls-c1` calls, capped at `--max-seconds`; `raw c=1 p50` sends each MCP row the modern-era JSON-RPC POST the
official client sends, with httpx2 and nothing else, so it is the server's latency without the client library's
own (`client CPU`: this process's CPU per call at c=1, about 2 ms). That client cannot load a server at c=32 on
two cores (it is the bottleneck), so c=32 is driven by wrk (benchmarks/peers_wrk.py, benchmarks/peers_tools_call.lua:
32 connections, `--wrk-seconds` each, every answer checked). Without wrk, or with `--client-c32`, the official
client drives c=32 too (32 sessions sharing `--calls` calls). Every measurement runs `--repetitions` times, the
rows in reverse order every other time; the tables show medians; the ratios use wrk's c=32 when it ran.

Pinning (Linux), set before each row; core 1 stands for "every core but 0" on a bigger machine:
- most rows (`direct`, `floor`, `gateway openapi`, `gateway mcp`, `gateway mcp stdio`, `baseline …`, `fastmcp …`):
  the server under test alone on core 0; every other process (the API, the floor when it is an upstream, the
  gateway's stdio child, the load generator) on core 1. So `floor` has core 0 to itself, but behind `gateway mcp`
  the same floor shares core 1 with the API and the load generator: the upstream gets less CPU than alone, and
  that row's ratio against `floor` understates the gateway (kept for comparison with earlier runs);
- `gateway mcp (floor alone)` and `baseline mcp (floor alone)`: the upstream floor alone on core 0, exactly as in
  the `floor` row (the same core: on a shared machine other work may load one core more than the other); the
  gateway, the API and the load generator share core 1. This handicaps the gateway, not the upstream, so its c=32
  ratio against `floor` answers "as many calls/s as the upstream itself can serve" like for like;
- the xN rows are not pinned: using every core is their point.
CPU per call is the server's user+system CPU divided by the calls (with its children for `gateway openapi xN`,
whose children are the workers).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mcp import Client  # noqa: E402

from benchmarks.gateway_calls import item_arguments, item_query, percentile, process_cpu_seconds  # noqa: E402
from benchmarks.peers_report import FLOOR_ALONE, HIGH_CONCURRENCY, Results, Sample, load_average, report  # noqa: E402
from benchmarks.peers_wrk import WRK_MISSING, WrkRun, run_wrk, wrk_path  # noqa: E402
from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import (  # noqa: E402
    LOOPBACK,
    ManagedProcess,
    free_port,
    gateway_command,
    http_ready,
    launch_process,
    port_ready,
    stopping,
    write_config,
)

PEERS_ENV_PYTHON = REPO_ROOT / "benchmarks" / "peers-env" / "bin" / "python"
SERVERS_SCRIPT = str(REPO_ROOT / "benchmarks" / "peers_servers.py")
FASTMCP_SCRIPT = str(REPO_ROOT / "benchmarks" / "peers_fastmcp.py")
CALL_TIMEOUT_SECONDS = 30.0
SERVER_CORE = 0
"""The core the server under test gets to itself; in the `(floor alone)` rows, the upstream."""


@dataclass
class Row:
    label: str
    url: str | None
    """The MCP endpoint; None for the direct GET."""
    tool: str
    pids: tuple[int, ...]
    """The server under test: its CPU is measured, and a pinned row's one process gets core 0."""
    pinned: bool = True
    alone: tuple[int, ...] = ()
    """The row's upstream, given SERVER_CORE to itself (the server under test then shares the others with the rest)."""


def children_of(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii").split()]
    except OSError:
        return []


def server_cpu_by_process(row: Row) -> list[float] | None:
    """CPU of each process of the server under test, Linux /proc; None elsewhere. With their children for unpinned
    rows (the workers of `serve --workers N`), without for the others (a gateway's children are stdio upstreams)."""
    seconds: list[float] = []
    for pid in row.pids:
        own = process_cpu_seconds(pid)
        if own is None:
            return None
        children = [] if row.pinned else children_of(pid)
        seconds += [own, *(process_cpu_seconds(child) or 0.0 for child in children)]
    return seconds


def server_cpu_seconds(row: Row) -> float | None:
    by_process = server_cpu_by_process(row)
    return None if by_process is None else sum(by_process)


def pin(pid: int, cores: set[int]) -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or the process is gone: the row runs unpinned
        os.sched_setaffinity(pid, cores)


def pin_row(row: Row, processes: list[int]) -> None:
    """A pinned row: its server (or its upstream `alone`) on core 0, everything else (children too) on the others.
    An unpinned row: every process and child on every core, including the workers of `serve --workers N` that
    earlier rows pinned as children."""
    all_cores = set(range(os.cpu_count() or 1))
    others = all_cores - {SERVER_CORE} or all_cores
    alone = row.alone or row.pids
    for pid in processes:
        pin(pid, all_cores if not row.pinned else ({SERVER_CORE} if pid in alone else others))
        for child in children_of(pid):  # stdio upstreams of a gateway (never the server), or workers
            pin(child, others if row.pinned else all_cores)
    pin(os.getpid(), others if row.pinned else all_cores)


async def drive(row: Row, concurrency: int, calls: int, max_seconds: float, mode: str) -> Sample:
    """`concurrency` sessions share `calls` calls (none started after `max_seconds`)."""
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    remaining = calls
    deadline = 0.0

    async def worker(call: Callable[[int], Awaitable[str | None]]) -> None:
        nonlocal remaining, errors, first_error
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            started = time.perf_counter()
            try:
                error = await call(remaining)
            except Exception as exception:  # a failed call is a data point, not the end of the run
                error = f"{type(exception).__name__}: {exception}"
            latencies.append(time.perf_counter() - started)
            if error is not None:
                errors += 1
                first_error = first_error or error

    async with AsyncExitStack() as stack:
        callers: list[Callable[[int], Awaitable[str | None]]] = []
        if row.url is None:
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=row.tool, limits=limits))

            async def get(sequence: int) -> str | None:
                response = await http.get(f"/items/item-{sequence}", params=item_query(sequence))
                return None if response.status_code == 200 else f"HTTP {response.status_code}"

            callers = [get] * concurrency
        else:
            for _ in range(concurrency):
                client = await stack.enter_async_context(
                    Client(row.url, read_timeout_seconds=CALL_TIMEOUT_SECONDS, cache=None, mode=mode)  # type: ignore[arg-type]
                )

                async def call(sequence: int, client: Client = client) -> str | None:
                    outcome = await client.call_tool(row.tool, item_arguments(sequence))
                    return f"tool error: {outcome.content[:1]}" if outcome.is_error else None

                callers.append(call)
        await callers[0](calls)  # warm: the first call of a session pays for connections and schema look-ups
        cpu_before = server_cpu_seconds(row) if row.pids else None
        client_before = time.process_time()
        started = time.perf_counter()
        deadline = time.monotonic() + max_seconds
        with anyio.move_on_after(max_seconds + CALL_TIMEOUT_SECONDS):
            async with anyio.create_task_group() as group:
                for caller in callers:
                    group.start_soon(worker, caller)
        seconds = time.perf_counter() - started
        cpu_after = server_cpu_seconds(row) if row.pids else None
        client_cpu = time.process_time() - client_before
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Sample(len(latencies), seconds, latencies, errors, cpu, client_cpu, first_error)


RAW_CALLS = 200


async def raw_p50(row: Row) -> float | None:
    """c=1 p50 of a modern-era tools/call sent as a plain HTTP POST (the JSON the official client sends), so the
    number is the server's latency without the official client's own cost (several ms of CPU per call)."""
    if row.url is None:
        return None
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": row.tool}
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=CALL_TIMEOUT_SECONDS) as http:
        for sequence in range(RAW_CALLS + 1):
            body = {"jsonrpc": "2.0", "id": sequence, "method": "tools/call",
                    "params": {"name": row.tool, "arguments": item_arguments(sequence), "_meta": meta}}
            started = time.perf_counter()
            response = await http.post(row.url, json=body, headers=headers)
            if response.status_code != 200 or '"result"' not in response.text:
                return None  # this server does not take a modern-era request as the official client sends it
            if sequence:  # the first pays for the connection
                latencies.append(time.perf_counter() - started)
    return percentile(latencies, 0.5) * 1000


def python_process(
    name: str, args: list[str], log_dir: Path, ready: Callable[[], bool], env: dict[str, str] | None = None
) -> tuple[ManagedProcess, Callable[[], bool]]:
    return launch_process(name, args, log_dir=log_dir, env=env), ready


@contextmanager
def started(launched: list[tuple[ManagedProcess, Callable[[], bool]]]) -> Iterator[None]:
    """Wait for every launched process (they import in parallel); stop them all however the block ends."""
    with ExitStack() as stack:
        for process, _ in launched:
            stack.enter_context(stopping(process))
        for process, ready in launched:
            process.wait_until_ready(ready, timeout=60.0)
        yield


@contextmanager
def profiling(row: Row, run: str, repetition: int, directory: Path | None) -> Iterator[None]:
    """With a directory: py-spy (collapsed stacks, 200 Hz) records the server during the first repetition's `run`
    (`c1`, `c32`: the official client; `wrk`: wrk's c=32)."""
    if directory is None or len(row.pids) != 1 or repetition > 0:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    label = "".join(char if char.isalnum() else "_" for char in row.label)
    output = directory / f"{label}-{run}.txt"
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))  # on PATH, or in this venv
    command = [py_spy, "record", "--pid", str(row.pids[0]), "--format", "raw", "--rate", "200",
               "--output", str(output)]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # py-spy attaches before the first call
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)


def gateway_args(config: Path, port: int, *extra: str) -> list[str]:
    return gateway_command("serve", "--config", str(config), "--host", LOOPBACK, "--port", str(port), *extra)


def pids_ready(url: str, pids: set[int], count: int) -> Callable[[], bool]:
    """Readiness of `count` processes sharing a port: each probe is a new connection, which the kernel hands to
    one of them; ready once `count` different `x-server-pid`s answered."""

    def probe() -> bool:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            pids.add(int(httpx.get(url, timeout=1.0).headers["x-server-pid"]))
        return len(pids) >= count

    return probe


def shared_port_servers(
    name: str, role: str, port: int, count: int, log_dir: Path, *extra: str
) -> list[tuple[ManagedProcess, Callable[[], bool]]]:
    """`count` peers_servers.py processes on one port (SO_REUSEPORT), ready when every one has answered."""
    seen: set[int] = set()
    ready = pids_ready(f"http://{LOOPBACK}:{port}/", seen, count)
    command = [sys.executable, SERVERS_SCRIPT, role, "--port", str(port), "--reuse-port", *extra]
    return [python_process(f"{name}-{index}", command, log_dir, ready) for index in range(count)]


def launch_rows(args: argparse.Namespace, log_dir: Path, stack: ExitStack) -> tuple[list[Row], list[int]]:
    """Start every server the rows need (stopped when `stack` closes); the rows, and every started pid."""
    ports = {name: free_port() for name in ("api", "floor", "gateway", "baseline", "workers", "fo", "fp", "api-n",
                                             "floor-n")}
    api_url = f"http://{LOOPBACK}:{ports['api']}"
    floor_url = f"http://{LOOPBACK}:{ports['floor']}/mcp"
    quiet = {"MCP_GATEWAY_LOG_LEVEL": "warning"}
    launched = [
        python_process("api", [sys.executable, SERVERS_SCRIPT, "api", "--port", str(ports["api"])], log_dir,
                       http_ready(f"{api_url}/openapi.json")),
        python_process("floor", [sys.executable, SERVERS_SCRIPT, "floor", "--port", str(ports["floor"]),
                                 "--api", api_url], log_dir, port_ready(ports["floor"])),
    ]
    stack.enter_context(started(launched))
    spec_path = log_dir / "items.json"
    spec_path.write_text(httpx.get(f"{api_url}/openapi.json").text, encoding="utf-8")
    config = write_config(log_dir, {"items": {"openapi": {"spec": str(spec_path), "baseUrl": api_url}},
                                    "floor": {"url": floor_url},
                                    "floorstdio": {"command": sys.executable,
                                                   "args": [SERVERS_SCRIPT, "floor-stdio", "--api", api_url]}})
    gateways: list[tuple[str, list[str], dict[str, str]]] = [
        ("gateway", gateway_args(config, ports["gateway"], *args.gateway_arg), quiet)
    ]
    if args.baseline_repo is not None:
        baseline_env = {**quiet, "PYTHONSAFEPATH": "1", "PYTHONPATH": str(args.baseline_repo.resolve())}
        gateways.append(("baseline", gateway_args(config, ports["baseline"]), baseline_env))
    workers = args.workers
    if workers > 1:
        worker_args = gateway_args(config, ports["workers"], "--workers", str(workers), *args.gateway_arg)
        gateways.append(("workers", worker_args, quiet))
    more = [
        python_process(name, command, log_dir, http_ready(f"http://{LOOPBACK}:{ports[name]}/health"), env)
        for name, command, env in gateways
    ]
    if workers > 1:
        more += shared_port_servers("api-n", "api", ports["api-n"], workers, log_dir)
        more += shared_port_servers("floor-n", "floor", ports["floor-n"], workers, log_dir, "--api", api_url)
    wanted = {label.strip() for label in args.only.split(",")} | {"direct", "floor"} if args.only else None
    fastmcp = PEERS_ENV_PYTHON.exists() and (wanted is None or any(label.startswith("fastmcp") for label in wanted))
    if fastmcp:
        more.append(python_process("fastmcp-openapi", [str(PEERS_ENV_PYTHON), FASTMCP_SCRIPT, "openapi", "--port",
                                   str(ports["fo"]), "--api", api_url], log_dir, port_ready(ports["fo"])))
        more.append(python_process("fastmcp-proxy", [str(PEERS_ENV_PYTHON), FASTMCP_SCRIPT, "proxy", "--port",
                                   str(ports["fp"]), "--upstream", floor_url], log_dir, port_ready(ports["fp"])))
    elif not PEERS_ENV_PYTHON.exists():
        print(f"FastMCP rows skipped: {PEERS_ENV_PYTHON} not found (make peers-env)", file=sys.stderr)
    stack.enter_context(started(more))
    pids = {process.name: process.popen.pid for process, _ in [*launched, *more]}

    def mcp_url(name: str, path: str) -> str:
        return f"http://{LOOPBACK}:{ports[name]}{path}"

    rows = [
        Row("direct", None, api_url, (pids["api"],)),
        Row("floor", floor_url, "getItem", (pids["floor"],)),
        Row("gateway openapi", mcp_url("gateway", "/mcp/items"), "getItem", (pids["gateway"],)),
        Row("gateway mcp", mcp_url("gateway", "/mcp/floor"), "getItem", (pids["gateway"],)),
        Row(FLOOR_ALONE, mcp_url("gateway", "/mcp/floor"), "getItem", (pids["gateway"],), alone=(pids["floor"],)),
        Row("gateway mcp stdio", mcp_url("gateway", "/mcp/floorstdio"), "getItem", (pids["gateway"],)),
    ]
    if args.baseline_repo is not None:
        rows += [
            Row("baseline openapi", mcp_url("baseline", "/mcp/items"), "getItem", (pids["baseline"],)),
            Row("baseline mcp", mcp_url("baseline", "/mcp/floor"), "getItem", (pids["baseline"],)),
            Row(f"baseline {FLOOR_ALONE.removeprefix('gateway ')}", mcp_url("baseline", "/mcp/floor"), "getItem",
                (pids["baseline"],), alone=(pids["floor"],)),
            Row("baseline mcp stdio", mcp_url("baseline", "/mcp/floorstdio"), "getItem", (pids["baseline"],)),
        ]
    if workers > 1:
        rows += [
            Row(f"direct x{workers}", None, mcp_url("api-n", ""),
                tuple(pids[f"api-n-{index}"] for index in range(workers)), pinned=False),
            Row(f"floor x{workers}", mcp_url("floor-n", "/mcp"), "getItem",
                tuple(pids[f"floor-n-{index}"] for index in range(workers)), pinned=False),
            # The one-worker gateway unpinned too: on a machine other work also loads, a row pinned to one core
            # competes for that core alone, so the workers' ratio is read against this row.
            Row("gateway openapi x1", mcp_url("gateway", "/mcp/items"), "getItem", (pids["gateway"],), pinned=False),
            Row(f"gateway openapi x{workers}", mcp_url("workers", "/mcp/items"), "getItem", (pids["workers"],),
                pinned=False),
        ]
    if fastmcp:
        rows += [
            Row("fastmcp openapi", mcp_url("fo", "/mcp"), "getItem", (pids["fastmcp-openapi"],)),
            Row("fastmcp proxy", mcp_url("fp", "/mcp"), "getItem", (pids["fastmcp-proxy"],)),
        ]
    if wanted is not None:
        rows = [row for row in rows if row.label in wanted]
    return rows, list(pids.values())


WRK_WARM_SECONDS = 1.0


def measure_wrk(row: Row, wrk: str, seconds: float, warm: bool) -> WrkRun:
    """One wrk run of the row at c=32 (after an untimed second of warm-up when `warm`)."""
    url, tool = (row.tool, "--direct-get") if row.url is None else (row.url, row.tool)
    if warm:
        run_wrk(wrk, url, tool, WRK_WARM_SECONDS, lambda: None)
    return run_wrk(wrk, url, tool, seconds, lambda: server_cpu_by_process(row))


def measure(args: argparse.Namespace, rows: list[Row], pids: list[int], wrk: str | None) -> Results:
    results = Results()
    for repetition in range(args.repetitions):
        # Every other repetition in reverse: on a shared machine load drifts, and a fixed order would hand the
        # same rows the same part of the drift every time.
        for row in rows if repetition % 2 == 0 else reversed(rows):
            pin_row(row, pids)
            steps = [] if not row.pinned else [1]  # c=1 latency of a row spread over every core means little
            steps += [HIGH_CONCURRENCY] if wrk is None or args.client_c32 else []
            for concurrency in steps:
                calls = args.calls_c1 if concurrency == 1 else args.calls
                with profiling(row, f"c{concurrency}", repetition, args.profile):
                    sample = anyio.run(drive, row, concurrency, calls, args.max_seconds, args.mode)
                results.add(row.label, concurrency, sample)
                print(f"[{repetition + 1}/{args.repetitions}] {row.label:<24} client c={concurrency:<2} "
                      f"{sample.calls} calls {sample.calls / sample.seconds:7.0f}/s "
                      f"p50 {percentile(sample.latencies, 0.5) * 1000:6.2f} ms errors {sample.errors}",
                      file=sys.stderr, flush=True)
            raw = anyio.run(raw_p50, row) if row.url is not None and row.pinned else None
            if raw is not None:
                results.raw.setdefault(row.label, []).append(raw)
            if wrk is not None:
                with profiling(row, "wrk", repetition, args.profile):
                    run = measure_wrk(row, wrk, args.wrk_seconds, warm=repetition == 0)
                results.add_wrk(row.label, run)
                print(f"[{repetition + 1}/{args.repetitions}] {row.label:<24} wrk c={HIGH_CONCURRENCY} "
                      f"{run.requests} calls {run.calls_per_second:7.0f}/s p50 {run.p50_ms:6.2f} ms "
                      f"errors {run.errors}", file=sys.stderr, flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1500, help="calls per official-client c=32 measurement")
    parser.add_argument("--calls-c1", type=int, default=300, help="calls per c=1 measurement")
    parser.add_argument("--wrk-seconds", type=float, default=5.0, help="length of each wrk c=32 run")
    parser.add_argument("--client-c32", action="store_true", help="drive c=32 with the official client too")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=8.0, help="cap per official-client measurement")
    parser.add_argument("--baseline-repo", type=Path, help="a checkout whose gateway is measured too (e.g. main)")
    parser.add_argument("--workers", type=int, default=0, help="also measure `serve --workers N` and the xN "
                        "controls (unpinned)")
    parser.add_argument("--mode", default="auto", help="the official client's protocol era: auto (default), "
                        "legacy, 2026-07-28")
    parser.add_argument("--only", help="comma-separated row labels to run (default: all)")
    parser.add_argument("--profile", type=Path, help="py-spy the first repetition's rows into this directory")
    parser.add_argument("--gateway-arg", action="append", default=[], help="extra `serve` argument (repeatable)")
    parser.add_argument("--keep-logs", type=Path, help="copy every process's log into this directory at the end")
    args = parser.parse_args()

    begun = time.monotonic()
    wrk = wrk_path()
    if wrk is None:
        print(WRK_MISSING, file=sys.stderr, flush=True)
    print(f"before: {load_average()}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="peers-") as work, ExitStack() as stack:
        log_dir = Path(work)
        rows, pids = launch_rows(args, log_dir, stack)
        results = measure(args, rows, pids, wrk)
        print(report([row.label for row in rows], results))
        if wrk is None:
            print(WRK_MISSING)
        if args.keep_logs is not None:
            stack.close()  # the processes stop first, so their logs are whole
            shutil.copytree(log_dir, args.keep_logs, dirs_exist_ok=True)
    print(f"\n{len(rows)} rows x {args.repetitions} repetitions in {time.monotonic() - begun:.0f} s; medians; "
          f"{os.cpu_count()} cores; server under test alone on core {SERVER_CORE} except the xN rows (unpinned) and "
          f"the '(floor alone)' rows (the floor alone on core {SERVER_CORE}, the rest on the other cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
