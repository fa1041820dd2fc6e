"""Gateway keys: which configured key a presented secret is, compared in constant time, and fresh keys to hand out."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from mcp_gateway.auth.principal import Principal
from mcp_gateway.auth.settings import Grant, KeyEntry, hash_key

KEY_PREFIX = "mgw_"
"""Marks a gateway key, so a leaked one is recognisable (secret scanners, logs) and never taken for a JWT."""


def principal_for(name: str, grant: Grant) -> Principal:
    return Principal(name=name, servers=tuple(grant.servers), tools=tuple(grant.tools), admin=grant.admin)


class KeyRing:
    """The configured keys, held only as SHA-256 digests."""

    def __init__(self, keys: Mapping[str, KeyEntry]) -> None:
        self._entries = [(entry.digest(), principal_for(name, entry)) for name, entry in keys.items()]
        self._credentials = {
            name: {server: secret.get_secret_value() for server, secret in entry.credentials.items()}
            for name, entry in keys.items()
        }

    def __bool__(self) -> bool:
        return bool(self._entries)

    def principal(self, presented: str) -> Principal | None:
        """The key's principal, or None. Every digest is compared, in constant time, whichever matches."""
        digest = hash_key(presented)
        found: Principal | None = None
        for known, principal in self._entries:
            if hmac.compare_digest(known, digest):
                found = principal
        return found


    def credentials(self, principal: Principal) -> dict[str, str]:
        """The per-server credentials configured for this key (none for a token's caller)."""
        return dict(self._credentials.get(principal.name, {}))


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest_hex(key: str) -> str:
    return hash_key(key).hex()
