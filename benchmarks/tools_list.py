"""A complete paginated `tools/list` of a big registry, through the real endpoint, with the SDK client and raw HTTP.

    .venv/bin/python benchmarks/tools_list.py [--spec specs/github-api.json] [--repeat 20] [--era legacy|modern]

Starts `python -m mcp_gateway serve` as a real process on a free loopback port with a temporary servers.json
holding one OpenAPI server (`--spec`, default the GitHub spec: 1,223 tools; `../shared/specs/msgraph-v1.0.openapi.json`
is Microsoft Graph: 11,422 operations). The server's base URL is a closed loopback port: the tools are only
listed, never called. Then, `--repeat` times each, one complete listing (every page, following `nextCursor`):

- sdk: the official `mcp.Client` on /mcp, its response cache off, in the given protocol era;
- raw: httpx posting JSON-RPC `tools/list` requests on one handshake-era session and reading the raw bodies
  (JSON or one SSE event), so the client library's own parsing is not part of the time.

Printed per client: tools, pages, p50 / min / max of a complete listing, and (raw) the bytes on the wire and the
gateway's CPU per listing (session opening included; Linux /proc), which a busy machine inflates less than wall
time. Last, a check of what was listed: every `$ref` in every tool must resolve within that same tool's `$defs`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from mcp import Client  # noqa: E402

from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import running_gateway, write_config  # noqa: E402

UNREACHABLE_BASE_URL = "http://127.0.0.1:9"
TIMEOUT_SECONDS = 300.0
_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_PROTOCOL = "2025-06-18"


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


def raw_listing(url: str) -> tuple[int, int, float, int]:
    """(tools, pages, seconds, bytes) of one complete listing over raw HTTP on one handshake-era session."""
    with httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": _PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
        opened = http.post(url, json=initialize, headers=_HEADERS)
        opened.raise_for_status()
        headers = {**_HEADERS, "Mcp-Session-Id": opened.headers["mcp-session-id"], "Mcp-Protocol-Version": _PROTOCOL}
        http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        started = time.perf_counter()
        tools = pages = size = 0
        cursor: str | None = None
        while True:
            params = {"cursor": cursor} if cursor else {}
            response = http.post(url, json={"jsonrpc": "2.0", "id": pages + 1, "method": "tools/list",
                                            "params": params}, headers=headers)
            response.raise_for_status()
            size += len(response.content)
            result = _result_of(response)
            tools += len(result["tools"])
            pages += 1
            cursor = result.get("nextCursor")
            if not cursor:
                break
        elapsed = time.perf_counter() - started
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


def _summary(label: str, seconds: list[float], extra: str = "") -> str:
    return (f"{label:5} p50 {statistics.median(seconds) * 1000:9.1f} ms   min {min(seconds) * 1000:9.1f}   "
            f"max {max(seconds) * 1000:9.1f}{extra}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, default=REPO_ROOT / "specs" / "github-api.json")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--era", choices=("legacy", "modern"), default="legacy")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tools-list-bench-"))
    try:
        config = write_config(work, {"api": {"openapi": {"spec": str(args.spec.resolve()),
                                                         "baseUrl": UNREACHABLE_BASE_URL}}})
        env = {"MCP_GATEWAY_CACHE_DIR": str(work / "cache"), "MCP_GATEWAY_LOG_LEVEL": "WARNING"}
        with running_gateway(config, work, env=env) as gateway:
            sdk_seconds: list[float] = []
            raw_seconds: list[float] = []
            listed: list[dict[str, Any]] = []
            sdk_pages = raw_pages = tools = size = 0
            pid = gateway.process.popen.pid
            raw_cpu = 0.0
            for _ in range(args.repeat):
                tools, sdk_pages, elapsed, listed = anyio.run(sdk_listing, gateway.mcp_url, args.era)
                sdk_seconds.append(elapsed)
                cpu_before = _cpu_seconds(pid)
                raw_tools, raw_pages, raw_elapsed, size = raw_listing(gateway.mcp_url)
                cpu_after = _cpu_seconds(pid)
                if cpu_before is not None and cpu_after is not None:
                    raw_cpu += cpu_after - cpu_before
                assert raw_tools == tools, (raw_tools, tools)
                raw_seconds.append(raw_elapsed)
        print(f"spec: {args.spec}   tools: {tools}   repetitions: {args.repeat}   era (sdk): {args.era}")
        print(_summary("sdk", sdk_seconds, f"   pages {sdk_pages}"))
        print(_summary("raw", raw_seconds, f"   pages {raw_pages}   bytes {size:,}   "
                                           f"gateway CPU {raw_cpu / args.repeat * 1000:.0f} ms per listing (mean)"))
        problems = unresolved_refs(listed)
        print(f"$ref check: {len(problems)} unresolved" + (f", e.g. {problems[:3]}" if problems else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
