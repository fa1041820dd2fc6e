"""The official MCP conformance suite through the gateway, next to the suite's reference server direct.

    .venv/bin/python benchmarks/conformance.py [--strict] [--time SCENARIO]...

Installs the suite (tests/conformance/setup.sh: node 22 and the suite from the npm registry, once), starts the
reference server and `mcp-gateway serve` with it configured as server `conf`, then runs the suite against:

- the reference server directly (the baseline: 32 of 32),
- the gateway's per-server endpoint /mcp/conf (every scenario),
- the gateway's aggregated endpoint /mcp (the 8 scenarios that name no tool, prompt or resource).

Prints each run's per-scenario lines and a summary of pass counts; with --time, also the wall time of each named
scenario run alone, directly and through /mcp/conf (median of three), e.g. --time server-sse-polling.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.conformance import suite  # noqa: E402
from tests.e2e.gateway_process import running_gateway, write_config  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="count the suite's weak passes as failures")
    parser.add_argument("--time", action="append", default=[], metavar="SCENARIO", help="time this scenario alone")
    args = parser.parse_args()
    node = suite.install()
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        work = Path(scratch)
        with suite.running_reference_server(node, work) as reference_url:
            config = write_config(work, {"conf": {"url": reference_url}})
            with running_gateway(config, work) as gateway:
                base = gateway.base_url.replace("127.0.0.1", "localhost")
                runs = {
                    "direct": suite.run(reference_url, strict=args.strict),
                    "/mcp/conf": suite.run(f"{base}/mcp/conf", strict=args.strict),
                    "/mcp (names-free)": suite.run(f"{base}/mcp", profile="names-free", strict=args.strict),
                }
                timings = {
                    scenario: {label: _median_seconds(url, scenario) for label, url in
                               (("direct", reference_url), ("/mcp/conf", f"{base}/mcp/conf"))}
                    for scenario in args.time
                }
    for label, outcome in runs.items():
        print(f"## {label}")
        print(outcome.output.rstrip())
        print()
    for scenario, seconds in timings.items():
        print(f"{scenario}: " + ", ".join(f"{label} {value:.1f}s" for label, value in seconds.items()))
    print("summary:", json.dumps({label: f"{o.passed}/{o.total}" for label, o in runs.items()}))
    return 0 if all(outcome.failed == 0 for outcome in runs.values()) else 1


def _median_seconds(url: str, scenario: str, repetitions: int = 3) -> float:
    """Wall time of one scenario run alone (the suite's own start-up included, alike for every URL)."""
    seconds = []
    for _ in range(repetitions):
        started = time.perf_counter()
        suite.run(url, scenarios=[scenario])
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


if __name__ == "__main__":
    sys.exit(main())
