"""One id per HTTP request, to follow it through the gateway's log lines, its response and the calls it makes.

A request that arrives with a sane `X-Request-Id` (a load balancer or the caller set one) keeps it; otherwise the
gateway makes one (server/front_gate.py does this for every HTTP request). The id is returned in the response's
`X-Request-Id`, stamped on every log record written while the request runs (see log_format.py), and sent as
`X-Request-Id` on the requests it causes: OpenAPI upstream calls, LLM provider calls and calls to MCP upstreams over
HTTP (streamable HTTP and legacy SSE).

The MCP case works because the SDK's client (mcp 2.x) hands each message to its transport with the sender's context
(`mcp.shared._context_streams`) and starts the message's POST in that context: an httpx request hook then sees the
caller's id, though one shared upstream session serves every caller. Requests no caller caused (the session's
handshake and listings at startup, recovery) carry none.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from starlette.types import Scope

if TYPE_CHECKING:
    from mcp_gateway.http import httpx

REQUEST_ID_HEADER = "x-request-id"
_RAW_HEADER = REQUEST_ID_HEADER.encode()
_SANE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
"""What a caller may choose: long enough for a UUID or a W3C trace id, short and plain enough for any log."""

_current: ContextVar[str | None] = ContextVar("mcp_gateway_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the HTTP request being served, or None outside one (startup, background recovery)."""
    return _current.get()


def tag_outbound(request: httpx.Request) -> None:
    """Send the current request's id along with `request` (unless it already carries one of its own)."""
    request_id = _current.get()
    if request_id is not None and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


async def tag_outbound_hook(request: httpx.Request) -> None:
    """`tag_outbound` as an httpx event hook, for clients whose requests someone else's code sends."""
    tag_outbound(request)


def chosen_id(scope: Scope) -> str:
    """The request's own `X-Request-Id` when it is sane, else a new id."""
    for name, value in scope["headers"]:
        if name == _RAW_HEADER:
            candidate: str = value.decode("latin-1")
            if _SANE.fullmatch(candidate):
                return candidate
            break
    # 128 random bits as 32 hex digits, like a UUID4's hex, from the random module (reseeded in every forked
    # worker) instead of os.urandom: an id correlates log lines and needs no secrecy, and this is ~8x cheaper.
    return f"{random.getrandbits(128):032x}"


def bind_request_id(request_id: str) -> Token[str | None]:
    """Make `request_id` the current one (for log lines and outbound calls) until `unbind_request_id`."""
    return _current.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _current.reset(token)


def with_request_id(headers: Iterable[tuple[bytes, bytes]], request_id: bytes) -> list[tuple[bytes, bytes]]:
    """A response's headers carrying `request_id` as its one `X-Request-Id`."""
    return [*(pair for pair in headers if pair[0].lower() != _RAW_HEADER), (_RAW_HEADER, request_id)]
