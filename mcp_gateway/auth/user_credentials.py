"""Per-user credentials: a caller's own credential for one server, sent as `x-mcp-{server}-authorization` or
configured on its gateway key (`credentials`).

Only servers configured with `forwardUserAuthorization` use it, each only its own header: a credential meant for
one server never reaches another, and it is never logged. The front door that serves a call puts the caller's
headers in scope for that call (`forwarding`); the upstream asks for its own (`forwarded_credential`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Scope

_PREFIX = "x-mcp-"
_SUFFIX = "-authorization"

_forwarded: ContextVar[Mapping[str, str] | None] = ContextVar("mcp_gateway.forwarded_credentials", default=None)


def header_name(server: str) -> str:
    return f"{_PREFIX}{server.lower()}{_SUFFIX}"


_SCOPE_KEY = "mcp_gateway.key_credentials"


def bind_key_credentials(scope: Scope, credentials: Mapping[str, str]) -> None:
    """Credentials the caller's key carries per server (from its config entry), for `credentials_of`."""
    if credentials:
        scope.setdefault("state", {})[_SCOPE_KEY] = {server.lower(): value for server, value in credentials.items()}


def credentials_of(scope: Scope) -> dict[str, str]:
    """The caller's credentials per server: its key's, and the request's headers, which win."""
    state: Any = scope.get("state") or {}
    configured = state.get(_SCOPE_KEY) if isinstance(state, dict) else None
    return {**(configured or {}), **credentials_from(Headers(scope=scope))}


def credentials_from(headers: Mapping[str, str]) -> dict[str, str]:
    """The `x-mcp-{server}-authorization` headers of a request, by lower-cased server name."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(_PREFIX) and lowered.endswith(_SUFFIX) and value.strip():
            found[lowered[len(_PREFIX):-len(_SUFFIX)]] = value.strip()
    return found


@contextmanager
def forwarding(credentials: Mapping[str, str]) -> Iterator[None]:
    token = _forwarded.set(dict(credentials))
    try:
        yield
    finally:
        _forwarded.reset(token)


def forwarded_credential(server: str) -> str | None:
    return (_forwarded.get() or {}).get(server.lower())
