"""The official MCP conformance suite through the gateway, next to the suite's reference server direct.

    .venv/bin/python benchmarks/conformance.py [--strict]

Installs the suite (tests/conformance/setup.sh: node 22 and the suite from the npm registry, once), starts the
reference server and `mcp-gateway serve` with it configured as server `conf`, then runs the suite against:

- the reference server directly (the baseline: 32 of 32),
- the gateway's per-server endpoint /mcp/conf (every scenario),
- the gateway's aggregated endpoint /mcp (the 8 scenarios that name no tool, prompt or resource).

Prints each run's per-scenario lines and a summary of pass counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.conformance import suite  # noqa: E402
from tests.e2e.gateway_process import running_gateway, write_config  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="count the suite's weak passes as failures")
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
    for label, outcome in runs.items():
        print(f"## {label}")
        print(outcome.output.rstrip())
        print()
    print("summary:", json.dumps({label: f"{o.passed}/{o.total}" for label, o in runs.items()}))
    return 0 if all(outcome.failed == 0 for outcome in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
