"""CPU of the gateway's own OpenAPI call at c=1, this checkout against another one, in alternating processes.

    .venv/bin/python benchmarks/openapi_upstream_call.py --baseline-repo PATH [--calls 2000] [--repetitions 6]

The part of an OpenAPI tool call that openapi/ and http.py own: `OpenAPIUpstream.call_tool("getItem", ...)`,
the request built, sent on the upstream client, read and turned into a result, one call at a time (c=1, uvloop as
the gateway runs). The items API of benchmarks/peers_servers.py runs as one process for the whole run; each
repetition starts one process per checkout (this one and `--baseline-repo`, in alternating order), pinned to core
0, which measures its CPU per call (`time.process_time`) after a warm-up. Printed: each repetition, the medians,
the ratio baseline / this checkout (> 1: this checkout costs less) and the load average. It leaves out the MCP
front (uvicorn, the tool-call wire, the registry), which benchmarks/openapi_overhead.py measures with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.peers_report import load_average  # noqa: E402
from benchmarks.upstream_calls import upstream_servers  # noqa: E402

_MEASURE = r"""
import json, os, sys, time
from pathlib import Path
import anyio
from mcp_gateway.config import OpenAPISource
from mcp_gateway.upstreams.openapi import OpenAPIUpstream

ARGUMENTS = {"item_id": "item-7", "limit": 7, "verbose": True, "q": "bench mark"}

async def measure(api_url: str, calls: int) -> float:
    upstream = OpenAPIUpstream("items", OpenAPISource(spec=f"{api_url}/openapi.json", base_url=api_url), Path.cwd())
    await upstream.start()
    try:
        for _ in range(200):
            await upstream.call_tool("getItem", dict(ARGUMENTS))
        started = time.process_time()
        for _ in range(calls):
            if (await upstream.call_tool("getItem", dict(ARGUMENTS))).is_error:
                raise RuntimeError("the call failed")
        return (time.process_time() - started) * 1e6 / calls
    finally:
        await upstream.aclose()

if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})
print(json.dumps(anyio.run(measure, sys.argv[1], int(sys.argv[2]), backend_options={"use_uvloop": True})))
"""


def measure_once(repo: Path, api_url: str, calls: int) -> float:
    """CPU microseconds per call of `repo`'s code, in a process of its own."""
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, api_url, str(calls)],
        env={**os.environ, "PYTHONSAFEPATH": "1", "PYTHONPATH": str(repo.resolve())},
        cwd=repo, capture_output=True, text=True, timeout=600, check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{repo}: {run.stderr[-2000:]}")
    return float(json.loads(run.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-repo", type=Path, required=True, help="a checkout to compare with (e.g. main)")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repetitions", type=int, default=6)
    args = parser.parse_args()
    repos = {"this": REPO_ROOT, "baseline": args.baseline_repo}
    results: dict[str, list[float]] = {name: [] for name in repos}
    print(f"before: {load_average()}", flush=True)
    with upstream_servers() as (api_url, _):
        for repetition in range(args.repetitions):
            order = list(repos) if repetition % 2 == 0 else list(reversed(repos))
            for name in order:
                results[name].append(measure_once(repos[name], api_url, args.calls))
            print(f"[{repetition + 1}/{args.repetitions}] " + "; ".join(
                f"{name} {results[name][-1]:.0f} us/call" for name in repos), load_average(), flush=True)
    this, baseline = statistics.median(results["this"]), statistics.median(results["baseline"])
    print(f"\nOpenAPIUpstream.call_tool at c=1, CPU per call, median of {args.repetitions} x {args.calls} calls:")
    print(f"this checkout {this:.0f} us, baseline {baseline:.0f} us: {baseline / this:.2f}x less CPU than the baseline")
    print(load_average())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
