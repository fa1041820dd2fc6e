"""Fault-and-load soak: many calls at high concurrency while upstreams die, hang, fail and flood, plus hostile
traffic; prints what failed and why, latency, and the gateway's memory before and after.

    .venv/bin/python benchmarks/soak.py [--calls 100000] [--concurrency 64] [--fault-interval 5]
                                        [--max-seconds 1800] [--json]

Everything runs as real processes on loopback: the gateway (`python -m mcp_gateway serve`, default log level),
two echo APIs (tests/e2e/upstream_api.py) and two MCP servers over streamable HTTP plus two over stdio
(tests/e2e/mcp_upstream.py). One of each kind is healthy and left alone; the other ("flaky-*") is the target
of the faults:

- flaky-api (OpenAPI): killed and restarted, asked for answers slower than its 2 s timeout, for HTTP 500s,
  and for bodies over the 20 MB response cap;
- flaky-remote (MCP over HTTP): killed and restarted on the same port;
- flaky-child (MCP over stdio): its child process is killed; the gateway starts a new one.

Callers are `--concurrency` official MCP clients (half in the handshake era with sessions, half in the modern
era), sharing `--calls` calls: 80% to healthy servers, 2% with arguments that break the tool's schema, the
rest to the flaky servers. A separate task sends malformed requests (bad JSON, wrong content type, unknown
sessions, foreign Host, a deeply nested preview body, unknown routes) and checks none is answered 5xx.

The target (issue 14): zero failed calls on healthy servers, every failure on a flaky one a clear `isError`
result (a known cause, below), no 5xx, no traceback in the gateway log, gateway RSS at the end within 20% of its
value after warm-up (the first 10% of calls). `--json` prints the report as JSON (the test suite's short form
runs `--calls 400 --concurrency 16 --fault-interval 0.5 --json`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402

from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import (  # noqa: E402
    LOOPBACK,
    ManagedProcess,
    free_port,
    http_ready,
    launch_process,
    mcp_upstream_command,
    port_ready,
    running_gateway,
    stdio_server_entry,
    write_config,
)

ROBUSTNESS_SPEC = REPO_ROOT / "tests" / "e2e" / "robustness_api.yaml"
CALL_TIMEOUT_SECONDS = 30.0
FLAKY_API_TIMEOUT = 2
WARM_UP_FRACTION = 0.1
RSS_TOLERANCE = 0.20

KNOWN_FAULTS = {
    "connection lost": "connection lost",
    "cannot connect": "cannot connect",
    "upstream unreachable": "unreachable",
    "timed out": "timed out",
    "did not answer": "timed out",
    "HTTP 500": "HTTP 500",
    "response too large": "response too large",
    "is busy": "server busy",
    "no room for": "memory budget",
    "is closed": "closed",
}
"""Substrings of the error results the gateway gives for each kind of fault, and the cause they are counted as."""


@dataclass
class Report:
    calls: int = 0
    seconds: float = 0.0
    healthy_calls: int = 0
    healthy_failures: Counter[str] = field(default_factory=Counter)
    healthy_latencies: list[float] = field(default_factory=list)
    flaky_calls: int = 0
    flaky_ok: int = 0
    flaky_errors: Counter[str] = field(default_factory=Counter)
    unclear_failures: Counter[str] = field(default_factory=Counter)
    bad_arguments_rejected: int = 0
    bad_arguments_accepted: int = 0
    malformed_sent: int = 0
    malformed_statuses: Counter[int] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    rss_after_warm_up_mb: float | None = None
    rss_at_end_mb: float | None = None
    tracebacks: int = 0
    error_log_lines: int = 0

    def verdict(self) -> list[str]:
        """What missed the target; empty when it was met."""
        missed = []
        if sum(self.healthy_failures.values()):
            missed.append(f"{sum(self.healthy_failures.values())} failed calls on healthy servers")
        if sum(self.unclear_failures.values()):
            missed.append(f"{sum(self.unclear_failures.values())} failures without a clear isError result")
        if self.bad_arguments_accepted:
            missed.append(f"{self.bad_arguments_accepted} calls with bad arguments were not rejected")
        server_errors = sum(count for status, count in self.malformed_statuses.items() if status >= 500)
        if server_errors:
            missed.append(f"{server_errors} malformed requests answered 5xx")
        if self.tracebacks:
            missed.append(f"{self.tracebacks} tracebacks in the gateway log")
        growth = self.rss_growth()
        if growth is not None and growth > RSS_TOLERANCE:
            missed.append(f"RSS grew {growth:.0%} after warm-up (limit {RSS_TOLERANCE:.0%})")
        return missed

    def rss_growth(self) -> float | None:
        if self.rss_after_warm_up_mb is None or self.rss_at_end_mb is None:
            return None
        return self.rss_at_end_mb / self.rss_after_warm_up_mb - 1

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "seconds": round(self.seconds, 1),
            "healthy_calls": self.healthy_calls,
            "healthy_failures": dict(self.healthy_failures),
            "p50_ms": round(percentile(self.healthy_latencies, 0.5) * 1000, 1),
            "p99_ms": round(percentile(self.healthy_latencies, 0.99) * 1000, 1),
            "flaky_calls": self.flaky_calls,
            "flaky_ok": self.flaky_ok,
            "flaky_errors": dict(self.flaky_errors),
            "unclear_failures": dict(self.unclear_failures),
            "bad_arguments_rejected": self.bad_arguments_rejected,
            "bad_arguments_accepted": self.bad_arguments_accepted,
            "malformed_sent": self.malformed_sent,
            "malformed_statuses": {str(status): count for status, count in sorted(self.malformed_statuses.items())},
            "faults_injected": dict(self.faults_injected),
            "rss_after_warm_up_mb": self.rss_after_warm_up_mb,
            "rss_at_end_mb": self.rss_at_end_mb,
            "tracebacks": self.tracebacks,
            "error_log_lines": self.error_log_lines,
            "target_missed": self.verdict(),
        }


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(fraction * len(ordered)))) - 1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


class Restartable:
    """An upstream process on a fixed port, which the fault task kills and starts again."""

    def __init__(self, name: str, command: list[str], port: int, log_dir: Path, ready_path: str | None) -> None:
        self.name, self.command, self.port, self.log_dir = name, command, port, log_dir
        self.ready = http_ready(f"http://{LOOPBACK}:{port}{ready_path}") if ready_path else port_ready(port)
        self.process: ManagedProcess | None = None
        self.restarts = 0

    def launch(self) -> None:
        self.process = launch_process(f"{self.name}-{self.restarts}", self.command, log_dir=self.log_dir)

    def start(self) -> None:
        self.launch()
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        assert self.process is not None
        self.process.wait_until_ready(self.ready)

    def kill(self) -> None:
        if self.process is not None and self.process.is_running():
            self.process.popen.kill()
            self.process.popen.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def echo_api(name: str, log_dir: Path) -> Restartable:
    port = free_port()
    command = [sys.executable, "-m", "tests.e2e.upstream_api", "--host", LOOPBACK, "--port", str(port)]
    return Restartable(name, command, port, log_dir, "/__healthz")


def mcp_http(name: str, log_dir: Path) -> Restartable:
    port = free_port()
    return Restartable(name, mcp_upstream_command("http", port=port), port, log_dir, None)


@contextmanager
def upstreams(log_dir: Path) -> Iterator[dict[str, Restartable]]:
    with ExitStack() as stack:
        started = {
            "api": echo_api("api", log_dir),
            "flaky-api": echo_api("flaky-api", log_dir),
            "remote": mcp_http("remote", log_dir),
            "flaky-remote": mcp_http("flaky-remote", log_dir),
        }
        # Launched together, then awaited: each spends seconds importing its libraries.
        for upstream in started.values():
            stack.callback(upstream.stop)
            upstream.launch()
        for upstream in started.values():
            upstream.wait_until_ready()
        yield started


def gateway_config(config_dir: Path, running: dict[str, Restartable]) -> Path:
    spec = str(ROBUSTNESS_SPEC)

    def url(name: str, path: str = "") -> str:
        return f"http://{LOOPBACK}:{running[name].port}{path}"

    servers = {
        "api": {"openapi": {"spec": spec, "baseUrl": url("api")}},
        "child": stdio_server_entry(),
        "remote": {"url": url("remote", "/mcp")},
        "flaky-api": {"openapi": {"spec": spec, "baseUrl": url("flaky-api"), "timeout": FLAKY_API_TIMEOUT}},
        "flaky-child": stdio_server_entry(timeout=20),
        "flaky-remote": {"url": url("flaky-remote", "/mcp"), "timeout": 20},
    }
    return write_config(config_dir, servers)


def plan_call(sequence: int) -> tuple[str, str, dict[str, Any]]:
    """(kind, tool, arguments) of call number `sequence`: kind is healthy, bad-arguments or flaky."""
    slot = sequence % 100
    if slot < 80:
        return [
            ("healthy", "api-getItem", {"item_id": f"item-{sequence}", "limit": sequence % 50, "color": "red"}),
            ("healthy", "child-echo", {"text": f"call {sequence}"}),
            ("healthy", "remote-echo", {"text": f"call {sequence}"}),
        ][sequence % 3]
    if slot < 82:
        return "bad-arguments", "api-getItem", {"item_id": {"x": [1, 2]}, "limit": "abc"}
    if slot < 90:
        return "flaky", "flaky-api-getItem", {"item_id": f"item-{sequence}"}
    if slot == 90:
        return "flaky", "flaky-api-getStatus", {"code": 500}
    if slot < 95:
        return "flaky", "flaky-child-echo", {"text": f"call {sequence}"}
    if slot < 99:
        return "flaky", "flaky-remote-echo", {"text": f"call {sequence}"}
    special = (sequence // 100) % 10
    if special == 0:
        return "flaky", "flaky-api-slowEcho", {"seconds": FLAKY_API_TIMEOUT + 1}
    if special == 1:
        return "flaky", "flaky-api-getBig", {"mb": 25}
    if special == 2:
        # Under the 1 MB the official client accepts in one server-sent event (its max_sse_event_size).
        return "flaky", "flaky-api-getBig", {"mb": 0.5}
    return "flaky", "flaky-api-getItem", {"item_id": f"item-{sequence}"}


def cause_of(text: str) -> str | None:
    for marker, cause in KNOWN_FAULTS.items():
        if marker in text:
            return cause
    return None


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


class Calls:
    """The shared budget of calls, and the record of their outcomes."""

    def __init__(self, total: int, deadline: float, report: Report) -> None:
        self.total, self.deadline, self.report = total, deadline, report
        self.handed_out = 0
        self.warmed_up = anyio.Event()
        self.progress = total >= 10_000

    def take(self) -> int | None:
        if self.handed_out >= self.total or time.monotonic() > self.deadline:
            return None
        self.handed_out += 1
        if self.progress and self.handed_out % (self.total // 10 or 1) == 0:
            print(f"  {self.handed_out} calls handed out", file=sys.stderr, flush=True)
        if self.handed_out >= self.total * WARM_UP_FRACTION:
            self.warmed_up.set()
        return self.handed_out

    def record(self, kind: str, result: types.CallToolResult | BaseException, latency: float) -> None:
        report = self.report
        report.calls += 1
        if isinstance(result, BaseException):
            text, is_error = f"{type(result).__name__}: {result}"[:160], True
        else:
            text, is_error = text_of(result), bool(result.is_error)
        if kind == "healthy":
            report.healthy_calls += 1
            report.healthy_latencies.append(latency)
            if is_error:
                report.healthy_failures[text[:160]] += 1
        elif kind == "bad-arguments":
            if is_error and text.startswith("invalid arguments for tool"):
                report.bad_arguments_rejected += 1
            else:
                report.bad_arguments_accepted += 1
        else:
            report.flaky_calls += 1
            if not is_error:
                report.flaky_ok += 1
            elif isinstance(result, BaseException) or (cause := cause_of(text)) is None:
                report.unclear_failures[text[:160]] += 1
            else:
                report.flaky_errors[cause] += 1


async def worker(mcp_url: str, index: int, calls: Calls) -> None:
    mode = "legacy" if index % 2 else "auto"
    while True:
        # A client broken by a protocol-level failure is replaced; its failed call was recorded.
        try:
            async with Client(mcp_url, mode=mode, read_timeout_seconds=CALL_TIMEOUT_SECONDS) as client:
                while (sequence := calls.take()) is not None:
                    kind, tool, arguments = plan_call(sequence)
                    started = time.perf_counter()
                    try:
                        with anyio.fail_after(CALL_TIMEOUT_SECONDS):
                            outcome: types.CallToolResult | BaseException = await client.call_tool(tool, arguments)
                    except Exception as error:
                        calls.record(kind, error, time.perf_counter() - started)
                        raise
                    calls.record(kind, outcome, time.perf_counter() - started)
                return
        except Exception:
            await anyio.sleep(0.1)


async def inject_faults(running: dict[str, Restartable], mcp_url: str, interval: float, report: Report) -> None:
    """Each kind of fault in its own task, every `interval` seconds, until cancelled (a restart that takes a few
    seconds delays only the next fault of its own kind)."""

    # Each fault counts once its kill is done: a restart still running when the soak ends was a fault all the same.
    async def kill_flaky_api() -> None:
        running["flaky-api"].kill()
        report.faults_injected["kill flaky-api"] += 1
        await anyio.sleep(min(1.0, interval / 2))
        await anyio.to_thread.run_sync(running["flaky-api"].start)

    async def restart_flaky_remote() -> None:
        running["flaky-remote"].kill()
        report.faults_injected["kill flaky-remote"] += 1
        await anyio.to_thread.run_sync(running["flaky-remote"].restart)

    async def kill_flaky_child(client: Client) -> None:
        identity = await client.call_tool("flaky-child-whoami", {})
        if not isinstance(identity.structured_content, dict):
            raise LookupError("the child is down already")  # a reconnect is pending: nothing to kill
        os.kill(identity.structured_content["pid"], signal.SIGKILL)
        report.faults_injected["kill flaky-child"] += 1

    async def repeat(kind: str, fault: Callable[[], Awaitable[None]]) -> None:
        while True:
            await anyio.sleep(interval)
            try:
                await fault()
            except Exception as error:  # the soak goes on; the report says what could not be injected
                report.faults_injected[f"{kind} failed: {type(error).__name__}"] += 1

    async with Client(mcp_url) as client, anyio.create_task_group() as faults:
        faults.start_soon(repeat, "kill flaky-api", kill_flaky_api)
        faults.start_soon(repeat, "kill flaky-child", partial(kill_flaky_child, client))
        faults.start_soon(repeat, "kill flaky-remote", restart_flaky_remote)


def malformed_requests(base_url: str) -> list[tuple[str, str, dict[str, str], bytes]]:
    mcp = f"{base_url}/mcp"
    json_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    deep = ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()
    return [
        ("POST", mcp, json_headers, b"{not json"),
        ("POST", mcp, {**json_headers, "Content-Type": "text/plain"}, b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
        ("POST", mcp, {**json_headers, "Mcp-Session-Id": "no-such-session", "MCP-Protocol-Version": "2025-06-18"},
         b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
        ("POST", mcp, json_headers, b'{"jsonrpc":"2.0","id":1,"method":"no/such/method"}'),
        ("POST", mcp, json_headers, b"[" + b",".join([b'{"x":1}'] * 500) + b"]"),
        ("POST", mcp, {**json_headers, "Host": "evil.example"}, b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
        ("POST", f"{base_url}/mcp/no-such-server", json_headers, b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
        ("POST", f"{base_url}/openapi/preview", {}, deep),
        ("POST", f"{base_url}/openapi/preview", {}, b"openapi: 4.0.0\npaths: [1, 2]\n"),
        ("GET", f"{base_url}/tools?provider=no-such-provider", {}, b""),
        ("GET", f"{base_url}/tools?server=no-such-server", {}, b""),
        ("DELETE", mcp, {"Mcp-Session-Id": "x" * 5000}, b""),
    ]


async def send_malformed(base_url: str, report: Report) -> None:
    requests = malformed_requests(base_url)
    async with httpx.AsyncClient(timeout=CALL_TIMEOUT_SECONDS) as client:
        index = 0
        while True:
            method, url, headers, body = requests[index % len(requests)]
            index += 1
            try:
                response = await client.request(method, url, headers=headers, content=body)
                report.malformed_statuses[response.status_code] += 1
            except httpx.HTTPError:
                report.malformed_statuses[0] += 1
            report.malformed_sent += 1
            await anyio.sleep(0.05)


async def soak(mcp_url: str, base_url: str, gateway_pid: int, running: dict[str, Restartable],
               arguments: argparse.Namespace) -> Report:
    report = Report()
    calls = Calls(arguments.calls, time.monotonic() + arguments.max_seconds, report)
    started = time.perf_counter()
    async with anyio.create_task_group() as background:
        background.start_soon(inject_faults, running, mcp_url, arguments.fault_interval, report)
        background.start_soon(send_malformed, base_url, report)

        async def sample_rss_after_warm_up() -> None:
            await calls.warmed_up.wait()
            report.rss_after_warm_up_mb = rss_mb(gateway_pid)

        background.start_soon(sample_rss_after_warm_up)
        async with anyio.create_task_group() as workers:
            for index in range(arguments.concurrency):
                workers.start_soon(worker, mcp_url, index, calls)
        background.cancel_scope.cancel()
    report.seconds = time.perf_counter() - started
    await anyio.sleep(2)  # let the gateway finish what the last calls left behind before measuring
    report.rss_at_end_mb = rss_mb(gateway_pid)
    return report


def format_report(report: Report, arguments: argparse.Namespace) -> str:
    data = report.as_json()
    rate = report.calls / report.seconds if report.seconds else 0.0
    growth = report.rss_growth()
    lines = [
        f"soak: {report.calls} calls at concurrency {arguments.concurrency} in {data['seconds']} s "
        f"({rate:.0f} calls/s)",
        f"healthy servers: {report.healthy_calls} calls, {sum(report.healthy_failures.values())} failed; "
        f"p50 {data['p50_ms']} ms, p99 {data['p99_ms']} ms",
        f"flaky servers: {report.flaky_calls} calls, {report.flaky_ok} ok, isError by cause: {data['flaky_errors']}",
        f"failures without a clear isError result: {sum(report.unclear_failures.values())}",
        f"bad arguments: {report.bad_arguments_rejected} rejected before any upstream, "
        f"{report.bad_arguments_accepted} accepted",
        f"malformed requests: {report.malformed_sent} sent, answered {data['malformed_statuses']}",
        f"faults injected: {data['faults_injected']}",
        f"gateway log: {report.tracebacks} tracebacks, {report.error_log_lines} ERROR lines",
        f"gateway RSS: {report.rss_after_warm_up_mb} MB after warm-up, {report.rss_at_end_mb} MB at the end"
        + (f" ({growth:+.0%})" if growth is not None else ""),
    ]
    for text, count in list(report.healthy_failures.items())[:5]:
        lines.append(f"  healthy failure x{count}: {text}")
    for text, count in list(report.unclear_failures.items())[:5]:
        lines.append(f"  unclear failure x{count}: {text}")
    missed = report.verdict()
    lines.append("target met" if not missed else "target missed: " + "; ".join(missed))
    return "\n".join(lines)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000, help="calls in total (default 100000)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent MCP clients (default 64)")
    parser.add_argument("--fault-interval", type=float, default=5.0, help="seconds between faults (default 5)")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="stop handing out calls after this")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--keep-logs", type=Path, help="copy every process's log into this directory at the end")
    arguments = parser.parse_args(argv)
    if arguments.calls < 1 or arguments.concurrency < 1 or arguments.fault_interval <= 0:
        parser.error("--calls, --concurrency and --fault-interval must be positive")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    # SIGTERM would end this process without unwinding, orphaning the processes it started; as an interrupt it
    # runs the `finally` blocks that stop them, like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="gateway-soak-") as scratch:
        log_dir = Path(scratch)
        with upstreams(log_dir) as running:
            config_path = gateway_config(log_dir, running)
            extra_args = ["--retry-interval", "1"]
            with running_gateway(config_path, log_dir, extra_args=extra_args) as gateway:
                pid = gateway.process.popen.pid
                if not arguments.json:
                    print(f"gateway at {gateway.base_url}; {arguments.calls} calls at concurrency "
                          f"{arguments.concurrency}, a fault every {arguments.fault_interval:g} s", flush=True)
                report = anyio.run(soak, gateway.mcp_url, gateway.base_url, pid, running, arguments)
                log = gateway.log()
            if arguments.keep_logs is not None:
                shutil.copytree(log_dir, arguments.keep_logs, dirs_exist_ok=True)
        report.tracebacks = log.count("Traceback (most recent call last)")
        report.error_log_lines = sum(1 for line in log.splitlines() if " ERROR " in line)
    print(json.dumps(report.as_json(), indent=2) if arguments.json else format_report(report, arguments), flush=True)
    return 0 if not report.verdict() else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted (every process this soak started was stopped)")
