"""The one Redis client of a gateway (`--redis-url`), from the maintained `redis` package's asyncio API.

`redis://`, `rediss://` (TLS) and `unix://` URLs as the package reads them, credentials included. The URL is
never logged as given: it may hold a password.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis

KEY_PREFIX = "mcp-gateway:"
"""Every key and channel the gateway uses starts with this, so one Redis can serve other things too."""


class RedisUrlError(ValueError):
    """The URL cannot be used; the message never quotes a password."""


def public_url(url: str) -> str:
    """The URL without its user and password, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def connect(url: str) -> redis.Redis:
    """A client for `url` (connections open on first use; `redis.RedisError` then says why one cannot)."""
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise RedisUrlError(f"--redis-url {public_url(url)!r}: use redis://, rediss:// or unix://")
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30)
    except ValueError as error:
        raise RedisUrlError(f"--redis-url {public_url(url)!r}: {error}") from None
