"""What an upstream MCP server's failures say, and what they must not: where the server lives without credentials,
the first real error inside the SDK's exception groups, and configured secrets masked wherever a library echoes
them."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import mcp_types as types
from mcp.shared.exceptions import MCPError

from mcp_gateway.http import httpx
from mcp_gateway.upstreams.mcp_spec import McpServerSpec

_MIN_SECRET_LENGTH = 4
"""Configured values shorter than this are not masked in messages: masking "1" or "on" would garble the
text (every digit of a port number) while hiding nothing a reader could use."""


def upstream_target(spec: McpServerSpec) -> str:
    """Where the upstream lives, without arguments, credentials in the URL, or query strings."""
    if spec.transport == "stdio":
        return f"command {spec.command!r}"
    parts = urlsplit(spec.url or "")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe_error(spec: McpServerSpec, error: BaseException) -> str:
    """One line saying what went wrong, secrets masked."""
    leaf = first_leaf(error)
    if isinstance(leaf, MCPError):
        text = leaf.message
    elif isinstance(leaf, httpx.HTTPStatusError):
        # The exception's own text carries the full URL, which may hold a token in its query.
        text = f"HTTP {leaf.response.status_code}"
    else:
        text = f"{type(leaf).__name__}: {leaf}" if str(leaf) else type(leaf).__name__
    return redact(spec, text)


def redact(spec: McpServerSpec, text: str) -> str:
    """Mask configured secrets that a library might echo back (header and env values, URL credentials)."""
    parts = urlsplit(spec.url or "")
    candidates = [*spec.headers.values(), *spec.env.values(), parts.password or "", parts.query]
    candidates += spec.auth.secrets() if spec.auth is not None else []
    # "Bearer <token>": a library may echo only the token, so the part after the scheme is a secret too.
    candidates += [value.split(None, 1)[1] for value in spec.headers.values() if len(value.split(None, 1)) == 2]
    for secret in sorted(candidates, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return text


def first_leaf(error: BaseException) -> BaseException:
    """The first real error inside the exception groups the SDK's task groups wrap failures in."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


_SESSION_GONE_MESSAGES = frozenset({"session terminated", "session not found"})
"""How a server that no longer knows our session (it restarted, or expired it) is reported: the SDK client's own
words for a 404 on its session, and the error body the Python and TypeScript SDK servers send with that 404 (its
code differs between them: INVALID_REQUEST, -32001)."""


def means_connection_lost(error: MCPError) -> bool:
    """Whether only a new connection recovers from `error`: the transport closed, or the session is gone. Any
    other refusal (INVALID_REQUEST included) is the upstream's answer to one request, and reconnecting the shared
    session for it would cut every other caller's calls in flight."""
    if error.code == types.CONNECTION_CLOSED:
        return True
    return error.message.strip().lower() in _SESSION_GONE_MESSAGES
