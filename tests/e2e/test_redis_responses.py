"""The Redis response store (`--redis-url`) against a real redis-server: what one caller stores only that caller
reads or deletes, from any client of the same Redis; every response expires; a Redis that fails is a StoreError."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
import redis.asyncio as redis

from mcp_gateway.cluster.redis_connection import KEY_PREFIX, connect
from mcp_gateway.cluster.redis_responses import DEFAULT_TTL_SECONDS, RedisResponseStore
from mcp_gateway.cluster.state import SharedState
from mcp_gateway.llm.store import StoredResponse, StoreError
from tests.e2e.gateway_process import LOOPBACK, free_port
from tests.e2e.redis_server import running_redis

pytestmark = pytest.mark.anyio

ISSUER_OWNER = "user-1@https://issuer.example:8443/realms/a"
"""A token's principal: colons of its own, which a key must not confuse with its separators."""


@pytest.fixture(scope="module")
def redis_url(e2e_log_dir: Path) -> Iterator[str]:
    with running_redis(e2e_log_dir) as url:
        yield url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    connection = connect(redis_url)
    try:
        yield connection
    finally:
        await connection.aclose()


def _stored(response_id: str, owner: str = "alice") -> StoredResponse:
    return StoredResponse(response_id, owner, 1_700_000_000, {"id": response_id, "output": [{"type": "message"}]},
                          [{"role": "user", "content": "héllo"}, {"role": "assistant", "content": "hi"}])


async def test_another_client_of_the_same_redis_reads_what_one_stored(redis_url: str,
                                                                      client: redis.Redis) -> None:
    other = connect(redis_url)
    try:
        await RedisResponseStore(client).put(_stored("resp_shared", ISSUER_OWNER))
        assert await RedisResponseStore(other).get("resp_shared", ISSUER_OWNER) == _stored("resp_shared", ISSUER_OWNER)
    finally:
        await other.aclose()


async def test_another_owner_can_neither_read_nor_delete(client: redis.Redis) -> None:
    store = RedisResponseStore(client)
    await store.put(_stored("resp_1"))
    # Owners that a naive "owner:id" key would confuse with each other.
    for stranger in ("mallory", "alice:resp_1", ""):
        assert await store.get("resp_1", stranger) is None
        assert await store.delete("resp_1", stranger) is False
    assert await store.get("resp_1", "alice") == _stored("resp_1")
    assert await store.delete("resp_1", "alice") is True
    assert await store.get("resp_1", "alice") is None
    assert await store.delete("resp_1", "alice") is False


async def test_a_response_is_replaced_by_its_id_and_owner(client: redis.Redis) -> None:
    store = RedisResponseStore(client)
    await store.put(_stored("resp_again"))
    newer = StoredResponse("resp_again", "alice", 1_700_000_001, {"id": "resp_again", "output": []}, [])
    await store.put(newer)
    assert await store.get("resp_again", "alice") == newer


async def test_every_response_expires(client: redis.Redis) -> None:
    await RedisResponseStore(client, ttl_seconds=120).put(_stored("resp_short"))
    await RedisResponseStore(client).put(_stored("resp_default"))
    ttls = {}
    async for key in client.scan_iter(match=f"{KEY_PREFIX}response:*"):
        ttls[key.decode().rsplit(":", 1)[1]] = await client.ttl(key)
    assert 0 < ttls["resp_short"] <= 120
    assert DEFAULT_TTL_SECONDS - 60 < ttls["resp_default"] <= DEFAULT_TTL_SECONDS
    assert all(ttl > 0 for ttl in ttls.values()), ttls  # no key is kept forever


async def test_an_expired_response_is_gone(client: redis.Redis) -> None:
    store = RedisResponseStore(client, ttl_seconds=1)
    await store.put(_stored("resp_expiring"))
    with anyio.fail_after(30):
        while await store.get("resp_expiring", "alice") is not None:
            await anyio.sleep(0.1)


async def test_concurrent_writes_all_land(client: redis.Redis) -> None:
    store = RedisResponseStore(client)
    async with anyio.create_task_group() as group:
        for index in range(40):
            group.start_soon(store.put, _stored(f"resp_many_{index}"))
    assert all([await store.get(f"resp_many_{index}", "alice") is not None for index in range(40)])


async def test_a_value_the_gateway_did_not_write_is_a_store_error(client: redis.Redis) -> None:
    store = RedisResponseStore(client)
    await store.put(_stored("resp_corrupt"))
    [key] = [key async for key in client.scan_iter(match=f"{KEY_PREFIX}response:*:resp_corrupt")]
    await client.set(key, b"\xff not json")
    with pytest.raises(StoreError, match="resp_corrupt"):
        await store.get("resp_corrupt", "alice")


async def test_a_redis_that_does_not_answer_is_a_store_error_without_the_password() -> None:
    shared = SharedState.from_url(f"redis://:s3cret-password@{LOOPBACK}:{free_port()}/0")
    try:
        for attempt in (shared.responses.put(_stored("resp_1")), shared.responses.get("resp_1", "alice"),
                        shared.responses.delete("resp_1", "alice")):
            with pytest.raises(StoreError) as failed:
                await attempt
            assert "Redis" in str(failed.value) and "s3cret-password" not in str(failed.value)
    finally:
        await shared.aclose()


def test_the_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RedisResponseStore(connect("redis://localhost"), ttl_seconds=0)
