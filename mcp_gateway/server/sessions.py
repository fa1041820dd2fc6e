"""Handshake-era MCP sessions, bounded gateway-wide: an idle timeout, and one cap over every endpoint.

The gateway runs one SDK session manager per endpoint (`/mcp` and each `/mcp/{server}`), and the SDK's own limit
(`max_sessions`) counts per manager: with 20 servers that is 21 separate limits, and abandoned sessions (about
36 KB each, measured) add up unseen. Here every manager admits a new session only while the sessions open over
all of them stay under one cap, and a session no request has touched for `idle_timeout` seconds is closed.

Modern-era (2026-07-28) requests open no session and are not counted.

The count reads the SDK managers' session tables and the admission hook (`_admit_session`), which are not
public API; tests/e2e/test_gateway_sessions.py fails if an SDK upgrade moves them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

logger = logging.getLogger(__name__)

DEFAULT_MAX_SESSIONS = 2000
DEFAULT_IDLE_TIMEOUT = 600.0


@dataclass(frozen=True)
class SessionLimits:
    max_sessions: int = DEFAULT_MAX_SESSIONS
    """Open handshake-era sessions over every endpoint together."""
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    """Seconds without a request after which a session is closed (its client gets 404 and starts a new one)."""

    def __post_init__(self) -> None:
        if self.max_sessions <= 0 or self.idle_timeout <= 0:
            raise ValueError("session limits must be positive")


class SessionPool:
    """The session managers that share one cap."""

    def __init__(self, limits: SessionLimits) -> None:
        self.limits = limits
        self._managers: list[CappedSessionManager] = []

    def manager(self, *, json_responses: Callable[[], bool] | None = None, **options: Any) -> CappedSessionManager:
        manager = CappedSessionManager(
            self,
            json_responses,
            session_idle_timeout=self.limits.idle_timeout,
            max_sessions=self.limits.max_sessions,
            **options,
        )
        self._managers.append(manager)
        return manager

    def release(self, manager: StreamableHTTPSessionManager) -> None:
        """Forget a manager whose endpoint closed (its server was removed): otherwise every reload that removes a
        server would keep its manager, and the server built for it, for the life of the gateway."""
        self._managers = [kept for kept in self._managers if kept is not manager]

    def __len__(self) -> int:
        return len(self._managers)

    def open_sessions(self) -> int:
        return sum(len(manager._server_instances) for manager in self._managers)


class CappedSessionManager(StreamableHTTPSessionManager):
    """The SDK's manager under the pool's cap. `json_responses`, asked for every modern-era or stateless request
    and every new handshake-era session, says whether answers may be plain JSON rather than an event stream."""

    def __init__(self, pool: SessionPool, json_responses: Callable[[], bool] | None = None, **options: Any) -> None:
        self._json_responses = json_responses
        self._json_response = False
        super().__init__(**options)
        self._pool = pool

    @property
    def json_response(self) -> bool:
        return self._json_responses() if self._json_responses is not None else self._json_response

    @json_response.setter
    def json_response(self, value: bool) -> None:
        self._json_response = value

    def _admit_session(self, requestor: Any) -> StreamableHTTPServerTransport | None:
        if self._pool.open_sessions() >= self._pool.limits.max_sessions:
            # The SDK answers None with 503 "Too many open sessions" and logs the refusal.
            return None
        return super()._admit_session(requestor)
