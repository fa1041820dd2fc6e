"""A small OAuth 2.1 authorization server for the end-to-end tests, and an API protected by its tokens.

    python -m tests.e2e.auth_server --port N

- `GET /jwks`: the current signing keys (RS256). `POST /rotate` replaces them with a fresh key (new `kid`).
- `POST /issue` (JSON: claims, lifetime, signing overrides): a JWT signed with the current key, for the gateway's
  inbound token tests. Overrides make the invalid ones: another issuer or audience, an expired token, a key that
  is not published.
- `POST /token` with a `resource` (RFC 8707, as MCP clients send it): a JWT access token for that audience.
- `POST /token`: the client-credentials grant (client id and secret in the form or as HTTP Basic), answering
  opaque access tokens after a short delay, so concurrent callers really overlap; `GET /stats` counts the calls
  (per requested scope), `GET /issued` lists every token handed out. The scope `short` gets a 2 s lifetime.
- `GET /protected/{anything}`: an API that accepts only live tokens from `/token` (401 otherwise);
  `POST /revoke` makes every issued token stale, as a server-side revocation or key change would.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import time
import uuid
from collections import Counter
from typing import Any

import anyio
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CLIENT_ID = "gateway-client"
CLIENT_SECRET = "client-secret-for-the-token-endpoint-77"
TOKEN_DELAY_SECONDS = 0.3
"""How long /token takes: long enough that 50 concurrent first calls all find the fetch in flight."""
SHORT_LIFETIME_SECONDS = 2
"""The lifetime of tokens asked for with the scope `short`, to see one expire."""


PROTECTED_API = {
    "openapi": "3.0.3",
    "info": {"title": "Protected", "version": "1"},
    "paths": {
        "/items/{id}": {
            "get": {
                "operationId": "getItem",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the item"}},
            }
        }
    },
}
"""The OpenAPI document of `/protected` (base URL `{server}/protected`), served at `/protected-openapi.json`."""


class SigningKey:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex[:12]
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


class AuthServer:
    def __init__(self, base_url: str, token_lifetime: int) -> None:
        self.base_url = base_url
        self.token_lifetime = token_lifetime
        self.current = SigningKey()
        self.counts: Counter[str] = Counter()
        self.live_tokens: dict[str, float] = {}
        self.issued: list[str] = []

    async def jwks(self, request: Request) -> JSONResponse:
        self.counts["jwks"] += 1
        return JSONResponse({"keys": [self.current.public_jwk()]})

    async def rotate(self, request: Request) -> JSONResponse:
        self.current = SigningKey()
        return JSONResponse({"kid": self.current.kid})

    async def issue(self, request: Request) -> JSONResponse:
        spec = await request.json()
        now = int(time.time())
        claims = {
            "iss": self.base_url,
            "sub": "user-1",
            "iat": now,
            "exp": now + int(spec.get("lifetime", 300)),
            **spec.get("claims", {}),
        }
        key = SigningKey() if spec.get("unpublished_key") else self.current
        kid = spec.get("kid", key.kid)
        token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": kid})
        self.issued.append(token)
        return JSONResponse({"token": token})

    async def metadata(self, request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": self.base_url,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "jwks_uri": f"{self.base_url}/jwks",
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["code"],
        })

    async def token(self, request: Request) -> JSONResponse:
        self.counts["token"] += 1
        form = await request.form()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        scopes = str(form.get("scope") or "").split()
        resource = form.get("resource")
        if isinstance(resource, str):
            # RFC 8707: a token for a named resource (what MCP clients ask for) is a JWT with that audience.
            self.counts["jwt"] += 1
            now = int(time.time())
            claims = {"iss": self.base_url, "sub": client_id, "aud": resource, "scope": " ".join(scopes),
                      "iat": now, "exp": now + self.token_lifetime}
            token = jwt.encode(claims, self.current.private, algorithm="RS256", headers={"kid": self.current.kid})
            self.issued.append(token)
            return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime})
        await anyio.sleep(TOKEN_DELAY_SECONDS)
        access_token = "at-" + secrets.token_urlsafe(24)
        lifetime = SHORT_LIFETIME_SECONDS if "short" in scopes else self.token_lifetime
        # A token asked for with the scope `denied` is issued, but the API never accepts it.
        self.live_tokens[access_token] = 0.0 if "denied" in scopes else time.time() + lifetime
        self.issued.append(access_token)
        self.counts["scope:" + " ".join(scopes)] += 1
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime})

    async def revoke(self, request: Request) -> JSONResponse:
        self.live_tokens.clear()
        return JSONResponse({"revoked": True})

    async def protected(self, request: Request) -> JSONResponse:
        self.counts["protected"] += 1
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self.live_tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or expires < time.time():
            self.counts["protected_401"] += 1
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return JSONResponse({"ok": True, "path": request.path_params["rest"]})

    async def spec(self, request: Request) -> JSONResponse:
        self.counts["spec"] += 1
        if "authorization" in request.headers:
            self.counts["spec_with_authorization"] += 1
        return JSONResponse(PROTECTED_API)

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse(dict(self.counts))

    async def issued_tokens(self, request: Request) -> JSONResponse:
        return JSONResponse({"tokens": self.issued})

    async def reset(self, request: Request) -> JSONResponse:
        self.counts.clear()
        return JSONResponse({})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/jwks", self.jwks, methods=["GET"]),
            Route("/rotate", self.rotate, methods=["POST"]),
            Route("/issue", self.issue, methods=["POST"]),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/revoke", self.revoke, methods=["POST"]),
            Route("/protected/{rest:path}", self.protected, methods=["GET"]),
            Route("/protected-openapi.json", self.spec, methods=["GET"]),
            Route("/stats", self.stats, methods=["GET"]),
            Route("/issued", self.issued_tokens, methods=["GET"]),
            Route("/stats", self.reset, methods=["DELETE"]),
        ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-lifetime", type=int, default=3600)
    args = parser.parse_args()
    server = AuthServer(f"http://127.0.0.1:{args.port}", args.token_lifetime)
    uvicorn.run(server.app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
