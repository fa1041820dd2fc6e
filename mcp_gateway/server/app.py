"""Starlette app assembly: registry lifespan, MCP endpoints, REST endpoints, and the gate in front of them all."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import anyio.abc
from anyio.abc import TaskGroup
from starlette.applications import Starlette
from starlette.routing import Route

from mcp_gateway.auth.middleware import Authenticator
from mcp_gateway.auth.settings import AccessSettings
from mcp_gateway.llm.models import ModelsConfig, parse_models
from mcp_gateway.llm.store import ResponseStore, SqliteResponseStore, default_database_path
from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.registry import Registry
from mcp_gateway.reload import ConfigReloader
from mcp_gateway.server.drain import Drain
from mcp_gateway.server.front_gate import FrontGate
from mcp_gateway.server.host_policy import LOOPBACK_HOSTS, HostPolicy
from mcp_gateway.server.llm_front_doors import LlmFrontDoors
from mcp_gateway.server.mcp import McpEndpoints
from mcp_gateway.server.rest import metrics_route, rest_routes
from mcp_gateway.server.sessions import SessionLimits

if TYPE_CHECKING:
    # Only a gateway started with --redis-url imports the redis package.
    from mcp_gateway.cluster.state import SharedState

__all__ = ["LOOPBACK_HOSTS", "HostPolicy", "create_app"]

logger = logging.getLogger(__name__)

def create_app(
    registry: Registry,
    *,
    stateless: bool = False,
    policy: HostPolicy | None = None,
    on_ready: Sequence[str] = (),
    retry_interval: float = 30.0,
    sessions: SessionLimits | None = None,
    reloader: ConfigReloader | None = None,
    reload_interval: float = 2.0,
    models: ModelsConfig | None = None,
    access: AccessSettings | None = None,
    response_store: ResponseStore | None = None,
    drain: Drain | None = None,
    metrics: GatewayMetrics | None = None,
    shared: SharedState | None = None,
) -> Starlette:
    """The whole HTTP gateway. `on_ready` lines are logged once every upstream has been started; unhealthy
    upstreams are retried every `retry_interval` seconds (0: never); with a `reloader`, the config file is
    checked for changes every `reload_interval` seconds (0: only on SIGHUP). `models` are the LLM providers of
    /v1/chat/completions, /v1/responses and /v1/messages (default: the official SDKs' environment variables); the
    responses /v1/responses stores go to `response_store` (default: SQLite at the default data path). With `access`
    configured every path but `/health`, `/ready` and `/.well-known/*` needs a gateway key or an accepted token.
    `drain` is the shutdown state `/health` and `/ready` report (the caller wraps the app in its middleware).
    `metrics` (one of its own by default) is served at `/metrics`, to admins only when access is configured.
    `shared` is the state replicas share in Redis (list-changed events here; its token store is the registry's)."""
    host_policy = policy or HostPolicy()
    metrics = metrics or GatewayMetrics()
    models = models or parse_models(None, environ=os.environ)
    store = response_store if response_store is not None else SqliteResponseStore(default_database_path())
    llm_front_doors = LlmFrontDoors(registry, models, store, metrics)
    endpoints = McpEndpoints(
        registry, stateless=stateless, security=host_policy.transport_security(), sessions=sessions
    )
    metrics.watch(registry, sessions=endpoints.open_sessions)

    async def starting(
        background: TaskGroup, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        await registry.start(task_status=task_status)
        if retry_interval > 0:
            background.start_soon(registry.recover_forever, retry_interval)
        if reloader is not None:
            await background.start(reloader.watch, reload_interval)
        for line in on_ready:
            logger.info("%s", line)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            # Inside the try: a startup cancelled half-way (Ctrl-C while an upstream connects) must still close
            # the upstreams already started, stdio children included.
            async with endpoints.run(), anyio.create_task_group() as background:
                if shared is not None:
                    await shared.check()
                    await background.start(shared.changes.run, registry)
                background.start_soon(metrics.mirror_state_forever)
                # Requests are taken while the upstreams start; each waits for what it needs (start_gate.py).
                await background.start(starting, background)
                yield
                background.cancel_scope.cancel()
        finally:
            await llm_front_doors.aclose()
            await store.aclose()
            await registry.aclose()
            if shared is not None:
                await shared.aclose()

    gateway_app, server_app = endpoints.gateway_app(), endpoints.server_app()
    routes = [
        # Both spellings are routes of their own: a redirect would lose the POST body for many clients.
        Route("/mcp", gateway_app, methods=["GET", "POST", "DELETE"]),
        Route("/mcp/", gateway_app, methods=["GET", "POST", "DELETE"]),
        Route("/mcp/{server}", server_app, methods=["GET", "POST", "DELETE"]),
        Route("/mcp/{server}/", server_app, methods=["GET", "POST", "DELETE"]),
        *rest_routes(
            registry,
            draining=(lambda: drain.draining) if drain is not None else lambda: False,
            config_digest=(lambda: reloader.config_digest) if reloader is not None else lambda: None,
        ),
        *llm_front_doors.routes(),
        metrics_route(metrics),
    ]
    authenticator = Authenticator(access) if access is not None and access.enabled else None
    if authenticator is not None:
        routes += authenticator.metadata_routes()
    app = Starlette(routes=routes, lifespan=lifespan)
    # Request ids, metrics, Host/Origin, the start gate and authentication in one pass, before any route; the MCP
    # endpoints straight from there (server/front_gate.py).
    app.add_middleware(
        FrontGate,
        policy=host_policy,
        metrics=metrics,
        endpoints=[route.path for route in routes],
        registry=registry,
        mcp=endpoints,
        authenticator=authenticator,
    )
    return app
