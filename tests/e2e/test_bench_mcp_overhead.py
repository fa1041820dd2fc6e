"""benchmarks/mcp_overhead.py and openapi_overhead.py (both on benchmarks/interleaved.py) run end to end, beside
a baseline checkout (this one), and print their tables (numbers are not judged: the suite never depends on
timings)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.gateway_process import REPO_ROOT


@pytest.mark.parametrize(("script", "reference"), [("mcp_overhead.py", "floor"), ("openapi_overhead.py", "direct")])
def test_the_overhead_benchmark_prints_every_target_and_the_cpu_ratio(script: str, reference: str) -> None:
    run = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--calls", "10", "--repetitions", "1",
         "--baseline-repo", str(REPO_ROOT)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in run.stdout.split("CPU ms/call", 1)[1].splitlines()[1:4]}
    assert set(rows) == {reference, "gateway", "baseline"}, run.stdout
    assert rows[reference][3:] == ["-", "-", "-"], run.stdout  # the reference adds nothing to itself
    for name in ("gateway", "baseline"):
        assert all(float(cell) > 0 for cell in (rows[name][1], rows[name][2], rows[name][5])), rows[name]
    assert "x less than the baseline's" in run.stdout and "load average" in run.stdout
