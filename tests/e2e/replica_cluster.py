"""Gateway replicas behind the shipped HAProxy config (deploy/haproxy.cfg) with a shared real Redis, as processes on
loopback: what the replica tests and the replica benchmark run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    LOOPBACK,
    REPO_ROOT,
    Gateway,
    ManagedProcess,
    free_port,
    gateway_command,
    http_ready,
    launch_process,
    port_ready,
    start_process,
    stopping,
)
from tests.e2e.metrics_scrape import scrape, value
from tests.e2e.redis_server import require, running_redis

HAPROXY_CONFIG = REPO_ROOT / "deploy" / "haproxy.cfg"
BACKEND_UP_TIMEOUT = 30.0


@dataclass
class Cluster:
    replicas: list[Gateway]
    base_url: str
    """Where clients connect: the load balancer, or the only gateway when there is none."""
    balancer: ManagedProcess | None
    redis_url: str | None

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@contextmanager
def running_haproxy(backends: Sequence[str], log_dir: Path) -> Iterator[tuple[str, ManagedProcess]]:
    """deploy/haproxy.cfg as shipped, its two servers pointed at `backends` (host:port; one may be given twice)."""
    program = require("haproxy")
    first, second = (backends[0], backends[-1])
    port = free_port()
    env = {"GATEWAY_1": first, "GATEWAY_2": second, "LB_BIND": f"{LOOPBACK}:{port}"}
    process = start_process(f"haproxy-{port}", [program, "-f", str(HAPROXY_CONFIG), "-db"], env=env,
                            ready=port_ready(port), log_dir=log_dir)
    with stopping(process):
        yield f"http://{LOOPBACK}:{port}", process


def wait_until_balanced(base_url: str, replicas: Sequence[Gateway]) -> None:
    """Until the balancer sends requests to every replica (its health checks have marked them all up).

    Counted by GET /servers, which only this sends (the balancer's checks ask /ready, the fixtures /health)."""
    deadline = time.monotonic() + BACKEND_UP_TIMEOUT
    while True:
        for _ in range(4):
            httpx.get(f"{base_url}/servers", timeout=10)
        served = [value(scrape(replica.base_url), "mcp_gateway_http_requests_total", endpoint="/servers",
                        status="200") for replica in replicas]
        if all(served):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the balancer did not use every replica within {BACKEND_UP_TIMEOUT}s: {served}")
        time.sleep(0.2)


@contextmanager
def running_gateways(
    config_path: Path, log_dir: Path, replicas: Sequence[Sequence[str]], env: Mapping[str, str] | None = None
) -> Iterator[list[Gateway]]:
    """Gateways on one config, launched together (each spends seconds importing) and stopped however it ends."""
    with ExitStack() as stack:
        launched = []
        for args in replicas:
            port = free_port()
            command = gateway_command("serve", "--config", str(config_path), "--host", LOOPBACK, "--port",
                                      str(port), *args)
            process = launch_process(f"replica-{port}", command, log_dir=log_dir, env=env)
            stack.callback(process.stop)
            launched.append(Gateway(f"http://{LOOPBACK}:{port}", config_path, process))
        for gateway in launched:
            gateway.process.wait_until_ready(http_ready(f"{gateway.base_url}/health"))
            gateway.wait_until_settled()
        yield launched


@contextmanager
def running_cluster(
    config_path: Path, log_dir: Path, *, replicas: Sequence[Sequence[str]], redis: bool = True,
    balancer: bool = True,
) -> Iterator[Cluster]:
    """One gateway per entry of `replicas` (its extra arguments) on one config; with `redis`, sharing a fresh
    redis-server; with `balancer`, behind HAProxy (both of its servers on the one gateway when there is one)."""
    with ExitStack() as stack:
        redis_url = stack.enter_context(running_redis(log_dir)) if redis else None
        shared = ["--redis-url", redis_url] if redis_url else []
        gateways = stack.enter_context(running_gateways(config_path, log_dir, [[*args, *shared] for args in replicas]))
        if not balancer:
            yield Cluster(gateways, gateways[0].base_url, None, redis_url)
            return
        backends = [gateway.base_url.removeprefix("http://") for gateway in gateways]
        base_url, process = stack.enter_context(running_haproxy(backends, log_dir))
        wait_until_balanced(base_url, gateways)
        yield Cluster(gateways, base_url, process, redis_url)
