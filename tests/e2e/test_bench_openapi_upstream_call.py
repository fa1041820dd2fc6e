"""benchmarks/openapi_upstream_call.py runs end to end against a baseline checkout (this one) and prints its ratio
(numbers are not judged: the suite never depends on timings)."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.gateway_process import REPO_ROOT


def test_the_upstream_call_benchmark_prints_both_checkouts_and_the_ratio() -> None:
    run = subprocess.run(
        [sys.executable, "benchmarks/openapi_upstream_call.py", "--calls", "20", "--repetitions", "2",
         "--baseline-repo", str(REPO_ROOT)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count(" us/call") == 4, run.stdout
    assert "x less CPU than the baseline" in run.stdout, run.stdout
    assert "load average" in run.stdout, run.stdout
