"""benchmarks/upstream_calls.py runs end to end on both wires and prints its table (numbers are not judged: the
test suite never depends on timings)."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.gateway_process import REPO_ROOT


def test_the_upstream_call_benchmark_prints_both_paths_without_failures() -> None:
    run = subprocess.run(
        [sys.executable, "benchmarks/upstream_calls.py", "--calls", "60", "--concurrency", "4", "--repetitions", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "load average before:" in run.stdout and "failed" not in run.stdout
    rows = {line.split()[0]: line.split() for line in run.stdout.splitlines() if line.startswith(("openapi ", "mcp "))}
    assert set(rows) == {"openapi", "mcp"}, run.stdout
    for row in rows.values():
        assert row[3].endswith("x") and float(row[1]) > 0 and float(row[2]) > 0, row
