"""Where client-credentials access tokens are shared between replicas (auth/client_credentials.py keeps its own
copy in process and asks here when that is missing or stale).

Without Redis there is nothing to share: each gateway fetches for itself (`LocalTokens`). With Redis
(`RedisTokens`, redis_tokens.py) a replica that needs a token first looks for one another replica fetched, and
only fetches if there is none, holding a Redis lock meanwhile (the `redis` package's, with a timeout), so replicas
starting together cause one fetch, not one each. A Redis that cannot be reached costs a fetch per replica, never a
failed call.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol


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
