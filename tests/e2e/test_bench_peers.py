"""benchmarks/peers.py runs end to end and prints its table and the issue's ratios (numbers are not judged: the
test suite never depends on timings)."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.gateway_process import REPO_ROOT


def test_the_side_by_side_runner_prints_every_row_without_errors() -> None:
    run = subprocess.run(
        [sys.executable, "benchmarks/peers.py", "--calls", "40", "--calls-c1", "5", "--repetitions", "1",
         "--max-seconds", "20", "--only", "gateway openapi,gateway mcp"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {line.split("  ")[0].strip(): line for line in run.stdout.splitlines() if line.strip()}
    for label in ("direct", "floor", "gateway openapi", "gateway mcp"):
        assert label in rows, run.stdout
        assert rows[label].rstrip().endswith(" 0"), f"errors in row {label!r}: {rows[label]}"
    assert "openapi c=32 vs bare SDK floor" in run.stdout
