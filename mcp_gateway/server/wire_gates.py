"""What every answer written before the SDK's streamable-HTTP transport shares: reading a small POST body without
losing it for the SDK, the SDK's own content checks, and writing a JSON-RPC answer in the shape the SDK's transport
writes it (plain JSON or an event stream), while holding a handshake-era session's idle countdown as the SDK does.

Used by server/tool_list_wire.py (repeated handshake-era listings) and every other answer written before the SDK."""

from __future__ import annotations

import json
import math
from typing import Any

import anyio
from mcp.server.streamable_http import (
    CONTENT_TYPE_JSON,
    CONTENT_TYPE_SSE,
    MCP_SESSION_ID_HEADER,
    StreamableHTTPServerTransport,
)
from starlette.types import Message, Receive, Scope, Send

__all__ = [
    "MAX_BODY_BYTES",
    "holding_session",
    "is_json_content",
    "plain_listing_request",
    "replaying",
    "small_body",
    "write_answer",
]

MAX_BODY_BYTES = 4096
"""A `tools/list` request is a few hundred bytes; anything bigger (or of unknown length) goes to the SDK unread."""

_SSE_HEADERS = [
    (b"cache-control", b"no-cache, no-transform"),
    (b"connection", b"keep-alive"),
    (b"content-type", CONTENT_TYPE_SSE.encode()),
    (b"x-accel-buffering", b"no"),
]
"""What the SDK's event-stream answer carries (its own headers and sse-starlette's), besides the session id."""
_JSON_HEADERS = [(b"content-type", CONTENT_TYPE_JSON.encode())]
_LISTING_KEYS = frozenset({"jsonrpc", "id", "method", "params"})
_LISTING_PARAMS = frozenset({"cursor", "_meta"})


async def small_body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole body of a small POST (read from `receive`), or None without reading anything."""
    if scope.get("method") != "POST":
        return None
    length = next((value for name, value in scope.get("headers", ()) if name == b"content-length"), None)
    if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away: what came is handed on as it is, and the SDK meets the disconnect itself.
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` as if the body had not been read yet."""
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


def plain_listing_request(body: bytes) -> dict[str, Any] | None:
    """The decoded body when it is one plain JSON-RPC `tools/list` request (params at most a string `cursor` and a
    `_meta` object, an integer or string id), or None: then the SDK reads the body and answers itself."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; RecursionError: nested too deep
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/list" or message.get("jsonrpc") != "2.0":
        return None
    if not _LISTING_KEYS.issuperset(message):
        return None
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None  # the SDK's model would coerce some ids (1.0 -> 1): its answer, then
    params = message.get("params", {})
    if not isinstance(params, dict) or not _LISTING_PARAMS.issuperset(params):
        return None
    if not isinstance(params.get("cursor"), str | None) or not isinstance(params.get("_meta", {}), dict):
        return None
    return message


def is_json_content(content_type: str) -> bool:
    # As the SDK's transport checks it.
    return any(part.strip() == CONTENT_TYPE_JSON for part in content_type.split(";")[0].split(","))


async def write_answer(transport: StreamableHTTPServerTransport, message: bytes, send: Send) -> None:
    session_header = (MCP_SESSION_ID_HEADER.encode(), (transport.mcp_session_id or "").encode())
    if transport.is_json_response_enabled:
        headers = [*_JSON_HEADERS, (b"content-length", str(len(message)).encode()), session_header]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": message})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [*_SSE_HEADERS, session_header]})
    await send({"type": "http.response.body", "body": b"event: message\r\ndata: " + message + b"\r\n\r\n",
                "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def holding_session(transport: StreamableHTTPServerTransport, answering: Any) -> None:
    """Await `answering` as a request of the session, as the SDK's transport does: the session's idle countdown
    stops while it runs and restarts when the session's last request is done."""
    timeout = transport._idle_timeout
    idle_scope = transport.idle_scope
    if idle_scope is None or timeout is None:
        await answering
        return
    transport._requests_in_flight += 1
    idle_scope.deadline = math.inf
    try:
        await answering
    finally:
        transport._requests_in_flight -= 1
        if not transport._requests_in_flight:
            idle_scope.deadline = anyio.current_time() + timeout
