"""Tool calls per second through HAProxy (the shipped deploy/haproxy.cfg) to one gateway replica and to two.

    .venv/bin/python benchmarks/replica_throughput.py [--calls 600] [--concurrency 16] [--repetitions 3]

Starts the echo API (tests/e2e/upstream_api.py), a redis-server, two gateways sharing it (`--redis-url`) and two
HAProxy instances with the shipped config: one whose two servers are both the first gateway, one spread over
both gateways. Each repetition runs the same budget of modern-era calls (official `mcp.Client`, protocol
2026-07-28, `echo-getItem`, one real HTTP request to the echo API per call) through each balancer in turn, and
through the first gateway directly as the baseline; it prints each run and the median calls/s with the ratio
two replicas / one replica, all measured in the same run.

Every process shares this machine's cores: on a 2-core machine the second replica has no core of its own, so the
ratio shows what the balancer and the shared state cost rather than what a second machine would add.
Needs redis-server and haproxy (Debian packages; `make services`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from mcp import Client  # noqa: E402

from tests.e2e.gateway_process import UPSTREAM_API_SPEC, running_upstream_api, write_config  # noqa: E402
from tests.e2e.redis_server import running_redis  # noqa: E402
from tests.e2e.replica_cluster import running_gateways, running_haproxy, wait_until_balanced  # noqa: E402


async def calls_per_second(url: str, calls: int, concurrency: int) -> float:
    remaining = calls
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(url, mode="2026-07-28")) for _ in range(concurrency)]

        async def worker(client: Client) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                result = await client.call_tool("echo-getItem", {"item_id": "bench", "limit": 3})
                if result.is_error:
                    raise RuntimeError(f"a call failed: {result.content}")

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for client in clients:
                group.start_soon(worker, client)
        return calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        log_dir = Path(scratch)
        api = stack.enter_context(running_upstream_api(log_dir))
        config = write_config(log_dir, {"echo": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": api.base_url}}})
        redis_url = stack.enter_context(running_redis(log_dir))
        shared = ["--redis-url", redis_url]
        gateways = stack.enter_context(running_gateways(config, log_dir, [shared, shared]))
        first, second = (gateway.base_url.removeprefix("http://") for gateway in gateways)
        one_url, _ = stack.enter_context(running_haproxy([first, first], log_dir))
        two_url, _ = stack.enter_context(running_haproxy([first, second], log_dir))
        wait_until_balanced(two_url, gateways)
        wait_until_balanced(one_url, gateways[:1])
        targets = {"direct, 1 replica": gateways[0].mcp_url, "haproxy, 1 replica": f"{one_url}/mcp",
                   "haproxy, 2 replicas": f"{two_url}/mcp"}
        results: dict[str, list[float]] = {name: [] for name in targets}
        anyio.run(calls_per_second, targets["haproxy, 2 replicas"], 50, args.concurrency)  # warm-up
        for repetition in range(1, args.repetitions + 1):
            for name, url in targets.items():
                rate = anyio.run(calls_per_second, url, args.calls, args.concurrency)
                results[name].append(rate)
                print(f"run {repetition}: {name:<20} {rate:8.1f} calls/s", flush=True)
        medians = {name: statistics.median(rates) for name, rates in results.items()}
        print(f"\n{args.calls} calls at concurrency {args.concurrency}, median of {args.repetitions}:")
        for name, median in medians.items():
            print(f"  {name:<20} {median:8.1f} calls/s")
        print(f"  two replicas / one replica (both through haproxy): "
              f"{medians['haproxy, 2 replicas'] / medians['haproxy, 1 replica']:.2f}")


if __name__ == "__main__":
    main()
