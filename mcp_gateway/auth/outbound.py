"""Outbound credentials for upstream APIs, and keeping them out of every text the gateway returns or logs.

Each auth model says where its credential goes (`credentials()`) and which strings must never be shown
(`secrets()`). The request builder places the credential; the result builder redacts the secrets.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

REDACTED = "***"

# Static headers whose names look like these carry credentials even though config does not say so.
_SECRET_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_HEADER_WORDS = ("key", "token", "secret", "password", "auth", "session", "signature", "credential")


@dataclass(frozen=True)
class Credentials:
    """Where one credential is placed on a request. Values are raw: the request builder encodes them."""

    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()


class _AuthModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BearerAuth(_AuthModel):
    type: Literal["bearer"] = "bearer"
    token: SecretStr

    def credentials(self) -> Credentials:
        return Credentials(headers=(("Authorization", f"Bearer {self.token.get_secret_value()}"),))

    def secrets(self) -> list[str]:
        return [self.token.get_secret_value()]


class ApiKeyAuth(_AuthModel):
    type: Literal["apiKey"] = "apiKey"
    in_: Literal["header", "query", "cookie"] = Field(alias="in")
    name: str = Field(min_length=1)
    value: SecretStr

    def credentials(self) -> Credentials:
        pair = ((self.name, self.value.get_secret_value()),)
        if self.in_ == "header":
            return Credentials(headers=pair)
        if self.in_ == "query":
            return Credentials(query=pair)
        return Credentials(cookies=pair)

    def secrets(self) -> list[str]:
        return [self.value.get_secret_value()]


class BasicAuth(_AuthModel):
    type: Literal["basic"] = "basic"
    username: str
    password: SecretStr

    def _token(self) -> str:
        pair = f"{self.username}:{self.password.get_secret_value()}"
        return base64.b64encode(pair.encode()).decode("ascii")

    def credentials(self) -> Credentials:
        return Credentials(headers=(("Authorization", f"Basic {self._token()}"),))

    def secrets(self) -> list[str]:
        # The encoded pair is as revealing as the password itself.
        return [self.password.get_secret_value(), self._token()]


class OAuth2ClientCredentials(_AuthModel):
    """OAuth2 client credentials: an access token fetched from `tokenUrl`, cached and refreshed by the gateway
    (see auth/client_credentials.py). The credential is placed by an httpx auth flow, not by the request builder."""

    type: Literal["oauth2ClientCredentials"] = "oauth2ClientCredentials"
    token_url: str = Field(alias="tokenUrl")
    client_id: str = Field(alias="clientId", min_length=1)
    client_secret: SecretStr = Field(alias="clientSecret")
    scopes: list[str] = Field(default_factory=list)
    audience: str | None = None
    client_auth: Literal["basic", "post"] = Field(default="basic", alias="clientAuth")
    """How the client authenticates at the token endpoint: HTTP Basic (client_secret_basic) or in the form."""

    @field_validator("token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    def credentials(self) -> Credentials:
        return Credentials()

    def secrets(self) -> list[str]:
        return [self.client_secret.get_secret_value()]


OutboundAuth = Annotated[
    BearerAuth | ApiKeyAuth | BasicAuth | OAuth2ClientCredentials, Field(discriminator="type")
]


class CredentialSource(Protocol):
    """Anything that places a credential on an OpenAPI request and names the strings to keep out of results."""

    def credentials(self) -> Credentials: ...

    def secrets(self) -> list[str]: ...


@dataclass(frozen=True)
class ForwardedAuthorization:
    """A caller's own credential for one server (the `x-mcp-{server}-authorization` header), sent as that server's
    `Authorization` header in place of the configured auth."""

    value: str

    def credentials(self) -> Credentials:
        return Credentials(headers=(("Authorization", self.value),))

    def secrets(self) -> list[str]:
        # "Bearer <token>": a response may echo the token alone.
        return [self.value, *self.value.split(None, 1)[1:]]


def is_secret_header(name: str) -> bool:
    """Whether a static header's value should be treated as a credential, judged by its name."""
    lowered = name.lower()
    return lowered in _SECRET_HEADER_NAMES or any(word in lowered for word in _SECRET_HEADER_WORDS)


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    return [value for name, value in headers.items() if is_secret_header(name)]


_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
"""The characters openapi/serialize.py leaves unencoded in cookie values (a unit test keeps the two in step)."""


def _encodings(secret: str) -> tuple[str, ...]:
    """Every spelling of a secret the gateway itself writes: raw, percent-encoded for a query or a cookie,
    form-encoded, and escaped inside a JSON string (an upstream echoing our request back)."""
    return (secret, quote(secret, safe=""), quote(secret, safe=_COOKIE_SAFE), quote_plus(secret),
            json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1])


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret, in every encoding the gateway produces, with a marker."""
    forms = {form for secret in secrets if secret for form in _encodings(secret)}
    # Longest first, so a secret that contains another is removed whole rather than leaving a fragment.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text
