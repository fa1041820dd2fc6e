"""The one place that picks the HTTP client library for upstream and provider calls.

The mcp 2.x SDK already depends on httpx2, the maintained line of httpx with the same API; keeping the
import here lets a benchmark swap it in one line.
"""

from __future__ import annotations

import httpx2 as httpx

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "httpx", "new_client"]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def new_client(
    *,
    timeout: float | None = None,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
    max_connections: int | None = None,
    connect_retries: int = 0,
) -> httpx.AsyncClient:
    """One shared client per upstream: pooled connections, explicit timeouts, no redirects to other hosts.

    `connect_retries` retries only opening a connection (refused, reset during connect, DNS): a request that may
    have reached the upstream is never sent twice."""
    limits = DEFAULT_LIMITS
    if max_connections is not None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)) if timeout else DEFAULT_TIMEOUT,
        limits=limits,
        transport=httpx.AsyncHTTPTransport(limits=limits, retries=connect_retries) if connect_retries else None,
        headers=headers,
        auth=auth,
        follow_redirects=False,
        trust_env=False,
    )
