"""Starlette app assembly: registry lifespan, MCP endpoints, REST endpoints, DNS-rebinding protection."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import anyio.abc
from anyio.abc import TaskGroup
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_gateway.auth.middleware import Authenticator, AuthMiddleware, ServerAccess
from mcp_gateway.auth.settings import AccessSettings
from mcp_gateway.llm.models import ModelsConfig, parse_models
from mcp_gateway.llm.store import ResponseStore, SqliteResponseStore, default_database_path
from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.registry import Registry
from mcp_gateway.reload import ConfigReloader
from mcp_gateway.request_id import RequestIdMiddleware
from mcp_gateway.server.drain import Drain
from mcp_gateway.server.llm_front_doors import LlmFrontDoors
from mcp_gateway.server.mcp import McpEndpoints
from mcp_gateway.server.rest import metrics_route, rest_routes
from mcp_gateway.server.sessions import SessionLimits
from mcp_gateway.server.start_gate import StartedRoutes

if TYPE_CHECKING:
    # Only a gateway started with --redis-url imports the redis package.
    from mcp_gateway.cluster.state import SharedState

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class HostPolicy:
    """Which Host and Origin headers the gateway answers; empty `hosts` means any (explicit remote binding)."""

    hosts: tuple[str, ...] = LOOPBACK_HOSTS
    origins: tuple[str, ...] = field(default_factory=lambda: tuple(f"http://{host}" for host in LOOPBACK_HOSTS))

    @property
    def enforced(self) -> bool:
        return bool(self.hosts)

    def transport_security(self) -> TransportSecuritySettings:
        if not self.enforced:
            return TransportSecuritySettings(enable_dns_rebinding_protection=False)
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[pattern for host in self.hosts for pattern in (host, f"{host}:*")],
            allowed_origins=[pattern for origin in self.origins for pattern in (origin, f"{origin}:*")],
        )

    def admits_host(self, host: str | None) -> bool:
        return not self.enforced or (host is not None and _strip_port(host.lower()) in self.hosts)

    def admits_origin(self, origin: str | None) -> bool:
        return not self.enforced or origin is None or _strip_port(origin.lower()) in self.origins


def _strip_port(value: str) -> str:
    head, separator, tail = value.rpartition(":")
    if separator and tail.isdigit() and not head.endswith(("http", "https")):
        return head
    return value


class HostCheckMiddleware:
    """Rejects requests whose Host or Origin is not ours, so a web page cannot rebind a name to loopback and
    drive the gateway (the SDK checks /mcp; this covers the REST endpoints too)."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            # The MCP transport spec answers a foreign Origin with 403; a foreign Host is a misdirected request.
            if not self.policy.admits_host(headers.get("host")):
                refusal = {"error": "host not allowed (the gateway answers other names with --allowed-host NAME)"}
                await JSONResponse(refusal, status_code=421)(scope, receive, send)
                return
            if not self.policy.admits_origin(headers.get("origin")):
                await JSONResponse({"error": "origin not allowed"}, status_code=403)(scope, receive, send)
                return
            # Host names are case-insensitive (RFC 9110); the SDK's own check behind us compares exact strings.
            scope = _lowercase_headers(scope, (b"host", b"origin"))
        await self.app(scope, receive, send)


def _lowercase_headers(scope: Scope, names: tuple[bytes, ...]) -> Scope:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if all(name not in names or value == value.lower() for name, value in headers):
        return scope
    lowered = [(name, value.lower() if name in names else value) for name, value in headers]
    return {**scope, "headers": lowered}


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
        Route("/mcp/{server}", ServerAccess(server_app), methods=["GET", "POST", "DELETE"]),
        Route("/mcp/{server}/", ServerAccess(server_app), methods=["GET", "POST", "DELETE"]),
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
    if authenticator is not None:
        app.add_middleware(AuthMiddleware, authenticator=authenticator)
    app.add_middleware(StartedRoutes, registry=registry)
    app.add_middleware(HostCheckMiddleware, policy=host_policy)
    # Outermost, so refusals (wrong Host, no key) are counted too, and carry a request id.
    app.add_middleware(metrics.middleware, endpoints=[route.path for route in routes])
    app.add_middleware(RequestIdMiddleware)
    return app
