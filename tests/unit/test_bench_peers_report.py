"""benchmarks/peers_report.py and the parsing of benchmarks/peers_wrk.py: the tables and ratios from given
measurements, and what a run with errors yields (no ratio)."""

from __future__ import annotations

import re

import pytest

from benchmarks.peers_report import FLOOR_ALONE, Results, Sample, report
from benchmarks.peers_wrk import WrkOutputError, WrkRun, parse_wrk_output


def wrk_run(calls_per_second: float, cpu_ms: float, errors: int = 0, seconds: float = 2.0, workers: int = 1) -> WrkRun:
    requests = round(calls_per_second * seconds)
    cpu_seconds = requests * cpu_ms / 1000
    return WrkRun(requests, seconds, 50.0, 120.0, errors, "HTTP 404: nope" if errors else None,
                  cpu_by_process=(cpu_seconds * 0.6, cpu_seconds * 0.4) if workers == 2 else (cpu_seconds,))


def test_wrk_output_is_read_from_the_scripts_lines_and_wrk_s_own_summary_is_ignored() -> None:
    output = ("Running 1s test @ http://127.0.0.1:1/mcp\n  2 threads and 32 connections\n"
              "peers-requests 1200\npeers-duration-us 2000000\npeers-latency-us 25000 91000\npeers-errors 3\n"
              "peers-first-error HTTP 404: not found\nRequests/sec: 600.00\n")
    assert parse_wrk_output(output) == WrkRun(1200, 2.0, 25.0, 91.0, 3, "HTTP 404: not found")
    assert parse_wrk_output(output).calls_per_second == 600


def test_wrk_output_without_the_scripts_lines_is_an_error_that_shows_it() -> None:
    with pytest.raises(WrkOutputError, match="unable to connect"):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_report_prints_both_tables_and_takes_c32_ratios_from_wrk() -> None:
    results = Results()
    results.add("floor", 1, Sample(10, 1.0, [0.004] * 10, 0, 0.02, 0.02))
    results.add("gateway openapi", 1, Sample(10, 1.0, [0.003] * 10, 0, 0.01, 0.02))
    results.add_wrk("floor", wrk_run(400, 2.5))
    results.add_wrk("gateway openapi", wrk_run(600, 1.6))
    results.add_wrk("gateway openapi x2", wrk_run(1080, 1.6, workers=2))
    text = report(["floor", "gateway openapi", "gateway openapi x2"], results)
    wrk_lines = {line.split("  ")[0]: line for line in text.split("wrk c=32 (modern era)")[1].splitlines()}
    assert wrk_lines["gateway openapi"].split()[2] == "600"
    assert wrk_lines["gateway openapi"].split()[-3:] == ["0.96", "-", "0"]  # cores kept busy, busiest, errors
    assert wrk_lines["gateway openapi x2"].split()[-3:] == ["1.73", "0.60", "0"]
    assert re.search(r"openapi c=32 vs bare SDK floor +1\.50x", text), text
    assert re.search(r"gateway openapi x2 +vs gateway openapi +1\.80x +\(>= 1\.8x\)", text), text
    assert "c=32 from wrk" in text
    assert "load average" in text


def test_n_workers_are_compared_with_one_worker_unpinned_when_that_row_was_measured() -> None:
    results = Results()
    results.add_wrk("gateway openapi", wrk_run(300, 1.6))
    results.add_wrk("gateway openapi x1", wrk_run(500, 1.6))
    results.add_wrk("gateway openapi x2", wrk_run(900, 1.6))
    text = report(["gateway openapi", "gateway openapi x1", "gateway openapi x2"], results)
    assert re.search(r"gateway openapi x2 +vs gateway openapi x1 +1\.80x", text), text


def test_a_row_with_errors_shows_them_and_yields_no_ratio() -> None:
    results = Results()
    results.add_wrk("floor", wrk_run(400, 2.5))
    results.add_wrk("gateway openapi", wrk_run(600, 1.6, errors=5))
    text = report(["floor", "gateway openapi"], results)
    assert "5 (HTTP 404: nope)" in text
    assert re.search(r"openapi c=32 vs bare SDK floor +- ", text), text


def test_the_mcp_rows_ratios_against_the_upstream_are_given_both_ways_the_upstream_is_pinned() -> None:
    results = Results()
    for label, p50 in (("floor", 0.004), ("gateway mcp", 0.0075), (FLOOR_ALONE, 0.0055)):
        results.add(label, 1, Sample(10, 1.0, [p50] * 10, 0, 0.02, 0.02))
    results.add_wrk("floor", wrk_run(500, 2.0))
    results.add_wrk("gateway mcp", wrk_run(350, 1.3))
    results.add_wrk(FLOOR_ALONE, wrk_run(490, 1.4))
    text = report(["floor", "gateway mcp", FLOOR_ALONE], results)
    assert re.search(r"mcp c=32 vs its upstream alone +0\.70x", text), text
    assert re.search(r"floor alone on its core +0\.98x", text), text
    assert re.search(r"mcp c=1 p50 over calling the floor +3\.50 ms", text), text
    assert re.search(r"floor alone on its core: official +1\.50 ms", text), text
