"""Start-up time of the gateway to its first answered `initialize`, cold and warm, and its RSS after start-up.

    .venv/bin/python benchmarks/startup.py [--config servers.json] [--repeat 5] [--baseline-repo PATH]

Each repetition starts `python -m mcp_gateway serve --config CONFIG` on a free loopback port as a real process
and, from the moment the process is spawned, sends a handshake-era `initialize` over raw HTTP until one is
answered; the time from spawn to that answer is the start-up time. The gateway binds its port before loading,
so a connection made early waits for it instead of being refused.

- cold: the spec conversion cache is an empty directory (every OpenAPI spec is converted);
- warm: the same directory, filled by the previous start (every spec comes from the cache).

Also printed: the gateway's CPU time (user + system, Linux /proc) when `initialize` was answered, which a busy
machine inflates far less than the wall time; the time until every server has started (settled); the RSS of the
gateway once its servers settled, and its peak until then (VmHWM); and the gateway's own import time
(`python -X importtime`, the top-level module cumulative figure). With `--baseline-repo` (another checkout, e.g.
`git archive main | tar -x -C /tmp/base`) the same starts run that code too, in turns with this checkout's, and
the ratios baseline/this are printed.

Both checkouts' `mcp_gateway` packages are byte-compiled first (`compileall`), as pip does when it installs the
package (the container image included): an editable checkout run with PYTHONDONTWRITEBYTECODE set (as in this
sandbox) never writes the gateway's bytecode, so every start would compile its ~80 modules from source again
(~90 ms of CPU), a cost no installed gateway pays. `--no-compile` measures the checkouts as they stand.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import free_port  # noqa: E402

_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "startup-benchmark", "version": "1"},
    },
}
_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_START_TIMEOUT_SECONDS = 60.0


def _rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """`field` of /proc/PID/status in MB: VmRSS (now) or VmHWM (the peak so far)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


@dataclass
class Start:
    seconds: float
    """From spawn to the first answered initialize."""
    cpu_seconds: float | None
    """The gateway's CPU time when that initialize was answered."""
    settled_seconds: float
    """From spawn to every server started."""
    rss_mb: float | None
    """Once the servers settled."""
    peak_rss_mb: float | None
    """The highest RSS until then."""


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_start(config: Path, cache_dir: Path, log_dir: Path, code: Path | None = None) -> Start:
    """One start of the gateway (`code`: another checkout's, else this one's)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MCP_GATEWAY_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    if code is not None:
        env.update({"PYTHONSAFEPATH": "1", "PYTHONPATH": str(code.resolve())})
    command = [sys.executable, "-m", "mcp_gateway", "--log-level", "WARNING", "serve",
               "--config", str(config), "--port", str(port)]
    with (log_dir / "gateway.log").open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL)
    try:
        elapsed = _await_initialize(url, process, started)
        cpu = _cpu_seconds(process.pid)
        _await_settled(url)
        settled = time.perf_counter() - started
        return Start(elapsed, cpu, settled, _rss_mb(process.pid), _rss_mb(process.pid, "VmHWM"))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _await_initialize(url: str, process: subprocess.Popen[bytes], started: float) -> float:
    with httpx.Client(timeout=_START_TIMEOUT_SECONDS) as client:
        while time.perf_counter() - started < _START_TIMEOUT_SECONDS:
            if process.poll() is not None:
                raise SystemExit(f"the gateway exited with {process.returncode}; see its log")
            try:
                response = client.post(f"{url}/mcp", json=_INITIALIZE, headers=_HEADERS)
            except httpx.TransportError:
                time.sleep(0.005)
                continue
            if response.status_code == 200:
                return time.perf_counter() - started
            time.sleep(0.005)
    raise SystemExit("the gateway did not answer initialize in time")


def _await_settled(url: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        servers = httpx.get(f"{url}/servers", timeout=5).json()
        if all(entry["health"] != "starting" for entry in servers):
            return
        time.sleep(0.05)


def _import_time_ms() -> float:
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import mcp_gateway.cli"],
                            cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    last = [line for line in result.stderr.splitlines() if line.startswith("import time:")][-1]
    return int(last.split("|")[1]) / 1000


def _byte_compile(tree: Path) -> None:
    """Write the bytecode of `tree`'s gateway package (what changed since it was last compiled)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "mcp_gateway")], check=True,
                   stdout=subprocess.DEVNULL)


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def _report(label: str, starts: list[Start]) -> dict[str, float | None]:
    figures = {
        "initialize s": _median([start.seconds for start in starts]),
        "CPU at initialize s": _median([start.cpu_seconds for start in starts]),
        "all servers started s": _median([start.settled_seconds for start in starts]),
        "RSS MB": _median([start.rss_mb for start in starts]),
        "peak RSS MB": _median([start.peak_rss_mb for start in starts]),
    }
    spread = f"{min(start.seconds for start in starts):.3f}-{max(start.seconds for start in starts):.3f}"
    shown = "   ".join(f"{name} {value:.3f}" for name, value in figures.items() if value is not None)
    print(f"  {label:5} {shown}   (initialize {spread})")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "servers.json")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline-repo", type=Path, help="a checkout whose gateway is measured too (e.g. main)")
    parser.add_argument("--no-compile", action="store_true",
                        help="measure the checkouts as they stand, without byte-compiling them first (with "
                             "PYTHONDONTWRITEBYTECODE set and no bytecode, every start compiles the gateway's modules)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    codes: dict[str, Path | None] = {"this checkout": None}
    if args.baseline_repo is not None:
        codes[f"baseline {args.baseline_repo}"] = args.baseline_repo
    if not args.no_compile:
        for code in codes.values():
            _byte_compile(code if code is not None else REPO_ROOT)
    try:
        starts: dict[tuple[str, str], list[Start]] = {}
        for _ in range(args.repeat):
            for label, code in codes.items():  # in turns, so both see the same load on a shared machine
                cache_dir = work / "cache"
                shutil.rmtree(cache_dir, ignore_errors=True)
                cache_dir.mkdir()
                starts.setdefault((label, "cold"), []).append(_one_start(args.config, cache_dir, work, code))
                starts.setdefault((label, "warm"), []).append(_one_start(args.config, cache_dir, work, code))
        imports = statistics.median(_import_time_ms() for _ in range(3))
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"config: {args.config}   repetitions: {args.repeat} (medians)   load average: {load}   "
              f"gateway code: {'as it stands' if args.no_compile else 'byte-compiled'}")
        figures: dict[tuple[str, str], dict[str, float | None]] = {}
        for label in codes:
            print(f"[{label}]")
            for cache in ("cold", "warm"):
                figures[(label, cache)] = _report(cache, starts[(label, cache)])
        if len(codes) == 2:
            this, baseline = codes
            for cache in ("cold", "warm"):
                for name in ("initialize s", "CPU at initialize s", "RSS MB"):
                    ours, theirs = figures[(this, cache)][name], figures[(baseline, cache)][name]
                    if ours and theirs:
                        print(f"{cache} {name}: baseline / this {theirs / ours:.2f}x")
        print(f"import mcp_gateway.cli (this checkout): {imports:.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
