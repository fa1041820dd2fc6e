"""The short form of benchmarks/soak.py: load with every kind of fault and hostile traffic, as a test.

The full run (100,000 calls at concurrency 64) is a benchmark; this one checks the same promises on a few hundred
calls: no failure on healthy servers, every failure on a faulty one a clear error result, bad arguments
rejected, no 5xx, no traceback. (Memory is judged by the full run: a few seconds say nothing about drift.)
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.gateway_process import REPO_ROOT


def test_the_gateway_holds_under_faults_load_and_hostile_input() -> None:
    command = [sys.executable, "benchmarks/soak.py", "--calls", "400", "--concurrency", "16",
               "--fault-interval", "0.5", "--json"]
    run = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert run.stdout.strip(), run.stderr[-3000:]
    report = json.loads(run.stdout)

    assert report["calls"] == 400
    assert report["healthy_failures"] == {}
    assert report["unclear_failures"] == {}
    assert report["bad_arguments_rejected"] > 0
    assert report["bad_arguments_accepted"] == 0
    assert not [status for status in report["malformed_statuses"] if int(status) >= 500 or int(status) == 0]
    assert report["malformed_sent"] > 0
    assert report["tracebacks"] == 0
    for fault in ("kill flaky-api", "kill flaky-child", "kill flaky-remote"):
        assert report["faults_injected"].get(fault, 0) >= 1, report["faults_injected"]
    # The faults were felt, and each as a clear error result.
    assert sum(report["flaky_errors"].values()) > 0
