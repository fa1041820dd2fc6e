"""Per-server limits (`limits` in a servers.json entry) and the call queue that enforces the concurrency bound.

A slow upstream must not starve calls to the others: each server admits at most `maxConcurrentCalls` calls at
once; further calls queue for up to `queueTimeout` seconds and are then answered with an error that says the
server is busy. Every server has its own queue, so a flood of calls to one never delays another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from mcp_gateway.memory_budget import DEFAULT_UPSTREAM_BYTES


def _alias(camel: str, snake: str) -> AliasChoices:
    return AliasChoices(camel, snake)


class ServerLimits(BaseModel):
    """The `limits` block of a server entry; every field has a default that suits a typical API."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    max_concurrent_calls: int = Field(
        default=64, gt=0, validation_alias=_alias("maxConcurrentCalls", "max_concurrent_calls")
    )
    queue_timeout: float = Field(default=30.0, gt=0, validation_alias=_alias("queueTimeout", "queue_timeout"))
    """Seconds a call may wait for one of the server's call slots (and, for OpenAPI, for room in the memory
    budget) before it is answered with an error."""
    max_connections: int = Field(default=64, gt=0, validation_alias=_alias("maxConnections", "max_connections"))
    """Pooled HTTP connections to an OpenAPI upstream."""
    connect_retries: int = Field(default=1, ge=0, le=10, validation_alias=_alias("connectRetries", "connect_retries"))
    """Extra attempts to open a connection to an OpenAPI upstream. Only connecting is retried: a request that
    may have reached the upstream is never sent twice."""
    max_bytes_in_flight: int = Field(
        default=DEFAULT_UPSTREAM_BYTES, gt=0, validation_alias=_alias("maxBytesInFlight", "max_bytes_in_flight")
    )
    """Response bytes of this server's calls held at once (OpenAPI upstreams), within the gateway-wide budget."""


class ServerBusy(Exception):
    """Every call slot of the server stayed taken for the whole queue timeout; the message is fit to show."""


class CallLimiter:
    """At most `max_concurrent_calls` calls to one server at once, the rest queued with a timeout."""

    def __init__(self, server: str, limits: ServerLimits) -> None:
        self.server = server
        self.limits = limits
        self._slots = anyio.CapacityLimiter(limits.max_concurrent_calls)

    @property
    def in_flight(self) -> int:
        return int(self._slots.borrowed_tokens)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        token = object()
        try:
            # A free slot and no call queued before this one: taken without a timeout scope and a checkpoint,
            # which cost more than the rest of the call limit together.
            self._slots.acquire_on_behalf_of_nowait(token)
            acquired = True
        except anyio.WouldBlock:
            acquired = False
            with anyio.move_on_after(self.limits.queue_timeout):
                await self._slots.acquire_on_behalf_of(token)
                acquired = True
        if not acquired:
            raise ServerBusy(
                f"server '{self.server}' is busy: {self.limits.max_concurrent_calls} calls in flight and no slot "
                f"came free within {self.limits.queue_timeout:g}s; try again shortly"
            )
        try:
            yield
        finally:
            self._slots.release_on_behalf_of(token)
