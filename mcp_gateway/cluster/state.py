"""Everything replicas share through one Redis (`--redis-url`), made and closed together."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio
import redis.asyncio as redis

from mcp_gateway.cluster.changes import RedisChanges
from mcp_gateway.cluster.redis_connection import connect, public_url
from mcp_gateway.cluster.redis_responses import DEFAULT_TTL_SECONDS, RedisResponseStore
from mcp_gateway.cluster.redis_tokens import RedisTokens

logger = logging.getLogger(__name__)

_STARTUP_CHECK_SECONDS = 5.0


@dataclass
class SharedState:
    url: str
    client: redis.Redis
    tokens: RedisTokens
    changes: RedisChanges
    responses: RedisResponseStore

    @classmethod
    def from_url(cls, url: str, response_ttl_seconds: int = DEFAULT_TTL_SECONDS) -> SharedState:
        client = connect(url)
        return cls(url, client, RedisTokens(client), RedisChanges(client),
                   RedisResponseStore(client, response_ttl_seconds))

    async def check(self) -> None:
        """Say in the log whether Redis answers. A gateway whose Redis is down still serves: tokens are then
        fetched per replica and list changes reach only this replica's clients, until Redis is back; stored
        responses alone cannot do without it (503 store_unavailable)."""
        where = public_url(self.url)
        try:
            with anyio.fail_after(_STARTUP_CHECK_SECONDS):
                await self.client.ping()
        except (redis.RedisError, TimeoutError) as error:
            logger.warning("Redis at %s does not answer (%s): serving without shared state until it does",
                           where, type(error).__name__)
            return
        logger.info("shared state (tokens, list-changed events, stored responses) in Redis at %s", where)

    async def aclose(self) -> None:
        await self.client.aclose()
