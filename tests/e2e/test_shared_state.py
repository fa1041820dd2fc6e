"""What replicas share through a real Redis (`--redis-url`): one OAuth2 client-credentials fetch for every replica.
List-changed events across replicas are proven by test_replicas.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_gateway.http import httpx
from tests.e2e.auth_server import CLIENT_ID, CLIENT_SECRET, PROTECTED_API
from tests.e2e.gateway_process import (
    LOOPBACK,
    free_port,
    http_ready,
    result_text,
    start_process,
    stopping,
    write_config,
)
from tests.e2e.redis_server import running_redis
from tests.e2e.replica_cluster import running_gateways

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def redis_url(e2e_log_dir: Path) -> Iterator[str]:
    with running_redis(e2e_log_dir) as url:
        yield url


@pytest.fixture(scope="module")
def token_endpoint(e2e_log_dir: Path) -> Iterator[str]:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    args = [sys.executable, "-m", "tests.e2e.auth_server", "--port", str(port)]
    process = start_process(f"token-endpoint-shared-{port}", args, ready=http_ready(f"{base_url}/stats"),
                            log_dir=e2e_log_dir)
    with stopping(process):
        yield base_url


async def test_replicas_fetch_one_token_between_them(
    redis_url: str, token_endpoint: str, tmp_path: Path, e2e_log_dir: Path
) -> None:
    (tmp_path / "protected.json").write_text(json.dumps(PROTECTED_API))
    auth = {"type": "oauth2ClientCredentials", "tokenUrl": f"{token_endpoint}/token", "clientId": CLIENT_ID,
            "clientSecret": "${CLIENT_SECRET}", "scopes": ["replicas"]}
    config = write_config(tmp_path, {"protected": {"openapi": {
        "spec": "protected.json", "baseUrl": f"{token_endpoint}/protected", "auth": auth}}})
    redis = ["--redis-url", redis_url]
    with running_gateways(config, e2e_log_dir, [redis, redis], env={"CLIENT_SECRET": CLIENT_SECRET}) as replicas:
        first, second = replicas
        failures: list[str] = []

        async def calls(url: str, count: int) -> None:
            async with Client(url) as client, anyio.create_task_group() as group:
                for index in range(count):
                    async def one(index: int = index) -> None:
                        result = await client.call_tool("protected-getItem", {"id": str(index)})
                        if result.is_error:
                            failures.append(result_text(result))
                    group.start_soon(one)

        # Both replicas' first calls at once: they meet at the token endpoint unless the lock in Redis works.
        async with anyio.create_task_group() as group:
            group.start_soon(calls, first.mcp_url, 10)
            group.start_soon(calls, second.mcp_url, 10)
        logs = first.log() + second.log()
    assert failures == []
    assert httpx.get(f"{token_endpoint}/stats").json().get("scope:replicas") == 1
    assert CLIENT_SECRET not in logs
    for token in httpx.get(f"{token_endpoint}/issued").json()["tokens"]:
        assert token not in logs
