"""One log line, not a traceback, for each line a stdio upstream writes to stdout that is not JSON-RPC.

Servers in the wild print banners and debug output to stdout. The SDK skips such a line and logs it with a full
traceback of the validation error (dozens of lines, and the server is not named); the gateway instead logs one
warning naming the server, and never the line itself, which may hold anything.
"""

from __future__ import annotations

import logging

import anyio
from mcp.client.session import IncomingMessage, MessageHandlerFnT
from pydantic import ValidationError

logger = logging.getLogger(__name__)

_SDK_STDIO_LOGGER = "mcp.client.stdio"
_SDK_PARSE_FAILURE = "Failed to parse JSONRPC message from server"


class _DropParseTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _SDK_PARSE_FAILURE


_FILTER = _DropParseTracebacks()


def quiet_sdk_parse_failures() -> None:
    """Idempotent: the gateway reports these lines itself, through `stdout_noise_handler`."""
    sdk_logger = logging.getLogger(_SDK_STDIO_LOGGER)
    if _FILTER not in sdk_logger.filters:
        sdk_logger.addFilter(_FILTER)


def stdout_noise_handler(server: str) -> MessageHandlerFnT:
    """A client message handler that reports unparsable stdout lines of `server` in one line each."""

    async def handle(message: IncomingMessage) -> None:
        if isinstance(message, Exception):
            logger.warning("server '%s': ignored a line on its stdout that is not JSON-RPC (%s)",
                           server, describe_parse_error(message))
        await anyio.lowlevel.checkpoint()

    return handle


def describe_parse_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        kinds = {item["type"] for item in error.errors()}
        return "invalid JSON" if "json_invalid" in kinds else "JSON, but not a JSON-RPC message"
    return type(error).__name__
