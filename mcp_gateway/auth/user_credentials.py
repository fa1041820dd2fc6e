"""Per-user credentials: a caller's own credential for one server, sent as `x-mcp-{server}-authorization`.

Only servers configured with `forwardUserAuthorization` use it, each only its own header: a credential meant for
one server never reaches another, and it is never logged. The front door that serves a call puts the caller's
headers in scope for that call (`forwarding`); the upstream asks for its own (`forwarded_credential`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_PREFIX = "x-mcp-"
_SUFFIX = "-authorization"

_forwarded: ContextVar[Mapping[str, str] | None] = ContextVar("mcp_gateway.forwarded_credentials", default=None)


def header_name(server: str) -> str:
    return f"{_PREFIX}{server.lower()}{_SUFFIX}"


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
