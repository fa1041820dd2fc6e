"""A complete paginated `tools/list` of a big registry, through the real endpoint, with the SDK client and raw HTTP.

    .venv/bin/python benchmarks/tools_list.py [--spec specs/github-api.json] [--repeat 20] [--era legacy|modern]
                                              [--baseline-repo PATH]

Starts `python -m mcp_gateway serve` as a real process on a free loopback port with a temporary servers.json
holding one OpenAPI server (`--spec`, default the GitHub spec: 1,223 tools; `../shared/specs/msgraph-v1.0.openapi.json`
is Microsoft Graph: 11,422 operations). The server's base URL is a closed loopback port: the tools are only
listed, never called. Then, `--repeat` times each, one complete listing (every page, following `nextCursor`):

- sdk: the official `mcp.Client` on /mcp, its response cache off, in the given protocol era;
- raw: httpx posting JSON-RPC `tools/list` requests (on one handshake-era session, or self-contained modern-era
  POSTs with `--era modern`) and reading the raw bodies (JSON or one SSE event), so the client library's own
  parsing is not part of the time;
- wire: the same, the pages received but not parsed (the cursor is read from the body's start or end): the time
  the gateway and the loopback wire take, without the client's `json.loads`.

Each gateway is listed once of each kind first, untimed (the first listing after a change is shaped by the SDK).
Printed per client: tools, pages, p50 / min / max of a complete listing, and (raw) the bytes on the wire and the
gateway's CPU per listing (median; session opening included; Linux /proc), which a busy machine inflates less than
wall time; and what `json.loads` of the listed tools alone costs a Python client. With `--baseline-repo` (another
checkout, e.g. `git archive main | tar -x -C /tmp/base`) a second gateway runs that code on the same config, the
two are measured in turns, and the ratios baseline/this are printed.
Last, a check of what was listed: every `$ref` in every tool must resolve within that same tool's `$defs`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from mcp import Client  # noqa: E402

from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import Gateway, running_gateway, write_config  # noqa: E402

UNREACHABLE_BASE_URL = "http://127.0.0.1:9"
TIMEOUT_SECONDS = 300.0
_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_PROTOCOL = "2025-06-18"
_MODERN = "2026-07-28"


async def sdk_listing(url: str, era: str) -> tuple[int, int, float, list[dict[str, Any]]]:
    """(tools, pages, seconds) of one complete listing by the SDK client, and the tools as dicts."""
    mode = "legacy" if era == "legacy" else "2026-07-28"
    async with Client(url, mode=mode, read_timeout_seconds=TIMEOUT_SECONDS, cache=None) as client:
        started = time.perf_counter()
        tools: list[Any] = []
        pages = 0
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        elapsed = time.perf_counter() - started
    dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    return len(tools), pages, elapsed, dumped


def _result_of(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if "id" in message:
                    return dict(message["result"])
        raise RuntimeError("no result in the event stream")
    return dict(response.json()["result"])


_CURSOR_AT_START = re.compile(
    rb'^(?:event: message\r?\ndata: )?\{"jsonrpc":"2\.0","id":\d+,"result":\{'
    rb'(?:"[A-Za-z]+":"[^"]*",)*"nextCursor":"([^"]+)"'  # after a modern answer's cacheScope, if any
)
_CURSOR_AT_END = re.compile(rb',"nextCursor":"([^"]+)"\}\}\s*$')


def _cursor_unparsed(body: bytes) -> str | None:
    """The result's `nextCursor` without parsing the page: the gateway writes it first or last in the result."""
    found = _CURSOR_AT_START.search(body[:300]) or _CURSOR_AT_END.search(body[-300:])
    return found.group(1).decode() if found else None


def raw_listing(url: str, *, parse: bool = True, era: str = "legacy") -> tuple[int, int, float, int]:
    """(tools, pages, seconds, bytes) of one complete listing over raw HTTP: on one handshake-era session, or
    (era "modern") as self-contained modern-era POSTs. Without `parse` the pages are only received, not parsed
    (tools is then 0): the time of the gateway and the wire."""
    with httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        base_params: dict[str, Any] = {}
        if era == "modern":
            headers = {**_HEADERS, "Mcp-Protocol-Version": _MODERN, "Mcp-Method": "tools/list"}
            base_params = {"_meta": {"io.modelcontextprotocol/protocolVersion": _MODERN,
                                     "io.modelcontextprotocol/clientCapabilities": {},
                                     "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"}}}
        else:
            initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": _PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
            opened = http.post(url, json=initialize, headers=_HEADERS)
            opened.raise_for_status()
            headers = {**_HEADERS, "Mcp-Session-Id": opened.headers["mcp-session-id"],
                       "Mcp-Protocol-Version": _PROTOCOL}
            http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        started = time.perf_counter()
        tools = pages = size = 0
        cursor: str | None = None
        while True:
            params = {**base_params, **({"cursor": cursor} if cursor else {})}
            response = http.post(url, json={"jsonrpc": "2.0", "id": pages + 1, "method": "tools/list",
                                            "params": params}, headers=headers)
            response.raise_for_status()
            size += len(response.content)
            pages += 1
            if parse:
                result = _result_of(response)
                tools += len(result["tools"])
                cursor = result.get("nextCursor")
            else:
                cursor = _cursor_unparsed(response.content)
            if not cursor:
                break
        elapsed = time.perf_counter() - started
        if era != "modern":
            http.delete(url, headers=headers)
    return tools, pages, elapsed, size


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def unresolved_refs(tools: list[dict[str, Any]]) -> list[str]:
    """`tool: $ref` for every reference that does not point at an entry of the tool's own `$defs`."""
    problems = []
    for tool in tools:
        schema = tool["inputSchema"]
        definitions = schema.get("$defs", {})
        for ref in _refs(schema):
            if not (ref.startswith("#/$defs/") and ref[len("#/$defs/"):].replace("~1", "/").replace("~0", "~")
                    in definitions):
                problems.append(f"{tool['name']}: {ref}")
    return problems


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux /proc), or None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), None)


def _summary(label: str, seconds: list[float], extra: str = "") -> str:
    return (f"{label:5} p50 {statistics.median(seconds) * 1000:9.1f} ms   min {min(seconds) * 1000:9.1f}   "
            f"max {max(seconds) * 1000:9.1f}{extra}")


@dataclass
class Target:
    """One gateway under measurement and what was measured of it."""

    label: str
    gateway: Gateway
    sdk_seconds: list[float] = field(default_factory=list)
    raw_seconds: list[float] = field(default_factory=list)
    raw_cpu: list[float] = field(default_factory=list)
    wire_seconds: list[float] = field(default_factory=list)
    tools: int = 0
    sdk_pages: int = 0
    raw_pages: int = 0
    size: int = 0
    listed: list[dict[str, Any]] = field(default_factory=list)
    rss_mb: float | None = None
    """The gateway's, after its last measured listing (it has stopped by the time of the report)."""

    def warm_up(self, era: str) -> None:
        """One untimed listing of each kind: the first listing after a change is shaped by the SDK, page by page;
        what is measured is the listing a client gets after that."""
        anyio.run(sdk_listing, self.gateway.mcp_url, era)
        raw_listing(self.gateway.mcp_url, era=era)

    def measure_once(self, era: str) -> None:
        self.tools, self.sdk_pages, elapsed, self.listed = anyio.run(sdk_listing, self.gateway.mcp_url, era)
        self.sdk_seconds.append(elapsed)
        pid = self.gateway.process.popen.pid
        cpu_before = _cpu_seconds(pid)
        raw_tools, self.raw_pages, raw_elapsed, self.size = raw_listing(self.gateway.mcp_url, era=era)
        cpu_after = _cpu_seconds(pid)
        if cpu_before is not None and cpu_after is not None:
            self.raw_cpu.append(cpu_after - cpu_before)
        assert raw_tools == self.tools, (raw_tools, self.tools)
        self.raw_seconds.append(raw_elapsed)
        _, wire_pages, wire_elapsed, _ = raw_listing(self.gateway.mcp_url, parse=False, era=era)
        assert wire_pages == self.raw_pages, (wire_pages, self.raw_pages)
        self.wire_seconds.append(wire_elapsed)
        self.rss_mb = _rss_mb(pid)

    def report(self) -> None:
        print(f"[{self.label}]")
        print(_summary("sdk", self.sdk_seconds, f"   pages {self.sdk_pages}"))
        cpu = f"gateway CPU {self.cpu_per_listing() * 1000:.0f} ms per listing (median)" if self.raw_cpu else ""
        print(_summary("raw", self.raw_seconds, f"   pages {self.raw_pages}   bytes {self.size:,}   {cpu}"))
        print(_summary("wire", self.wire_seconds, "   (raw, pages received but not parsed)"))
        if self.rss_mb is not None:
            print(f"gateway RSS after the listings: {self.rss_mb:.0f} MB")
        problems = unresolved_refs(self.listed)
        print(f"client parse only: json.loads of the raw bodies {self.client_parse_ms():.0f} ms per listing")
        print(f"$ref check: {len(problems)} unresolved" + (f", e.g. {problems[:3]}" if problems else ""))

    def cpu_per_listing(self) -> float:
        return statistics.median(self.raw_cpu)

    def client_parse_ms(self) -> float:
        """What parsing a listing's JSON costs a Python client by itself (no HTTP, no models)."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": self.listed}}, separators=(",", ":"))
        started = time.perf_counter()
        json.loads(body)
        return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, default=REPO_ROOT / "specs" / "github-api.json")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--era", choices=("legacy", "modern"), default="legacy")
    parser.add_argument("--baseline-repo", type=Path, help="a checkout whose gateway is measured too (e.g. main)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tools-list-bench-"))
    try:
        config = write_config(work, {"api": {"openapi": {"spec": str(args.spec.resolve()),
                                                         "baseUrl": UNREACHABLE_BASE_URL}}})
        env = {"MCP_GATEWAY_CACHE_DIR": str(work / "cache"), "MCP_GATEWAY_LOG_LEVEL": "WARNING"}
        with contextlib.ExitStack() as stack:
            targets = [Target("this checkout", stack.enter_context(running_gateway(config, work, env=env)))]
            if args.baseline_repo is not None:
                # Only the baseline's code on the path (not this checkout's working directory).
                baseline_env = {**env, "MCP_GATEWAY_CACHE_DIR": str(work / "baseline-cache"), "PYTHONSAFEPATH": "1",
                                "PYTHONPATH": str(args.baseline_repo.resolve())}
                gateway = stack.enter_context(running_gateway(config, work, env=baseline_env))
                targets.append(Target(f"baseline {args.baseline_repo}", gateway))
            for target in targets:
                target.warm_up(args.era)
            for _ in range(args.repeat):
                for target in targets:  # in turns, so both see the same load on a shared machine
                    target.measure_once(args.era)
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"spec: {args.spec}   tools: {targets[0].tools}   repetitions: {args.repeat}   era: {args.era}   "
              f"load average: {load}")
        for target in targets:
            target.report()
        if len(targets) == 2:
            this, baseline = targets
            for client in ("sdk", "raw", "wire"):
                ours = statistics.median(getattr(this, f"{client}_seconds"))
                theirs = statistics.median(getattr(baseline, f"{client}_seconds"))
                print(f"{client} p50 baseline / this: {theirs / ours:.2f}x")
            if this.raw_cpu and baseline.raw_cpu:
                ratio = baseline.cpu_per_listing() / max(this.cpu_per_listing(), 1e-9)
                print(f"gateway CPU per listing baseline / this: {ratio:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
