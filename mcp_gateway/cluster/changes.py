"""List-changed events across replicas, over Redis pub/sub.

A replica learns that what a server offers changed (its MCP upstream said list_changed, the server came back
after being down, a reload) and tells its own connected clients. With `--redis-url` it also publishes the event,
and every other replica, on receiving it, tells its own clients too: a client connected to any replica hears of
a change any replica saw. A receiving replica that holds the server as unhealthy tries to bring it back at once
rather than at its next retry, so it serves the same tools as the replica that saw the server come back.

Events a replica applies because another one published them are not published again (no echo between
replicas). Redis going away costs only the cross-replica events meanwhile: the subscriber reconnects with a
back-off, and each replica keeps serving and notifying its own clients.

Without Redis there is nothing to do: one gateway's registry already tells its own clients.
"""

from __future__ import annotations

import json
import logging
import uuid
from contextvars import ContextVar

import anyio
import redis.asyncio as redis
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mcp_gateway.cluster.redis_connection import KEY_PREFIX
from mcp_gateway.registry import LIST_KINDS, Registry

logger = logging.getLogger(__name__)

CHANNEL = f"{KEY_PREFIX}list-changed"
_PENDING_EVENTS = 1000
"""Events waiting to be published; beyond this (Redis far behind) new ones are dropped with a warning."""
_RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)

_from_another_replica: ContextVar[bool] = ContextVar("mcp_gateway_change_from_another_replica", default=False)


class RedisChanges:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self.replica = uuid.uuid4().hex
        """This process among the replicas: its own events come back from Redis and are skipped."""
        sender, receiver = anyio.create_memory_object_stream[tuple[str, str]](_PENDING_EVENTS)
        self._outbox: MemoryObjectSendStream[tuple[str, str]] = sender
        self._outbox_reader: MemoryObjectReceiveStream[tuple[str, str]] = receiver

    def _seen_here(self, server: str, kind: str) -> None:
        if _from_another_replica.get():
            return
        try:
            self._outbox.send_nowait((server, kind))
        except anyio.WouldBlock:
            logger.warning("list-changed event for server '%s' not shared with other replicas: Redis is behind",
                           server)

    async def run(self, registry: Registry, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
                  ) -> None:
        """Publish this replica's events and apply the others', until cancelled (the gateway stops)."""
        registry.on_change(self._seen_here)
        async with anyio.create_task_group() as group:
            group.start_soon(self._publish)
            await group.start(self._subscribe, registry)
            task_status.started()

    async def _publish(self) -> None:
        async for server, kind in self._outbox_reader:
            message = json.dumps({"replica": self.replica, "server": server, "kind": kind})
            try:
                await self._redis.publish(CHANNEL, message)
            except redis.RedisError as error:
                logger.warning("cannot share a list-changed event with other replicas: %s", type(error).__name__)

    async def _subscribe(
        self, registry: Registry, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        failures = 0
        started = False
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    if failures:
                        logger.info("listening to other replicas' list-changed events again")
                    failures = 0
                    if not started:
                        started = True
                        task_status.started()
                    async for message in pubsub.listen():
                        await self._apply(registry, message.get("data"))
            except redis.RedisError as error:
                delay = _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]
                if failures == 0:
                    logger.warning("lost Redis for list-changed events (%s); retrying", type(error).__name__)
                failures += 1
                if not started:
                    # The gateway serves without the shared events rather than not at all.
                    started = True
                    task_status.started()
                await anyio.sleep(delay)

    async def _apply(self, registry: Registry, data: object) -> None:
        try:
            event = json.loads(data) if isinstance(data, bytes | str) else None
        except ValueError:
            event = None
        if not isinstance(event, dict) or event.get("replica") == self.replica:
            return
        server, kind = event.get("server"), event.get("kind")
        if not isinstance(server, str) or kind not in LIST_KINDS:
            return
        token = _from_another_replica.set(True)
        try:
            await registry.changed_elsewhere(server, str(kind))
        finally:
            _from_another_replica.reset(token)
