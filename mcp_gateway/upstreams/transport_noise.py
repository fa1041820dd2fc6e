"""One log line, not a traceback, when the SDK's HTTP client cannot reach an upstream MCP server.

The SDK's streamable-HTTP and SSE clients log a refused or lost connection with `logger.exception`: an exception
group of some seventy lines per failed request, at ERROR. The gateway already reports the failure itself (the
call's error result, one warning when a connection is lost), so the SDK's record is kept as one warning line that
names the kind of failure. Only the exception's type is shown: its text may carry an upstream URL.
"""

from __future__ import annotations

import logging

import httpx2

_SDK_HTTP_LOGGERS = ("mcp.client.streamable_http", "mcp.client.sse")


def transport_failure(error: BaseException | None) -> BaseException | None:
    """The HTTP transport error behind `error`, through exception groups and causes; None if there is none."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, httpx2.TransportError):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend((current.__cause__, current.__context__))
    return None


class _OneLineTransportFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        failure = transport_failure(record.exc_info[1] if record.exc_info else None)
        if failure is not None:
            record.msg = f"{record.getMessage()}: upstream connection failed ({type(failure).__name__})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_FILTER = _OneLineTransportFailures()


def quiet_sdk_transport_failures() -> None:
    """Idempotent: installs the one-line filter on the SDK's HTTP client loggers."""
    for name in _SDK_HTTP_LOGGERS:
        sdk_logger = logging.getLogger(name)
        if _FILTER not in sdk_logger.filters:
            sdk_logger.addFilter(_FILTER)
