"""Tool calls per second and their latency through a real gateway, next to calling the upstream API directly.

    .venv/bin/python benchmarks/gateway_calls.py [--calls 2000] [--concurrency 1,8,32]
                                                 [--era legacy|modern] [--stateless] [--max-seconds 60]
                                                 [--with-keys]

Starts the echo API (tests/e2e/upstream_api.py) and `python -m mcp_gateway serve` as real processes on free
loopback ports, with a temporary servers.json that registers the echo API's spec and the GitHub spec
(specs/github-api.json, never called: it makes the registry realistically large). Then, per concurrency level C:

- gateway: C official `mcp.Client` sessions on /mcp share a budget of `--calls` calls of `echo-getItem`
  (one path and three query arguments, so every call becomes a real HTTP request to the echo API);
- direct: C tasks share one httpx client and send the same requests straight to the echo API: the baseline
  that makes the gateway's overhead visible.

A level stops handing out calls after `--max-seconds`. Sessions are opened before the clock starts (their
opening time is its own column). CPU columns are milliseconds of CPU per call spent by the gateway process,
the echo API process and this load generator (Linux /proc; "-" elsewhere). Last, it times tools/list of the
whole registry (1,238 tools, paginated).

`--with-keys` configures 100 gateway keys and sends one of them, restricted by globs to the echo server and
GitHub's `repos*` tools, so every request pays for authentication and every listing for the visibility filter.

The load generator is one Python process sharing the machine's cores with the gateway and the echo API, so on
a small machine the numbers are a lower bound for the gateway; the CPU columns show who used the cores.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import (  # noqa: E402
    SPECS_DIR,
    UPSTREAM_API_SPEC,
    running_gateway,
    running_upstream_api,
    write_config,
)

Era = Literal["legacy", "modern"]
CLIENT_MODES: dict[Era, str] = {"legacy": "legacy", "modern": "2026-07-28"}

ECHO_SERVER = "echo"
ECHO_TOOL = f"{ECHO_SERVER}-getItem"
UNREACHABLE_BASE_URL = "http://127.0.0.1:9"
"""The GitHub server is only listed, never called; should a call slip through, it must not leave the machine."""

CALL_TIMEOUT_SECONDS = 30.0
LISTING_REPEATS = 5

Call = Callable[[int, int], Awaitable[str | None]]
"""`call(worker, sequence)` makes one call and returns an error description, or None on success."""


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process (Linux /proc); None elsewhere or once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # The command name in parentheses may contain spaces; utime and stime are the 12th and 13th fields after it.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    gateway: float | None
    api: float | None
    client: float


@dataclass(frozen=True)
class CpuClocks:
    """Reads the CPU time used so far by the gateway, the echo API and this process."""

    gateway_pid: int
    api_pid: int

    def snapshot(self) -> CpuSnapshot:
        return CpuSnapshot(
            process_cpu_seconds(self.gateway_pid), process_cpu_seconds(self.api_pid), time.process_time()
        )


@dataclass
class CallBudget:
    """Calls still to hand out to the workers of one level; none after the deadline."""

    remaining: int
    deadline: float

    def take(self) -> int | None:
        """The next call's sequence number, or None when the level is over."""
        if self.remaining <= 0 or time.monotonic() >= self.deadline:
            return None
        self.remaining -= 1
        return self.remaining


@dataclass(frozen=True)
class LevelPlan:
    concurrency: int
    calls: int
    max_seconds: float


@dataclass
class LevelResult:
    target: str
    plan: LevelPlan
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    open_seconds: float | None = None
    cpu_before: CpuSnapshot | None = None
    cpu_after: CpuSnapshot | None = None

    def record(self, latency: float, error: str | None) -> None:
        self.latencies.append(latency)
        if error is not None:
            self.errors += 1
            self.first_error = self.first_error or error


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (which need not be sorted); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def item_arguments(sequence: int) -> dict[str, Any]:
    """Arguments of one call; they vary so that no layer can answer from a cache."""
    return {"item_id": f"item-{sequence}", "limit": sequence % 50, "verbose": True, "q": "bench mark"}


def item_query(sequence: int) -> dict[str, str]:
    """`item_arguments` as the gateway puts them in the query string."""
    arguments = item_arguments(sequence)
    return {"limit": str(arguments["limit"]), "verbose": "true", "q": arguments["q"]}


async def run_workers(result: LevelResult, call: Call, clocks: CpuClocks) -> None:
    """`plan.concurrency` workers share `plan.calls` calls; every call's latency and error go into `result`."""
    plan = result.plan
    budget = CallBudget(remaining=plan.calls, deadline=time.monotonic() + plan.max_seconds)

    async def worker(index: int) -> None:
        while (sequence := budget.take()) is not None:
            started = time.perf_counter()
            try:
                error = await call(index, sequence)
            except Exception as exception:  # a failed call is a data point, not the end of the benchmark
                error = f"{type(exception).__name__}: {exception}"
            result.record(time.perf_counter() - started, error)

    result.cpu_before = clocks.snapshot()
    started = time.perf_counter()
    # In-flight calls are bounded by their own timeout; this only guards against a call that never returns.
    with anyio.move_on_after(plan.max_seconds + CALL_TIMEOUT_SECONDS * 2):
        async with anyio.create_task_group() as workers:
            for index in range(plan.concurrency):
                workers.start_soon(worker, index)
    result.seconds = time.perf_counter() - started
    result.cpu_after = clocks.snapshot()


BENCH_KEY = "mgw_benchmark-key-000000000000000000"
OTHER_KEYS = 99


@asynccontextmanager
async def gateway_client(mcp_url: str, era: Era, with_key: bool) -> AsyncIterator[Client]:
    options: dict[str, Any] = {"mode": CLIENT_MODES[era], "read_timeout_seconds": CALL_TIMEOUT_SECONDS, "cache": None}
    if not with_key:
        async with Client(mcp_url, **options) as client:
            yield client
        return
    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {BENCH_KEY}"}, timeout=CALL_TIMEOUT_SECONDS) as http,
        Client(streamable_http_client(mcp_url, http_client=http), **options) as client,
    ):
        yield client


async def gateway_level(mcp_url: str, era: Era, plan: LevelPlan, clocks: CpuClocks, with_key: bool) -> LevelResult:
    result = LevelResult("gateway", plan)
    async with AsyncExitStack() as sessions:
        opening = time.perf_counter()
        # No cancel scope around the opening: each client's task group must outlive it. The read timeout bounds
        # the handshake instead.
        clients = [
            await sessions.enter_async_context(gateway_client(mcp_url, era, with_key))
            for _ in range(plan.concurrency)
        ]
        result.open_seconds = time.perf_counter() - opening

        async def call(worker: int, sequence: int) -> str | None:
            outcome = await clients[worker].call_tool(ECHO_TOOL, item_arguments(sequence))
            return f"tool error: {outcome.content[:1]}" if outcome.is_error else None

        await run_workers(result, call, clocks)
    return result


async def direct_level(api_url: str, plan: LevelPlan, clocks: CpuClocks) -> LevelResult:
    result = LevelResult("direct", plan)
    limits = httpx.Limits(max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency)
    async with httpx.AsyncClient(base_url=api_url, timeout=CALL_TIMEOUT_SECONDS, limits=limits) as client:

        async def call(worker: int, sequence: int) -> str | None:
            response = await client.get(f"/items/item-{sequence}", params=item_query(sequence))
            return None if response.status_code == 200 else f"HTTP {response.status_code}"

        await run_workers(result, call, clocks)
    return result


@dataclass
class ListingResult:
    tools: int
    pages: int
    listing_seconds: list[float]
    page_seconds: list[float]


async def measure_listing(mcp_url: str, era: Era, repeats: int, with_key: bool) -> ListingResult:
    """Time a complete paginated tools/list `repeats` times over one session, with the client cache disabled."""
    listing_seconds: list[float] = []
    page_seconds: list[float] = []
    tools = pages = 0
    async with gateway_client(mcp_url, era, with_key) as client:
        for _ in range(repeats):
            tools = pages = 0
            cursor: str | None = None
            listing_started = time.perf_counter()
            while True:
                page_started = time.perf_counter()
                page = await client.list_tools(cursor=cursor)
                page_seconds.append(time.perf_counter() - page_started)
                tools += len(page.tools)
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
            listing_seconds.append(time.perf_counter() - listing_started)
    return ListingResult(tools, pages, listing_seconds, page_seconds)


COLUMNS = (
    ("target", 7),
    ("conc", 4),
    ("calls", 6),
    ("errors", 6),
    ("calls/s", 7),
    ("p50 ms", 7),
    ("p95 ms", 7),
    ("p99 ms", 7),
    ("open s", 6),
    ("cpu ms/call: gw", 15),
    ("api", 5),
    ("client", 6),
)


def _row(cells: list[str]) -> str:
    return "  ".join(cell.rjust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _cpu_per_call(before: float | None, after: float | None, calls: int) -> str:
    if before is None or after is None or calls == 0:
        return "-"
    return f"{(after - before) / calls * 1000:.2f}"


def format_header() -> str:
    return _row([name for name, _ in COLUMNS])


def format_level(result: LevelResult) -> str:
    """One table row; a call count below the plan's is marked with `*`: the time cap ended that level."""
    calls = len(result.latencies)
    before, after = result.cpu_before, result.cpu_after
    cpu = ["-", "-", "-"]
    if before is not None and after is not None:
        cpu = [
            _cpu_per_call(before.gateway, after.gateway, calls),
            _cpu_per_call(before.api, after.api, calls),
            _cpu_per_call(before.client, after.client, calls),
        ]
    return _row(
        [
            result.target,
            str(result.plan.concurrency),
            f"{calls}*" if calls < result.plan.calls else str(calls),
            str(result.errors),
            f"{calls / result.seconds:.0f}" if result.seconds > 0 else "-",
            _ms(percentile(result.latencies, 0.50)),
            _ms(percentile(result.latencies, 0.95)),
            _ms(percentile(result.latencies, 0.99)),
            f"{result.open_seconds:.2f}" if result.open_seconds is not None else "-",
            *cpu,
        ]
    )


def format_listing(listing: ListingResult) -> str:
    return (
        f"tools/list of /mcp: {listing.tools} tools in {listing.pages} pages; "
        f"whole listing p50 {_ms(percentile(listing.listing_seconds, 0.5))} ms "
        f"(min {_ms(min(listing.listing_seconds))}, max {_ms(max(listing.listing_seconds))}, "
        f"{len(listing.listing_seconds)} runs); "
        f"one page p50 {_ms(percentile(listing.page_seconds, 0.5))} ms, "
        f"p95 {_ms(percentile(listing.page_seconds, 0.95))} ms"
    )


async def run_benchmark(mcp_url: str, api_url: str, arguments: argparse.Namespace, clocks: CpuClocks) -> None:
    print(format_header(), flush=True)
    results: list[LevelResult] = []
    for concurrency in arguments.concurrency:
        plan = LevelPlan(concurrency, arguments.calls, arguments.max_seconds)
        for level in (
            partial(gateway_level, mcp_url, arguments.era, plan, clocks, arguments.with_keys),
            partial(direct_level, api_url, plan, clocks),
        ):
            result = await level()
            results.append(result)
            print(format_level(result), flush=True)
        # The echo API remembers every request; forgetting them keeps its memory flat across levels.
        httpx.delete(f"{api_url}/__received").raise_for_status()
    if any(len(result.latencies) < result.plan.calls for result in results):
        print("  * the time cap ended this level first", flush=True)
    for result in results:
        if result.first_error:
            print(f"  first {result.target} error at concurrency {result.plan.concurrency}: {result.first_error}")
    listing = await measure_listing(mcp_url, arguments.era, LISTING_REPEATS, arguments.with_keys)
    print(format_listing(listing), flush=True)


def write_benchmark_config(config_dir: Path, api_url: str, with_keys: bool) -> Path:
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    servers = {
        ECHO_SERVER: {"openapi": {"spec": "upstream_api.yaml", "baseUrl": api_url}},
        "github": {"openapi": {"spec": str(SPECS_DIR / "github-api.json"), "baseUrl": UNREACHABLE_BASE_URL}},
    }
    if not with_keys:
        return write_config(config_dir, servers)
    keys: dict[str, Any] = {f"other-{index}": {"sha256": hashlib.sha256(f"other-key-{index}".encode()).hexdigest()}
                            for index in range(OTHER_KEYS)}
    keys["bench"] = {"key": BENCH_KEY, "servers": [ECHO_SERVER, "github"],
                     "tools": [f"{ECHO_SERVER}/*", "github/repos*"]}
    return write_config(config_dir, servers, access={"keys": keys})


def concurrency_levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        levels = []
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers, e.g. 1,8,32")
    return levels


def positive_number(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per level and target (default 2000)")
    parser.add_argument("--concurrency", type=concurrency_levels, default=[1, 8, 32], help="default 1,8,32")
    parser.add_argument("--era", choices=sorted(CLIENT_MODES), default="modern", help="MCP protocol era")
    parser.add_argument("--stateless", action="store_true", help="serve the gateway with --stateless")
    parser.add_argument("--with-keys", action="store_true", help="gateway keys configured; the clients send one")
    parser.add_argument(
        "--max-seconds", type=positive_number, default=60.0, help="time cap per level and target (default 60)"
    )
    arguments = parser.parse_args(argv)
    if arguments.calls < 1:
        parser.error("--calls must be at least 1")
    return arguments


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    # SIGTERM would end this process without unwinding, orphaning the gateway and the echo API; as an interrupt
    # it runs the `finally` blocks that stop them, like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as scratch:
        log_dir = Path(scratch)
        with running_upstream_api(log_dir) as api:
            config_path = write_benchmark_config(log_dir, api.base_url, arguments.with_keys)
            extra_args = ["--stateless"] if arguments.stateless else []
            # WARNING logs only: an access-log line per request would make the gateway measure its own logging.
            env = {"MCP_GATEWAY_LOG_LEVEL": "warning"}
            with running_gateway(config_path, log_dir, env=env, extra_args=extra_args) as gateway:
                clocks = CpuClocks(gateway_pid=gateway.process.popen.pid, api_pid=api.process.popen.pid)
                print(
                    f"gateway{' --stateless' if arguments.stateless else ''}"
                    f"{' with keys' if arguments.with_keys else ''} at {gateway.base_url}, "
                    f"era {arguments.era}, {arguments.calls} calls per level, "
                    f"cap {arguments.max_seconds:.0f} s per level, {os.cpu_count()} CPUs shared by all processes",
                    flush=True,
                )
                anyio.run(run_benchmark, gateway.mcp_url, api.base_url, arguments, clocks)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted (the gateway and the echo API were stopped)")
