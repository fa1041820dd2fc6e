"""The tables and the issue-15 ratios that benchmarks/peers.py prints, from the measurements of one run.

Two tables: the official SDK client's (c=1 latency, the raw modern-era POST's c=1 latency, the client's own CPU,
and c=32 when the client drives it) and wrk's c=32 table (calls/s, p50/p99, the server's CPU per call and calls per
server CPU-second, the cores the server kept busy and, for a server of several processes, the busiest one's share
of its CPU: 0.50 for two that share the load evenly). The ratios take c=32 from wrk when it ran, from the
official client otherwise; a row with errors gives no ratio (a run with errors is not a result).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from benchmarks.gateway_calls import percentile
from benchmarks.peers_wrk import WrkRun

HIGH_CONCURRENCY = 32
FLOOR_ALONE = "gateway mcp (floor alone)"
"""The MCP-upstream row with the upstream floor alone on a core of its own, as in the `floor` row (peers.py)."""


@dataclass
class Sample:
    """One official-client measurement of one row at one concurrency."""

    calls: int
    seconds: float
    latencies: list[float]
    errors: int
    cpu_seconds: float | None
    client_cpu_seconds: float
    first_error: str | None = None


@dataclass
class Results:
    samples: dict[tuple[str, int], list[Sample]] = field(default_factory=dict)
    raw: dict[str, list[float]] = field(default_factory=dict)
    wrk: dict[str, list[WrkRun]] = field(default_factory=dict)

    def add(self, label: str, concurrency: int, sample: Sample) -> None:
        self.samples.setdefault((label, concurrency), []).append(sample)

    def add_wrk(self, label: str, run: WrkRun) -> None:
        self.wrk.setdefault(label, []).append(run)

    def raw_p50_ms(self, label: str) -> float | None:
        runs = self.raw.get(label)
        return statistics.median(runs) if runs else None

    def p50_ms(self, label: str, concurrency: int = 1) -> float | None:
        runs = self.samples.get((label, concurrency))
        return statistics.median(percentile(s.latencies, 0.5) * 1000 for s in runs) if runs else None

    def client_rate(self, label: str) -> float | None:
        runs = self.samples.get((label, HIGH_CONCURRENCY))
        return statistics.median(s.calls / s.seconds for s in runs if s.seconds > 0) if runs else None

    def client_cpu_ms(self, label: str, concurrency: int) -> float | None:
        """The server's CPU per call under the official client."""
        return _median(s.cpu_seconds / s.calls * 1000 for s in self.samples.get((label, concurrency), [])
                       if s.cpu_seconds is not None and s.calls)

    def own_cpu_ms(self, label: str) -> float | None:
        """This process's (the official client's) CPU per call at c=1."""
        return _median(s.client_cpu_seconds / s.calls * 1000 for s in self.samples.get((label, 1), []) if s.calls)

    def wrk_value(self, label: str, value: Callable[[WrkRun], float | None]) -> float | None:
        return _median(value(run) for run in self.wrk.get(label, []))

    def errors(self, label: str) -> tuple[int, str | None]:
        runs = [s for (name, _), samples in self.samples.items() if name == label for s in samples]
        wrk_runs = self.wrk.get(label, [])
        first = next((s.first_error for s in runs if s.first_error), None)
        first = first or next((run.first_error for run in wrk_runs if run.first_error), None)
        return sum(s.errors for s in runs) + sum(run.errors for run in wrk_runs), first

    def rate(self, label: str) -> float | None:
        """c=32 calls/s for the ratios: wrk's when it ran, else the official client's; None after any error."""
        if self.errors(label)[0]:
            return None
        if label in self.wrk:
            return self.wrk_value(label, lambda run: run.calls_per_second)
        return self.client_rate(label)

    def per_cpu_second(self, label: str) -> float | None:
        """c=32 calls per second of the server's CPU (wrk's runs); None after any error."""
        cpu_ms = self.wrk_value(label, lambda run: run.cpu_ms_per_call)
        return None if self.errors(label)[0] or not cpu_ms else 1000 / cpu_ms


def _median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(numerator: float | None, denominator: float | None) -> str:
    return "-" if not numerator or not denominator else f"{numerator / denominator:.2f}x"


def load_average() -> str:
    try:
        return "load average " + ", ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "load average unknown"


def client_table(labels: list[str], results: Results) -> list[str]:
    lines = [f"{'official SDK client':<26} {'c=1 p50 ms':>10} {'raw c=1 p50':>11} {'c=32 calls/s':>12} "
             f"{'c=32 p50 ms':>11} {'CPU ms/call':>11} {'client CPU':>10}  errors"]
    for label in labels:
        if not any(name == label for name, _ in results.samples):
            continue
        errors, first = results.errors(label)
        raw = results.raw_p50_ms(label) if label != "direct" else results.p50_ms(label)
        cpu = results.client_cpu_ms(label, HIGH_CONCURRENCY) or results.client_cpu_ms(label, 1)
        lines.append(
            f"{label:<26} {fmt(results.p50_ms(label)):>10} {fmt(raw):>11} {fmt(results.client_rate(label), 0):>12} "
            f"{fmt(results.p50_ms(label, HIGH_CONCURRENCY)):>11} {fmt(cpu):>11} "
            f"{fmt(results.own_cpu_ms(label)):>10}  {errors}{f' ({first[:300]})' if first else ''}"
        )
    return lines


def wrk_table(labels: list[str], results: Results) -> list[str]:
    lines = [f"{'wrk c=32 (modern era)':<26} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/call':>11} "
             f"{'calls/CPU-s':>11} {'cores':>5} {'busiest':>7}  errors"]
    for label in labels:
        runs = results.wrk.get(label)
        if not runs:
            continue
        errors, first = results.errors(label)
        cpu_ms = results.wrk_value(label, lambda run: run.cpu_ms_per_call)
        busiest = results.wrk_value(label, lambda run: run.busiest_share)
        lines.append(
            f"{label:<26} {fmt(results.wrk_value(label, lambda run: run.calls_per_second), 0):>9} "
            f"{fmt(results.wrk_value(label, lambda run: run.p50_ms)):>8} "
            f"{fmt(results.wrk_value(label, lambda run: run.p99_ms)):>8} {fmt(cpu_ms):>11} "
            f"{fmt(1000 / cpu_ms if cpu_ms else None, 0):>11} "
            f"{fmt(results.wrk_value(label, lambda run: run.server_cores)):>5} "
            f"{fmt(busiest if len(runs[0].cpu_by_process) > 1 else None):>7}  "
            f"{errors}{f' ({first[:300]})' if first else ''}"
        )
    return lines


def target_lines(labels: list[str], results: Results) -> list[str]:
    rate, p50, raw, per_cpu = results.rate, results.p50_ms, results.raw_p50_ms, results.per_cpu_second

    def over(minuend: float | None, subtrahend: float | None) -> float | None:
        return minuend - subtrahend if minuend is not None and subtrahend is not None else None

    source = "wrk" if results.wrk else "official client"
    lines = [f"targets (issue 15; c=32 from {source}; per CPU-s = calls per second of the server's CPU)",
             f"  openapi c=32 vs bare SDK floor      {ratio(rate('gateway openapi'), rate('floor')):>8}   (>= 1.5x)"
             f"   per CPU-s {ratio(per_cpu('gateway openapi'), per_cpu('floor'))}",
             f"  openapi c=32 vs FastMCP OpenAPI     {ratio(rate('gateway openapi'), rate('fastmcp openapi')):>8}"
             f"   (>= 2x)    per CPU-s {ratio(per_cpu('gateway openapi'), per_cpu('fastmcp openapi'))}",
             f"  openapi c=1 p50 over direct GET     {fmt(over(p50('gateway openapi'), p50('direct'))):>5} ms   "
             "(<= 2 ms; official client)",
             f"    the same, raw modern-era POST     {fmt(over(raw('gateway openapi'), p50('direct'))):>5} ms",
             f"  mcp c=1 p50 over calling the floor  {fmt(over(p50('gateway mcp'), p50('floor'))):>5} ms   "
             "(< 2 ms; official client)",
             f"    the same, raw modern-era POST     {fmt(over(raw('gateway mcp'), raw('floor'))):>5} ms",
             f"    floor alone on its core: official {fmt(over(p50(FLOOR_ALONE), p50('floor'))):>5} ms, raw "
             f"{fmt(over(raw(FLOOR_ALONE), raw('floor')))} ms",
             f"  mcp c=32 vs FastMCP proxy           {ratio(rate('gateway mcp'), rate('fastmcp proxy')):>8}   (>= 10x)",
             f"  mcp c=32 vs its upstream alone      {ratio(rate('gateway mcp'), rate('floor')):>8}   (>= 1x: "
             "the floor row is that upstream served alone; behind the gateway it shares a core with the load)",
             f"    floor alone on its core           {ratio(rate(FLOOR_ALONE), rate('floor')):>8}   (like for like: "
             "the upstream has a core to itself in both rows)"]
    for label in labels:
        if " x" in label and not label.endswith(" x1"):  # against one worker unpinned, where it was measured
            single = label.rsplit(" x", 1)[0]
            single = f"{single} x1" if f"{single} x1" in labels else single
            cores = [results.wrk_value(name, lambda run: run.server_cores) for name in (label, single)]
            lines.append(f"  {label:<24} vs {single:<18} {ratio(rate(label), rate(single)):>8}"
                         f"{'   (>= 1.8x)' if label.startswith('gateway') else '   (control)'}"
                         f"   cores {fmt(cores[0])} vs {fmt(cores[1])}, "
                         f"per CPU-s {ratio(per_cpu(label), per_cpu(single))}")
        if label.startswith("baseline "):
            now = label.removeprefix("baseline ")
            lines.append(f"  {f'gateway {now} c=32 vs baseline':<35} {ratio(rate(f'gateway {now}'), rate(label)):>8}"
                         f"   per CPU-s {ratio(per_cpu(f'gateway {now}'), per_cpu(label))}")
    return lines


def report(labels: list[str], results: Results) -> str:
    """Both tables, then the ratios; a table without rows is left out."""
    sections = [client_table(labels, results), wrk_table(labels, results), target_lines(labels, results)]
    return "\n\n".join("\n".join(lines) for lines in sections if len(lines) > 1) + f"\n\n{load_average()}"
