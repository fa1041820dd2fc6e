"""benchmarks/peers.py runs end to end and prints its tables and the issue's ratios, with wrk and without it, and
its wrk script sends requests a real gateway answers (numbers are not judged: the suite never depends on timings)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.peers_report import FLOOR_ALONE
from benchmarks.peers_wrk import WRK_MISSING, run_wrk, wrk_path
from tests.e2e.gateway_process import REPO_ROOT, UPSTREAM_API_SPEC, Gateway, UpstreamAPI, running_gateway, write_config

needs_wrk = pytest.mark.skipif(wrk_path() is None, reason="wrk not installed (Debian: apt-get install wrk)")


def run_peers(*extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [sys.executable, "benchmarks/peers.py", "--calls", "40", "--calls-c1", "5", "--repetitions", "1",
         "--max-seconds", "20", "--wrk-seconds", "1", *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False, env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def table_rows(output: str, heading: str) -> dict[str, str]:
    """The rows of the table under `heading`, by label."""
    lines = output.split(heading, 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return {line.split("  ")[0].strip(): line for line in lines}


def test_without_wrk_the_official_client_drives_c32_and_the_wrk_table_is_skipped_with_a_reason(
    tmp_path: Path,
) -> None:
    # A PATH without wrk on it; every process the runner starts is found by absolute path.
    labels = ("gateway openapi", "gateway mcp", FLOOR_ALONE)
    run = run_peers("--only", ",".join(labels), env={**os.environ, "PATH": str(tmp_path)})
    assert WRK_MISSING in run.stdout
    assert "wrk c=32 (modern era)" not in run.stdout
    rows = table_rows(run.stdout, "official SDK client")
    for label in ("direct", "floor", *labels):
        assert label in rows, run.stdout
        assert rows[label].rstrip().endswith(" 0"), f"errors in row {label!r}: {rows[label]}"
        assert " - " not in rows[label].split(label, 1)[1].strip().rsplit(" ", 4)[0], rows[label]  # c=32 measured
    assert "c=32 from official client" in run.stdout
    assert "openapi c=32 vs bare SDK floor" in run.stdout


@needs_wrk
def test_with_wrk_every_row_gets_a_wrk_c32_line_without_errors_and_the_worker_ratios() -> None:
    labels = ("direct", "floor", "gateway openapi", "direct x2", "floor x2", "gateway openapi x1", "gateway openapi x2")
    run = run_peers("--workers", "2", "--only", ",".join(labels))
    rows = table_rows(run.stdout, "wrk c=32 (modern era)")
    for label in labels:
        assert label in rows, run.stdout
        assert rows[label].rstrip().endswith(" 0"), f"errors in row {label!r}: {rows[label]}"
    assert "c=32 from wrk" in run.stdout
    assert re.search(r"gateway openapi x2 +vs gateway openapi x1 ", run.stdout), run.stdout
    assert "load average" in run.stdout


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("bench-peers")
    shutil.copy(UPSTREAM_API_SPEC, config_dir / "upstream_api.yaml")
    config = write_config(config_dir, {"api": {"openapi": {"spec": "upstream_api.yaml",
                                                           "baseUrl": upstream_api.base_url}}})
    with running_gateway(config, e2e_log_dir) as running:
        yield running


@needs_wrk
def test_the_wrk_script_sends_modern_era_tool_calls_a_real_gateway_answers(gateway: Gateway) -> None:
    wrk = wrk_path()
    assert wrk is not None
    run = run_wrk(wrk, gateway.server_url("api"), "getItem", 1, lambda: None, connections=2)
    assert run.requests > 0
    assert (run.errors, run.first_error) == (0, None)


@needs_wrk
def test_the_wrk_script_counts_and_shows_answers_that_are_not_results(gateway: Gateway) -> None:
    wrk = wrk_path()
    assert wrk is not None
    run = run_wrk(wrk, gateway.server_url("api"), "noSuchTool", 1, lambda: None, connections=2)
    assert run.requests > 0
    assert run.errors == run.requests
    assert run.first_error is not None and run.first_error.startswith("HTTP ")
