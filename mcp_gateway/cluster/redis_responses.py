"""Stored responses of `/v1/responses` in the Redis replicas share (`--redis-url`): the `ResponseStore` of
llm/store.py, so a response created through one replica is read, continued and deleted through any other.

One string key per response, under the owner's digest: the owner (a key's name, or `subject@issuer` whose issuer
URL has colons of its own) never has to be escaped in a key, and another owner's lookup names another key, so it
finds nothing, exactly as with the SQLite store. Every key expires `ttl` seconds after it is written (default 30
days, as long as OpenAI keeps a stored response): Redis is memory, and responses nobody deletes must not fill it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis.asyncio as redis

from mcp_gateway.cluster.redis_connection import KEY_PREFIX
from mcp_gateway.llm.store import StoredResponse, StoreError

DEFAULT_TTL_SECONDS = 30 * 24 * 3600


def _key(response_id: str, owner: str) -> str:
    owner_digest = hashlib.sha256(owner.encode()).hexdigest()
    return f"{KEY_PREFIX}response:{owner_digest}:{response_id}"


def _failed(action: str, error: Exception) -> StoreError:
    # The error's type, not its text: redis-py's messages can quote the URL it was given, password included.
    return StoreError(f"the response store in Redis failed to {action} a response: {type(error).__name__}")


class RedisResponseStore:
    """Responses in Redis through the gateway's one client (`SharedState` owns and closes it)."""

    def __init__(self, client: redis.Redis, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        if ttl_seconds <= 0:
            raise ValueError("the response TTL must be positive")
        self._redis = client
        self.ttl_seconds = ttl_seconds

    async def put(self, stored: StoredResponse) -> None:
        data = json.dumps({"owner": stored.owner, "created_at": stored.created_at, **stored.to_json()},
                          ensure_ascii=False)
        try:
            await self._redis.set(_key(stored.response_id, stored.owner), data, ex=self.ttl_seconds)
        except redis.RedisError as error:
            raise _failed("keep", error) from error

    async def get(self, response_id: str, owner: str) -> StoredResponse | None:
        try:
            raw = await self._redis.get(_key(response_id, owner))
        except redis.RedisError as error:
            raise _failed("read", error) from error
        if raw is None:
            return None
        try:
            data: dict[str, Any] = json.loads(raw)
            # A digest collision is out of reach, but the owner is kept anyway: a wrong owner reads as absent.
            if data["owner"] != owner:
                return None
            return StoredResponse(response_id, owner, int(data["created_at"]), data["response"], data["conversation"])
        except (ValueError, KeyError, TypeError) as error:
            raise StoreError(f"the stored response {response_id!r} in Redis is not one the gateway wrote") from error

    async def delete(self, response_id: str, owner: str) -> bool:
        try:
            return int(await self._redis.delete(_key(response_id, owner))) > 0
        except redis.RedisError as error:
            raise _failed("delete", error) from error

    async def aclose(self) -> None:
        """Nothing of its own to close: the client is the gateway's (`SharedState.aclose`)."""
