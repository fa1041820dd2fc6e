"""What the LLM front door adds per model round: POST /v1/chat/completions (or /v1/responses, /v1/messages) through
a real gateway, next to a client doing the same loop by hand against the same provider stand-in and upstream.

    .venv/bin/python benchmarks/chat_rounds.py [--requests 200] [--warmup 20] [--protocol openai|anthropic|gemini]
                                               [--endpoint chat|responses|messages]

Starts the echo API (tests/e2e/upstream_api.py), the provider stand-ins (tests/e2e/fake_providers.py) and
`python -m mcp_gateway serve` as real processes on free loopback ports. Every request is one task of two rounds:
the scripted model calls `getItem` of the echo API's OpenAPI tools, then answers with text. Per mode (JSON and
streaming):

- gateway: the request to the gateway, with an `mcp` tool (chat, responses) or an MCP connector server (messages)
  pointing at the echo server; the gateway calls the stand-in, runs the tool (a real HTTP request to the echo API),
  and calls the stand-in again. A Responses request is stored (the default), so it also writes the SQLite store;
  an `openai` provider is asked through its Responses API, as the gateway does;
- direct: the same two stand-in requests (the exact bodies the gateway sent, captured from a warm-up) and the same
  echo API request, sent one after the other by this process over pooled connections: the floor.

Samples of the two alternate so drift hits both. It prints medians and p95 of each, the gateway's added latency
per request and per round (the difference of the medians, halved; and the median of the paired differences, halved),
and the gateway process's CPU per round (Linux /proc). The load generator shares the machine's cores with the three
servers; figures are for this machine only, and for its load at the time (see `uptime`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from mcp_gateway.http import httpx  # noqa: E402
from tests.e2e.gateway_process import (  # noqa: E402
    UPSTREAM_API_SPEC,
    running_gateway,
    running_upstream_api,
    write_config,
)
from tests.e2e.provider_standin import ProviderStandIn, running_provider_stand_in  # noqa: E402

ROUNDS_PER_REQUEST = 2
CALL_TURN = {"calls": [{"tool": "getItem", "arguments": {"item_id": "bench", "limit": 1}}]}
TEXT_TURN = {"text": "The item exists."}


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def read_all(response: httpx.Response) -> None:
    async for _ in response.aiter_bytes():
        pass


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def run(args: argparse.Namespace, log_dir: Path) -> None:
    with running_upstream_api(log_dir) as echo, running_provider_stand_in(log_dir) as stand_in:
        providers = {args.protocol: {"baseUrl": stand_in.provider_url(args.protocol), "apiKey": "bench"}}
        servers = {"echo": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": echo.base_url}}}
        config = write_config(log_dir, servers, models={"providers": providers})
        store = ["--responses-db", str(log_dir / "responses.sqlite3")]
        with running_gateway(config, log_dir, extra_args=store) as gateway:
            async with httpx.AsyncClient(timeout=60) as http:
                for stream in (False, True):
                    await measure(args, http, gateway.base_url, gateway.process.popen.pid, stand_in, echo.base_url,
                                  stream)


async def measure(args: argparse.Namespace, http: httpx.AsyncClient, gateway_url: str, gateway_pid: int,
                  stand_in: ProviderStandIn, echo_url: str, stream: bool) -> None:
    total = args.warmup + args.requests
    turns = [CALL_TURN, TEXT_TURN] * total
    gateway_model = stand_in.script(turns)
    direct_model = stand_in.script(turns)
    path, request = DOORS[args.endpoint](f"{args.protocol}/{gateway_model}", stream)

    async def through_gateway() -> None:
        async with http.stream("POST", f"{gateway_url}{path}", json=request) as response:
            await read_all(response)
            assert response.status_code == 200, response.status_code

    await through_gateway()
    sent = stand_in.received(gateway_model)
    bodies = [_for_model(entry["body"], direct_model) for entry in sent[:ROUNDS_PER_REQUEST]]
    paths = [entry["path"] + (f"?{entry['query']}" if entry["query"] else "") for entry in sent]
    headers = {"authorization": "Bearer bench", "x-api-key": "bench", "x-goog-api-key": "bench",
               "anthropic-version": "2023-06-01"}

    async def direct() -> None:
        for round_number, body in enumerate(bodies):
            url = stand_in.base_url + paths[round_number].replace(gateway_model, direct_model)
            async with http.stream("POST", url, json=body, headers=headers) as response:
                await read_all(response)
            if round_number == 0:
                await read_all(await http.get(f"{echo_url}/items/bench", params={"limit": 1}))

    await direct()
    for _ in range(args.warmup - 1):
        await through_gateway()
        await direct()
    gateway_ms: list[float] = []
    direct_ms: list[float] = []
    cpu_gateway = 0.0
    for _ in range(args.requests):
        before = cpu_seconds(gateway_pid)
        gateway_ms.append(await timed(through_gateway))
        after = cpu_seconds(gateway_pid)
        if before is not None and after is not None:
            cpu_gateway += after - before
        direct_ms.append(await timed(direct))
    added = statistics.median(gateway_ms) - statistics.median(direct_ms)
    # Each gateway sample is paired with the direct sample taken right after it, so load that comes and goes hits
    # both; the median of the pairs' differences is the steadier figure on a shared machine.
    paired = statistics.median(gateway - floor for gateway, floor in zip(gateway_ms, direct_ms, strict=True))
    rounds = args.requests * ROUNDS_PER_REQUEST
    print(f"{args.endpoint} {args.protocol} {'stream' if stream else 'json  '}  requests={args.requests}  "
          f"gateway p50={statistics.median(gateway_ms):.2f} ms p95={percentile(gateway_ms, 0.95):.2f} ms  "
          f"direct p50={statistics.median(direct_ms):.2f} ms p95={percentile(direct_ms, 0.95):.2f} ms  "
          f"added/request={added:.2f} ms  added/round={added / ROUNDS_PER_REQUEST:.2f} ms "
          f"(paired median {paired / ROUNDS_PER_REQUEST:.2f} ms)  "
          f"gateway CPU/round={1000 * cpu_gateway / rounds:.2f} ms")


def chat_request(model: str, stream: bool) -> tuple[str, dict[str, Any]]:
    return "/v1/chat/completions", {
        "model": model,
        "messages": [{"role": "user", "content": "Does item bench exist?"}],
        "tools": [{"type": "mcp", "server_label": "echo", "server_url": "mcp_gateway/mcp/echo",
                   "allowed_tools": ["getItem"], "require_approval": "never"}],
        "stream": stream,
    }


def responses_request(model: str, stream: bool) -> tuple[str, dict[str, Any]]:
    return "/v1/responses", {
        "model": model,
        "input": "Does item bench exist?",
        "tools": [{"type": "mcp", "server_label": "echo", "server_url": "mcp_gateway/mcp/echo",
                   "allowed_tools": ["getItem"], "require_approval": "never"}],
        "stream": stream,
    }


def messages_request(model: str, stream: bool) -> tuple[str, dict[str, Any]]:
    return "/v1/messages", {
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Does item bench exist?"}],
        "mcp_servers": [{"type": "url", "url": "mcp_gateway/mcp/echo", "name": "echo",
                         "tool_configuration": {"allowed_tools": ["getItem"]}}],
        "stream": stream,
    }


DOORS: dict[str, Callable[[str, bool], tuple[str, dict[str, Any]]]] = {
    "chat": chat_request, "responses": responses_request, "messages": messages_request,
}


def _for_model(body: dict[str, Any], model: str) -> dict[str, Any]:
    return {**body, "model": model} if "model" in body else body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--protocol", choices=["openai", "anthropic", "gemini"], default="openai")
    parser.add_argument("--endpoint", choices=sorted(DOORS), default="chat")
    args = parser.parse_args()
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"chat-bench-{uuid.uuid4().hex[:8]}"
    log_dir.mkdir(parents=True)
    anyio.run(run, args, log_dir)


if __name__ == "__main__":
    main()
