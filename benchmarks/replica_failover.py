"""What a replica going away costs the clients of each MCP protocol era, through the shipped HAProxy config.

    .venv/bin/python benchmarks/replica_failover.py [--clients 4] [--calls-before 60] [--calls-after 80]

For each way of stopping a replica, SIGTERM (what Kubernetes and compose send: the gateway drains) and SIGKILL
(a crash, an OOM kill): two gateways sharing a redis-server behind HAProxy with deploy/haproxy.cfg, `--clients`
modern-era and as many handshake-era official `mcp.Client`s calling tools in a loop (each call waits 0.2 s at
the upstream, so calls are in flight); after `--calls-before` calls the first replica is stopped, and the load
runs `--calls-after` calls more. Prints, per era, the calls that succeeded, the calls that failed (with the first
reasons) and how many times handshake-era clients had to start a new session (the 404 the MCP spec prescribes).

Needs redis-server and haproxy (Debian packages; `make services`).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.gateway_process import running_mcp_upstreams, running_upstream_api, write_config  # noqa: E402
from tests.e2e.replica_cluster import Cluster, running_cluster  # noqa: E402
from tests.e2e.replica_load import Load, handshake_client, modern_client, wait_for_calls  # noqa: E402

ROBUSTNESS_SPEC = REPO_ROOT / "tests" / "e2e" / "robustness_api.yaml"


async def stop_one_under_load(cluster: Cluster, how: signal.Signals, clients: int, before: int, after: int) -> Load:
    load, stop = Load(), anyio.Event()
    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(modern_client, cluster.mcp_url, load, stop)
            group.start_soon(handshake_client, cluster.mcp_url, load, stop)
        await wait_for_calls(load, before)
        cluster.replicas[0].process.popen.send_signal(how)
        await wait_for_calls(load, load.total() + after)
        stop.set()
    return load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="clients per era")
    parser.add_argument("--calls-before", type=int, default=60)
    parser.add_argument("--calls-after", type=int, default=80)
    args = parser.parse_args()
    for how in (signal.SIGTERM, signal.SIGKILL):
        with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
            log_dir = Path(scratch)
            api = stack.enter_context(running_upstream_api(log_dir))
            mcp = stack.enter_context(running_mcp_upstreams(["http"], log_dir))["http"]
            shutil.copy(ROBUSTNESS_SPEC, log_dir / "robustness_api.yaml")
            config = write_config(log_dir, {
                "api": {"openapi": {"spec": "robustness_api.yaml", "baseUrl": api.base_url}},
                "tools": {"url": mcp.url},
            })
            cluster = stack.enter_context(running_cluster(config, log_dir, replicas=[[], []]))
            load = anyio.run(stop_one_under_load, cluster, how, args.clients, args.calls_before, args.calls_after)
        failed = Counter(era for era, _ in load.failed)
        print(f"{how.name}: modern-era {load.succeeded['modern']} ok, {failed['modern']} failed; "
              f"handshake-era {load.succeeded['handshake']} ok, {failed['handshake']} failed, "
              f"{load.reinitialized} new sessions after a 404", flush=True)
        for era, reason in load.failed[:3]:
            print(f"    {era}: {reason[:150]}")


if __name__ == "__main__":
    main()
