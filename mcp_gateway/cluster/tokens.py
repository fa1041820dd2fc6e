"""Where client-credentials access tokens are shared between replicas (auth/client_credentials.py keeps its own
copy in process and asks here when that is missing or stale).

Without Redis there is nothing to share: each gateway fetches for itself (`LocalTokens`). With Redis
(`RedisTokens`) a replica that needs a token first looks for one another replica fetched, and only fetches if there
is none, holding a Redis lock meanwhile (the `redis` package's, with a timeout), so replicas starting together cause
one fetch, not one each. A Redis that cannot be reached costs a fetch per replica, never a failed call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis

from mcp_gateway.cluster.redis_connection import KEY_PREFIX

logger = logging.getLogger(__name__)

_LOCK_SECONDS = 40.0
"""How long a fetch may hold the lock: the token request's own timeout (30 s) and a margin."""


@dataclass(frozen=True)
class SharedToken:
    value: str
    refresh_at: float | None
    """Wall-clock time (replicas share no monotonic clock) after which it is fetched again; None: no lifetime."""

    def fresh(self) -> bool:
        return self.refresh_at is None or time.time() < self.refresh_at


class TokenStore(Protocol):
    async def load(self, key: str) -> SharedToken | None: ...

    async def save(self, key: str, token: SharedToken) -> None: ...

    def fetching(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while fetching `key`'s token: other holders wait, then `load` what it saved."""
        ...


def token_key(parts: Sequence[str]) -> str:
    """A cache key that names a credential without holding its secret."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class LocalTokens:
    """One gateway alone: nothing to share (the in-process cache in auth/client_credentials.py is the cache)."""

    async def load(self, key: str) -> SharedToken | None:
        return None

    async def save(self, key: str, token: SharedToken) -> None:
        return None

    @asynccontextmanager
    async def fetching(self, key: str) -> AsyncIterator[None]:
        yield


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
