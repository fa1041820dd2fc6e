"""Client-credentials tokens shared between replicas in Redis (the `TokenStore` of tokens.py, which says how)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis

from mcp_gateway.cluster.redis_connection import KEY_PREFIX
from mcp_gateway.cluster.tokens import SharedToken

logger = logging.getLogger(__name__)

_LOCK_SECONDS = 40.0
"""How long a fetch may hold the lock: the token request's own timeout (30 s) and a margin."""


class RedisTokens:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def load(self, key: str) -> SharedToken | None:
        try:
            raw = await self._redis.get(f"{KEY_PREFIX}token:{key}")
        except redis.RedisError as error:
            logger.warning("shared token cache unavailable, fetching locally: %s", type(error).__name__)
            return None
        if raw is None:
            return None
        try:
            stored = json.loads(raw)
            return SharedToken(str(stored["value"]), stored["refresh_at"])
        except (ValueError, KeyError, TypeError):
            return None

    async def save(self, key: str, token: SharedToken) -> None:
        # Kept in Redis until it would be refreshed anyway (a day at most for a token without a lifetime).
        ttl = max(1, int(token.refresh_at - time.time())) if token.refresh_at is not None else 86_400
        payload = json.dumps({"value": token.value, "refresh_at": token.refresh_at})
        try:
            await self._redis.set(f"{KEY_PREFIX}token:{key}", payload, ex=ttl)
        except redis.RedisError as error:
            logger.warning("shared token cache unavailable, token kept locally: %s", type(error).__name__)

    @asynccontextmanager
    async def fetching(self, key: str) -> AsyncIterator[None]:
        lock = self._redis.lock(f"{KEY_PREFIX}token-lock:{key}", timeout=_LOCK_SECONDS,
                                blocking_timeout=_LOCK_SECONDS, raise_on_release_error=False)
        try:
            acquired = await lock.acquire()
        except redis.RedisError as error:
            logger.warning("shared token lock unavailable, fetching locally: %s", type(error).__name__)
            acquired = False
        try:
            yield
        finally:
            if acquired:
                with contextlib.suppress(redis.RedisError):  # unreleased, it expires on its own
                    await lock.release()
