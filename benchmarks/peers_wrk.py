"""The c=32 table of benchmarks/peers.py, driven by wrk instead of a Python client.

On the 2-core machine the official SDK client spends about 2 ms of CPU per call, so at c=32 it is the bottleneck
and its calls/s measure the client, not the servers. wrk (a C load generator; Debian package `wrk`, which
`make services` installs where it can) spends a few tens of microseconds per request. With
benchmarks/peers_tools_call.lua each request is a modern-era `tools/call` (self-contained POST: protocol version
header and `_meta`), and every answer is checked: HTTP 200 with a JSON-RPC result that is not a tool error.

CPU per call is the server process's own user+system time (Linux /proc) over the run divided by the requests
wrk completed; calls per server CPU-second (its inverse) is the fair throughput figure on a shared, loaded box,
where calls/s also depends on what else runs on the cores.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = Path(__file__).resolve().parent / "peers_tools_call.lua"
WRK_CONNECTIONS = 32
WRK_THREADS = 2
WRK_TIMEOUT_SECONDS = 30
WRK_MISSING = "wrk not found: the wrk c=32 table is skipped (Debian: apt-get install wrk, or `make services` as root)"


class WrkOutputError(ValueError):
    """wrk ended without the lines the Lua script prints (it failed to start, or the script did not run)."""


@dataclass(frozen=True)
class WrkRun:
    """One wrk run against one server: what the Lua script's `done` printed, and the server's CPU."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    first_error: str | None
    cpu_by_process: tuple[float, ...] = ()
    """The CPU seconds each of the server's processes spent during the run (empty where unknown)."""

    @property
    def cpu_seconds(self) -> float | None:
        return sum(self.cpu_by_process) if self.cpu_by_process else None

    @property
    def busiest_share(self) -> float | None:
        """The busiest process's share of the server's CPU: 1/N when N processes shared the load evenly."""
        total = self.cpu_seconds
        return max(self.cpu_by_process) / total if total else None

    @property
    def calls_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def server_cores(self) -> float | None:
        """How many cores the server kept busy on average: near N for N workers that share the load evenly."""
        return self.cpu_seconds / self.seconds if self.cpu_seconds is not None and self.seconds > 0 else None

    @property
    def cpu_ms_per_call(self) -> float | None:
        return self.cpu_seconds / self.requests * 1000 if self.cpu_seconds is not None and self.requests else None


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_command(wrk: str, url: str, tool: str, seconds: float, connections: int = WRK_CONNECTIONS) -> list[str]:
    threads = max(1, min(WRK_THREADS, connections))
    return [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            f"--timeout={WRK_TIMEOUT_SECONDS}s", "-s", str(WRK_SCRIPT), url, "--", tool]


def parse_wrk_output(output: str) -> WrkRun:
    """The `peers-` lines of the Lua script's `done`; wrk's own human-readable summary is ignored."""
    values: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith("peers-"):
            key, _, value = line.partition(" ")
            values[key] = value.strip()
    try:
        p50_us, p99_us = (int(part) for part in values["peers-latency-us"].split())
        return WrkRun(
            requests=int(values["peers-requests"]),
            seconds=int(values["peers-duration-us"]) / 1e6,
            p50_ms=p50_us / 1000,
            p99_ms=p99_us / 1000,
            errors=int(values["peers-errors"]),
            first_error=values.get("peers-first-error"),
        )
    except (KeyError, ValueError) as error:
        raise WrkOutputError(f"wrk printed no result ({error}):\n{output[-2000:]}") from None


def run_wrk(
    wrk: str, url: str, tool: str, seconds: float, server_cpu: Callable[[], list[float] | None],
    connections: int = WRK_CONNECTIONS,
) -> WrkRun:
    """Drive `url` for `seconds`; `server_cpu()` (the CPU seconds of each server process, always in the same order)
    is read just before and just after."""
    command = wrk_command(wrk, url, tool, seconds, connections)
    before = server_cpu()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + WRK_TIMEOUT_SECONDS + 30,
                              check=False)
    after = server_cpu()
    run = parse_wrk_output(finished.stdout + finished.stderr)
    # The same processes before and after (a server's workers do not change during a run).
    spent = () if before is None or after is None else tuple(end - start for start, end in zip(before, after,
                                                                                                strict=False))
    return WrkRun(run.requests, run.seconds, run.p50_ms, run.p99_ms, run.errors, run.first_error, spent)
