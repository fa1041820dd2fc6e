"""Start-up time of the gateway to its first answered `initialize`, cold and warm, and its RSS after start-up.

    .venv/bin/python benchmarks/startup.py [--config servers.json] [--repeat 5]

Each repetition starts `python -m mcp_gateway serve --config CONFIG` on a free loopback port as a real process
and, from the moment the process is spawned, sends a handshake-era `initialize` over raw HTTP until one is
answered; the time from spawn to that answer is the start-up time. The gateway binds its port before loading,
so a connection made early waits for it instead of being refused.

- cold: the spec conversion cache is an empty directory (every OpenAPI spec is converted);
- warm: the same directory, filled by the previous start (every spec comes from the cache).

Also printed: the RSS of the gateway once `initialize` was answered and its servers settled (Linux /proc), and
the gateway's own import time (`python -X importtime`, the top-level module cumulative figure).
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


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def _one_start(config: Path, cache_dir: Path, log_dir: Path) -> tuple[float, float | None]:
    """Seconds from spawn to the first answered initialize, and RSS (MB) once the servers settled."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MCP_GATEWAY_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "mcp_gateway", "--log-level", "WARNING", "serve",
               "--config", str(config), "--port", str(port)]
    with (log_dir / "gateway.log").open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL)
    try:
        elapsed = _await_initialize(url, process, started)
        _await_settled(url)
        return elapsed, _rss_mb(process.pid)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "servers.json")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    try:
        cold: list[float] = []
        warm: list[float] = []
        rss: list[float] = []
        rss_cold: list[float] = []
        for _ in range(args.repeat):
            cache_dir = work / "cache"
            shutil.rmtree(cache_dir, ignore_errors=True)
            cache_dir.mkdir()
            cold_seconds, cold_rss = _one_start(args.config, cache_dir, work)
            warm_seconds, warm_rss = _one_start(args.config, cache_dir, work)
            cold.append(cold_seconds)
            if cold_rss is not None:
                rss_cold.append(cold_rss)
            warm.append(warm_seconds)
            if warm_rss is not None:
                rss.append(warm_rss)
        imports = statistics.median(_import_time_ms() for _ in range(3))
        print(f"config: {args.config}   repetitions: {args.repeat} (median; min-max)")
        print(f"start-up to first initialize, cold cache: {statistics.median(cold):.3f} s "
              f"({min(cold):.3f}-{max(cold):.3f})")
        print(f"start-up to first initialize, warm cache: {statistics.median(warm):.3f} s "
              f"({min(warm):.3f}-{max(warm):.3f})")
        for label, values in (("cold", rss_cold), ("warm", rss)):
            if values:
                print(f"RSS after start-up ({label}): {statistics.median(values):.1f} MB "
                      f"({min(values):.1f}-{max(values):.1f})")
        print(f"import mcp_gateway.cli: {imports:.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
