"""OAuth2 client credentials for upstreams: one cached access token per credential, shared by every upstream and
every concurrent call that uses it.

The token is fetched on first use, reused until shortly before it expires, and fetched again then. However many
calls need a token at once, one fetch runs and the others wait for its result. An upstream answering 401 gets one
fresh token and one retry: a token revoked or rotated early on the server side costs one extra request, and a
credential that is simply wrong costs no more than that.

Replicas share tokens through a `TokenStore` (cluster/tokens.py): before fetching, a gateway takes a token another
replica saved there, and a token it fetches is saved for the others.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from urllib.parse import quote_plus, urlsplit, urlunsplit

import anyio

from mcp_gateway.auth.outbound import OAuth2ClientCredentials
from mcp_gateway.cluster.tokens import LocalTokens, SharedToken, TokenStore, token_key
from mcp_gateway.http import httpx, new_client

logger = logging.getLogger(__name__)

_TOKEN_TIMEOUT_SECONDS = 30.0
_MAX_REFRESH_MARGIN_SECONDS = 60.0
_FAILURE_BACKOFF_SECONDS = 5.0
"""After a failed fetch (a wrong secret, the endpoint down), calls fail at once for this long instead of each
asking the token endpoint again."""
_REMEMBERED_TOKENS = 4
"""Recent tokens kept for redaction: a response may still echo one that was just replaced."""


class TokenFetchError(httpx.RequestError):
    """No access token could be had; the message names the token endpoint and the reason, never a secret."""


@dataclass
class _Token:
    value: str
    refresh_at: float | None
    """Monotonic time after which the token is fetched again; None when the server gave no lifetime."""
    accepted: bool = False
    """An upstream has taken it at least once: a later 401 means it went stale, not that it never worked."""

    def fresh(self) -> bool:
        return self.refresh_at is None or time.monotonic() < self.refresh_at

    def shared(self) -> SharedToken:
        wall = None if self.refresh_at is None else time.time() + (self.refresh_at - time.monotonic())
        return SharedToken(self.value, wall)

    @classmethod
    def from_shared(cls, token: SharedToken) -> _Token:
        monotonic = None if token.refresh_at is None else time.monotonic() + (token.refresh_at - time.time())
        return cls(token.value, monotonic)


def _public(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class ClientCredentialsToken:
    """The cached access token of one client-credentials configuration."""

    def __init__(self, settings: OAuth2ClientCredentials, store: TokenStore | None = None, key: str = "") -> None:
        self._settings = settings
        self._store = store or LocalTokens()
        self._key = key
        self._token: _Token | None = None
        self._lock = anyio.Lock()
        self._issued: list[str] = []
        self._failed: tuple[float, str] | None = None
        """When the last fetch failed, and why: repeated within the back-off instead of asking again."""
        self.fetches = 0

    async def get(self) -> str:
        token = self._token
        if token is not None and token.fresh():
            return token.value
        async with self._lock:
            # Whoever held the lock before us may have fetched already: then its token is ours too.
            if self._token is None or not self._token.fresh():
                self._token = await self._shared_or_fetched(rejected=None)
            return self._token.value

    async def refresh(self, rejected: str) -> str:
        """A token the upstream refused: fetch another, unless a concurrent call already did, or the token never
        worked (then a new one would be refused too, and each call would cost the token endpoint a request)."""
        async with self._lock:
            token = self._token
            if token is None or (token.value == rejected and token.accepted):
                self._token = await self._shared_or_fetched(rejected)
            elif token.value == rejected:
                # Never accepted, so not fetched again; but another replica may hold a newer one that works.
                self._token = await self._usable_shared(rejected) or token
            return self._token.value if self._token is not None else rejected

    def accepted(self, value: str) -> None:
        if self._token is not None and self._token.value == value:
            self._token.accepted = True

    def secrets(self) -> list[str]:
        return [self._settings.client_secret.get_secret_value(), *self._issued]

    async def _shared_or_fetched(self, rejected: str | None) -> _Token:
        """A fresh token another replica saved (not the one just refused), else one fetched now and saved."""
        found = await self._usable_shared(rejected)
        if found is not None:
            return found
        async with self._store.fetching(self._key):
            # Whoever held the lock before us has probably just saved one.
            found = await self._usable_shared(rejected)
            if found is not None:
                return found
            token = await self._fetch()
            await self._store.save(self._key, token.shared())
            return token

    async def _usable_shared(self, rejected: str | None) -> _Token | None:
        shared = await self._store.load(self._key)
        if shared is None or not shared.fresh() or shared.value == rejected:
            return None
        if shared.value not in self._issued:
            self._issued = [*self._issued[-(_REMEMBERED_TOKENS - 1):], shared.value]
        return _Token.from_shared(shared)

    async def _fetch(self) -> _Token:
        failed = self._failed
        if failed is not None and time.monotonic() - failed[0] < _FAILURE_BACKOFF_SECONDS:
            raise TokenFetchError(failed[1])
        try:
            token = await self._fetch_now()
        except TokenFetchError as error:
            self._failed = (time.monotonic(), str(error))
            raise
        self._failed = None
        return token

    async def _fetch_now(self) -> _Token:
        settings = self._settings
        where = _public(settings.token_url)
        form = {"grant_type": "client_credentials"}
        if settings.scopes:
            form["scope"] = " ".join(settings.scopes)
        if settings.audience:
            form["audience"] = settings.audience
        headers = {"Accept": "application/json"}
        secret = settings.client_secret.get_secret_value()
        if settings.client_auth == "basic":
            # RFC 6749 §2.3.1: both parts form-encoded before they are joined and base64-encoded.
            pair = f"{quote_plus(settings.client_id)}:{quote_plus(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form |= {"client_id": settings.client_id, "client_secret": secret}
        self.fetches += 1
        started = time.monotonic()
        try:
            async with new_client(timeout=_TOKEN_TIMEOUT_SECONDS) as client:
                response = await client.post(settings.token_url, data=form, headers=headers)
        except httpx.HTTPError as error:
            raise TokenFetchError(f"cannot get an access token from {where}: {type(error).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            code = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
            reason = f"HTTP {response.status_code}" + (f" ({code})" if code else "")
            raise TokenFetchError(f"cannot get an access token from {where}: {reason}")
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise TokenFetchError(f"cannot get an access token from {where}: the answer has no access_token")
        self._issued = [*self._issued[-(_REMEMBERED_TOKENS - 1):], value]
        lifetime = body.get("expires_in")
        refresh_at = None
        if isinstance(lifetime, int | float) and lifetime > 0:
            # Shortly before expiry: a tenth of the lifetime, at most a minute, counted from when we asked.
            refresh_at = started + lifetime - min(_MAX_REFRESH_MARGIN_SECONDS, lifetime / 10)
        logger.info("fetched an access token from %s (expires in %s s)", where, lifetime)
        return _Token(value, refresh_at)


class ClientCredentialsAuth(httpx.Auth):
    """The httpx auth flow that puts the cached token on each request and retries once after a 401."""

    requires_request_body = True  # so the retry can send the same body again

    def __init__(self, token: ClientCredentialsToken) -> None:
        self.token = token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("client-credentials auth needs an async client")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        value = await self.token.get()
        request.headers["Authorization"] = f"Bearer {value}"
        response = yield request
        if response.status_code != 401:
            self.token.accepted(value)
            return
        fresh = await self.token.refresh(value)
        if fresh != value:
            request.headers["Authorization"] = f"Bearer {fresh}"
            response = yield request
            if response.status_code != 401:
                self.token.accepted(fresh)

    def secrets(self) -> list[str]:
        return self.token.secrets()


class TokenCaches:
    """The tokens of one gateway: upstreams configured with the same credentials share one token (and, with a
    shared `store`, replicas do too)."""

    def __init__(self, store: TokenStore | None = None) -> None:
        self._tokens: dict[tuple[str, ...], ClientCredentialsToken] = {}
        self._store = store

    def auth_for(self, settings: OAuth2ClientCredentials) -> ClientCredentialsAuth:
        key = (
            settings.token_url,
            settings.client_id,
            settings.client_secret.get_secret_value(),
            " ".join(sorted(settings.scopes)),
            settings.audience or "",
            settings.client_auth,
        )
        if key not in self._tokens:
            self._tokens[key] = ClientCredentialsToken(settings, self._store, token_key(key))
        return ClientCredentialsAuth(self._tokens[key])
