"""Authentication for every HTTP path of the gateway but the probes (`/health`, `/ready`) and `/.well-known/*`.

Checked for every request by the gateway's one ASGI gate (server/front_gate.py), so a path added later is protected
by default. It takes the credential from `x-mcp-gateway-key`, `Authorization: Bearer` or `x-api-key` (where the
Anthropic SDK and Claude Code send theirs), finds the caller (a gateway key, else a JWT from the configured
authorization server) and leaves the `Principal` in the scope for the front doors. The caller also becomes the
scope's `user` in the form the mcp SDK's session manager checks, so the SDK itself refuses a session id presented by
another caller, answering 404 as for an unknown session.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mcp_gateway.auth.keys import KEY_PREFIX, KeyRing
from mcp_gateway.auth.principal import Principal, bind_principal, principal_of
from mcp_gateway.auth.settings import AccessSettings
from mcp_gateway.auth.tokens import KeysUnavailable, TokenRejected, TokenValidator
from mcp_gateway.auth.user_credentials import bind_key_credentials

logger = logging.getLogger(__name__)

KEY_HEADER = "x-mcp-gateway-key"
ANTHROPIC_KEY_HEADER = "x-api-key"
ANTHROPIC_PATHS = ("/v1/messages",)
"""Paths whose callers read errors in Anthropic's shape."""
PUBLIC_PATHS = ("/health", "/ready")
PUBLIC_PREFIXES = ("/.well-known/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def presented_credential(headers: Headers) -> str | None:
    key = headers.get(KEY_HEADER)
    if key:
        return key.strip()
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    anthropic_key = headers.get(ANTHROPIC_KEY_HEADER)
    if anthropic_key and anthropic_key.strip():
        return anthropic_key.strip()
    return None


class Authenticator:
    """Who a presented credential belongs to: a configured key, or a valid token of the authorization server."""

    def __init__(self, settings: AccessSettings) -> None:
        self.settings = settings
        self.keys = KeyRing(settings.keys)
        self.tokens = TokenValidator(settings.oauth) if settings.oauth is not None else None
        self.metadata_url = (
            str(build_resource_metadata_url(AnyHttpUrl(settings.oauth.resource)))
            if settings.oauth is not None
            else None
        )

    async def principal(self, credential: str) -> Principal:
        """The caller, or TokenRejected saying why not (never quoting the credential)."""
        principal = self.keys.principal(credential)
        if principal is not None:
            return principal
        if self.tokens is not None and not credential.startswith(KEY_PREFIX) and credential.count(".") == 2:
            return await self.tokens.principal(credential)
        raise TokenRejected("unknown key")

    def challenge(self, error: str | None = None) -> str:
        """The WWW-Authenticate value: Bearer, with the protected-resource metadata (RFC 9728) when OAuth is on."""
        parts = ['Bearer realm="mcp-gateway"']
        if error is not None:
            parts.append('error="invalid_token"')
            parts.append(f'error_description="{error}"')
        if self.metadata_url is not None:
            parts.append(f'resource_metadata="{self.metadata_url}"')
        return ", ".join(parts)

    def metadata_routes(self) -> list[Route]:
        """`/.well-known/oauth-protected-resource` (RFC 9728), naming the authorization server; none without OAuth."""
        oauth = self.settings.oauth
        if oauth is None or self.metadata_url is None:
            return []
        # Validated from strings, not AnyHttpUrl objects: those add a trailing slash, and a client compares the
        # authorization server's `issuer` with the URL named here character for character (RFC 8414 §3.3).
        metadata = ProtectedResourceMetadata.model_validate({
            "resource": oauth.resource,
            "authorization_servers": oauth.authorization_servers or [oauth.issuer],
            "scopes_supported": sorted(oauth.grants) if oauth.claim == "scope" and oauth.grants else None,
            "resource_name": "mcp-gateway",
        })
        handler = cors_middleware(ProtectedResourceMetadataHandler(metadata).handle, ["GET", "OPTIONS"])
        path = urlsplit(self.metadata_url).path
        return [Route(path, endpoint=handler, methods=["GET", "OPTIONS"])]


async def authenticated(authenticator: Authenticator, scope: Scope, receive: Receive, send: Send) -> bool:
    """Whether the request may go on: its caller found and bound to the scope, or False with the refusal sent
    (401 with the challenge, 503 while the token keys cannot be fetched). Public paths always go on."""
    # Websockets are authenticated too: none are served today, but a route added later must not be open.
    if scope["type"] not in ("http", "websocket") or is_public(scope["path"]):
        return True
    credential = presented_credential(Headers(scope=scope))
    if credential is None:
        await _refuse(authenticator, scope, receive, send, None)
        return False
    try:
        principal = await authenticator.principal(credential)
    except TokenRejected as rejected:
        await _refuse(authenticator, scope, receive, send, str(rejected))
        return False
    except KeysUnavailable as unavailable:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1011})
            return False
        response = JSONResponse({"error": "temporarily_unavailable", "error_description": str(unavailable)},
                                status_code=503, headers={"Retry-After": "5"})
        await response(scope, receive, send)
        return False
    bind_principal(scope, principal)
    bind_key_credentials(scope, authenticator.keys.credentials(principal))
    # The form the SDK's session manager compares to bind each MCP session to the caller that opened it.
    # Principal names are unique: key names cannot contain the '@' and ':' of a token's `sub@issuer`.
    scope["user"] = AuthenticatedUser(AccessToken(token="", client_id=principal.name, scopes=[]))
    return True


async def _refuse(
    authenticator: Authenticator, scope: Scope, receive: Receive, send: Send, reason: str | None
) -> None:
    client = scope.get("client")
    address = client[0] if client else "unknown"
    # The path is the caller's text: quoted, so it cannot forge log lines.
    logger.info("refused %s %r from %s: %s", scope.get("method", "WEBSOCKET"), scope["path"], address,
                reason or "no credential")
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    description = reason or f"send a gateway key as 'Authorization: Bearer KEY' or '{KEY_HEADER}'"
    body: dict[str, object] = {"error": "invalid_token" if reason else "unauthorized",
                               "error_description": description}
    if scope["path"].startswith(ANTHROPIC_PATHS):
        # The Anthropic SDK shows `error.message`; the key itself is never quoted.
        message = f"{description}; send the gateway key as 'x-api-key' or 'Authorization: Bearer'"
        body = {"type": "error", "error": {"type": "authentication_error", "message": message}}
    response = JSONResponse(body, status_code=401, headers={"WWW-Authenticate": authenticator.challenge(reason)})
    await response(scope, receive, send)


def server_refusal(scope: Scope, server: str) -> Response | None:
    """`/mcp/{server}` for a caller that may not use that server: 403 with `insufficient_scope`, as the MCP
    authorization spec answers a token that lacks a permission (an unknown server stays 404). None when the
    caller may."""
    if principal_of(scope).sees_server(server):
        return None
    return JSONResponse(
        {"error": "insufficient_scope", "error_description": f"no access to server '{server}'"},
        status_code=403,
        headers={"WWW-Authenticate": 'Bearer realm="mcp-gateway", error="insufficient_scope"'},
    )
