"""The `access` section of servers.json: gateway keys and the OAuth authorization server whose tokens we accept.

```json
"access": {
  "keys": {
    "ci":    {"sha256": "9f86d0…", "servers": ["github"], "tools": ["get*", "list*"]},
    "admin": {"key": "${GATEWAY_ADMIN_KEY}", "admin": true}
  },
  "oauth": {
    "issuer": "https://login.example.com", "jwksUri": "https://login.example.com/jwks",
    "resource": "https://gateway.example.com", "claim": "scope",
    "grants": {"tools:read": {"servers": ["*"], "tools": ["get*"]}, "gateway:admin": {"admin": true}}
  }
}
```

Unlike a server entry, a broken `access` section stops the gateway: serving without the access control the
operator asked for would fail open.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

_KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class AccessError(ValueError):
    """The `access` section cannot be used; the message names the field and never a secret."""


class Grant(BaseModel):
    """What a key or a token claim value allows: servers and tools (shell-style globs) and the admin role."""

    model_config = ConfigDict(extra="forbid")

    servers: list[str] = Field(default_factory=lambda: ["*"])
    tools: list[str] = Field(default_factory=lambda: ["*"])
    """Tool names as their own server lists them (`/mcp/{server}`), or `{server}/{tool}`."""
    admin: bool = False


class KeyEntry(Grant):
    """One gateway key: the key itself, or its SHA-256 (hex) so the config file need not hold it."""

    key: SecretStr | None = None
    sha256: str | None = None
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    """This key's own credential per server (the `Authorization` value), for servers that forward user
    credentials: the per-key form of the `x-mcp-{server}-authorization` header."""

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256_HEX.match(value.lower()):
            raise ValueError("must be 64 hexadecimal digits (the SHA-256 of the key)")
        return value.lower() if value is not None else None

    def digest(self) -> bytes:
        if self.sha256 is not None:
            return bytes.fromhex(self.sha256)
        assert self.key is not None, "checked when the section is parsed"
        return hash_key(self.key.get_secret_value())


class OAuthSettings(BaseModel):
    """An external OAuth 2.1 authorization server whose JWT access tokens the gateway accepts."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    issuer: str
    jwks_uri: str = Field(validation_alias=AliasChoices("jwksUri", "jwks_uri"))
    resource: str
    """This gateway's resource URL (e.g. `https://gateway.example.com`): the audience tokens must carry, and the
    `resource` of the protected-resource metadata."""
    audience: str | None = None
    """The `aud` to require when the authorization server uses another identifier than `resource`."""
    authorization_servers: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("authorizationServers", "authorization_servers")
    )
    claim: str = "scope"
    """The claim whose values (a space-separated string or a list) are looked up in `grants`; a dotted name reaches
    into nested claims (`realm_access.roles`)."""
    grants: dict[str, Grant] = Field(default_factory=dict)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"])
    leeway: float = Field(default=30.0, ge=0)
    """Seconds of clock skew tolerated on `exp`, `nbf` and `iat`."""
    jwks_refresh_cooldown: float = Field(
        default=30.0, ge=0, validation_alias=AliasChoices("jwksRefreshCooldown", "jwks_refresh_cooldown")
    )
    """At most one JWKS fetch per this many seconds for tokens naming an unknown `kid` (key rotation), so
    garbage tokens cannot turn the gateway into a flood against the authorization server."""

    @field_validator("issuer", "jwks_uri", "resource")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        # A shared-secret algorithm next to a public JWKS is the classic key-confusion hole; refuse it outright.
        refused = [name for name in value if name.upper().startswith("HS") or name.lower() == "none"]
        if refused or not value:
            raise ValueError("only asymmetric algorithms (RS*, PS*, ES*, EdDSA) are accepted")
        return value

    @property
    def expected_audience(self) -> str:
        return self.audience or self.resource

    def accepted_audiences(self) -> list[str]:
        """The audience, with and without a trailing slash: URL libraries add or drop one on the way (pydantic's
        URL type adds it), and the two spell the same resource."""
        audience = self.expected_audience
        return list(dict.fromkeys([audience, audience.rstrip("/"), audience.rstrip("/") + "/"]))


class AccessSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: dict[str, KeyEntry] = Field(default_factory=dict)
    oauth: OAuthSettings | None = None

    @property
    def enabled(self) -> bool:
        """Whether any access control is configured; without it the gateway behaves as before keys existed."""
        return bool(self.keys) or self.oauth is not None

    def describe(self) -> str:
        """One line for the startup log, so an operator sees at a glance whether callers need credentials."""
        if not self.enabled:
            return "access: open to every caller (no 'access' section in the config)"
        parts = []
        if self.keys:
            admins = sum(entry.admin for entry in self.keys.values())
            parts.append(f"{len(self.keys)} gateway keys ({admins} admin)")
        if self.oauth is not None:
            parts.append(f"OAuth tokens from {self.oauth.issuer} for {self.oauth.expected_audience}")
        return "access: " + "; ".join(parts)


NO_ACCESS_CONTROL = AccessSettings()


def is_key_name(name: str) -> bool:
    return _KEY_NAME.match(name) is not None


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_access(raw: Any, *, source: str, environ: Mapping[str, str]) -> AccessSettings:
    """Validate the `access` section (after `${VAR}` expansion); raises AccessError naming the field."""
    from mcp_gateway.config import expand_env  # config imports this module for its hook

    if raw is None:
        return NO_ACCESS_CONTROL
    prefix = f"{source}: access"
    if not isinstance(raw, dict):
        raise AccessError(f"{prefix}: expected an object, got {type(raw).__name__}")
    try:
        expanded = expand_env(raw, environ, "access")
    except KeyError as missing:
        field, variable = missing.args
        raise AccessError(f"{source}, field '{field}': environment variable {variable} is not set") from None
    try:
        settings = AccessSettings.model_validate(expanded)
    except ValidationError as error:
        problems = "; ".join(
            f"field '{'.'.join(str(part) for part in item['loc'])}': {item['msg']}" for item in error.errors()
        )
        raise AccessError(f"{prefix}: {problems}") from None
    for name, entry in settings.keys.items():
        where = f"{prefix}, key '{name}'"
        if not is_key_name(name):
            raise AccessError(f"{where}: names use letters, digits and . _ - (at most 64)")
        if (entry.key is None) == (entry.sha256 is None):
            raise AccessError(f"{where}: give exactly one of 'key' or 'sha256'")
        if entry.key is not None and len(entry.key.get_secret_value()) < 16:
            # Typically "${KEY:-}" with the variable unset; a short key is also simply guessable.
            raise AccessError(f"{where}: the key is shorter than 16 characters")
    digests = [entry.digest() for entry in settings.keys.values()]
    if len(set(digests)) != len(digests):
        raise AccessError(f"{prefix}: two keys are the same key, so a caller could not be told apart")
    return settings
