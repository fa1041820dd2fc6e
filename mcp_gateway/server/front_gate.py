"""The one ASGI gate every HTTP request passes before its route, and the short way to the MCP endpoints.

In one pass, in this order (each step used to be a Starlette middleware of its own):

1. the request's id (request_id.py): chosen, bound for log lines and outbound calls, and returned as
   `X-Request-Id` on every answer, refusals included;
2. metrics (metrics.py): every request counted by endpoint template and status, and timed, refusals included;
3. Host and Origin (host_policy.py): a foreign Host is answered 421, a foreign Origin 403;
4. the start gate (start_gate.py): routes other than the MCP endpoints and the state reports wait until every
   server has started;
5. authentication (auth/middleware.py) when access is configured, for every path but the probes and
   `/.well-known/*`;
6. then the MCP endpoints, `/mcp`, `/mcp/`, `/mcp/{server}` and `/mcp/{server}/` (GET, HEAD, POST, DELETE), go
   straight to their handler (server/mcp.py, which checks the caller's access to the server), as the Router would
   route them; every other request goes on to Starlette's exception middleware and Router.

Step 6 is why this is one gate: an MCP request no longer walks five middlewares, each wrapping `send`, the
exception middleware and the Router's matching of every route (issue #15's profile of an OpenAPI tool call: ~9% of
the gateway's CPU per call).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_gateway.auth.middleware import Authenticator, authenticated
from mcp_gateway.metrics import EndpointLabels, GatewayMetrics
from mcp_gateway.registry import Registry
from mcp_gateway.request_id import bind_request_id, chosen_id, unbind_request_id, with_request_id
from mcp_gateway.server.host_policy import HostPolicy, lowercase_headers
from mcp_gateway.server.mcp import McpEndpoints
from mcp_gateway.server.start_gate import waits_for_start

__all__ = ["FrontGate"]

_MCP_METHODS = frozenset({"GET", "HEAD", "POST", "DELETE"})
"""The methods of the MCP routes (Starlette adds HEAD to a GET route); others go to the Router, which says 405."""
_GATEWAY_ENDPOINT = "/mcp"
_SERVER_ENDPOINT = "/mcp/{server}"


def mcp_route(scope: Scope) -> str | None:
    """Which MCP endpoint the Router would send this request to: "" for `/mcp`, the server's name for
    `/mcp/{server}`, None for any other route (or a request the Router should judge: another method, a
    root path)."""
    if scope.get("root_path") or scope["method"] not in _MCP_METHODS:
        return None
    path: str = scope["path"]
    if path == "/mcp" or path == "/mcp/":
        return ""
    if not path.startswith("/mcp/"):
        return None
    server = path[5:-1] if path.endswith("/") else path[5:]
    return server if server and "/" not in server else None


class FrontGate:
    """See the module's docstring. `app` is the rest of the Starlette stack (exception middleware and Router)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        policy: HostPolicy,
        metrics: GatewayMetrics,
        endpoints: Iterable[str],
        registry: Registry,
        mcp: McpEndpoints,
        authenticator: Authenticator | None,
    ) -> None:
        self._app = app
        self._policy = policy
        self._metrics = metrics
        self._labels = EndpointLabels(endpoints)
        self._registry = registry
        self._mcp = mcp
        self._authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Websockets are authenticated too: none are served today, but a route added later must not be open.
            authenticator = self._authenticator
            if scope["type"] == "websocket" and authenticator is not None and not await authenticated(
                authenticator, scope, receive, send
            ):
                return
            await self._app(scope, receive, send)
            return
        server = mcp_route(scope)
        if server is None:
            endpoint = self._labels.endpoint(scope["path"])
        else:
            endpoint = _SERVER_ENDPOINT if server else _GATEWAY_ENDPOINT
        request_id = chosen_id(scope)
        id_header = request_id.encode()
        status = 500
        """What the client sees if the app raises before it answers (the server then answers 500)."""

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": with_request_id(message.get("headers", ()), id_header)}
            await send(message)

        token = bind_request_id(request_id)
        started = self._metrics.request_started()
        try:
            await self._pass(scope, receive, answer, server)
        finally:
            self._metrics.request_finished(endpoint, status, started)
            unbind_request_id(token)

    async def _pass(self, scope: Scope, receive: Receive, send: Send, server: str | None) -> None:
        refusal = self._policy.refusal(Headers(scope=scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        scope = lowercase_headers(scope)
        if server is None and waits_for_start(scope["path"]):
            await self._registry.wait_started()
        authenticator = self._authenticator
        if authenticator is not None and not await authenticated(authenticator, scope, receive, send):
            return
        if server is None:
            await self._app(scope, receive, send)
        elif server:
            scope["path_params"] = {"server": server}
            await self._mcp.handle_server(server, scope, receive, send)
        else:
            await self._mcp.handle_gateway(scope, receive, send)
