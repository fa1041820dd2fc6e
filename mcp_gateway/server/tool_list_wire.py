"""Repeated `tools/list` requests of a handshake-era session, answered with the bytes the SDK sent the first time.

Even with the answer kept as shaped (tool_list_answers.py), each listing page still costs the SDK's transport a
JSON encoding of the whole result, an event-stream encoding of that text and the memory streams and task group of
a request: measured on the 1,223 GitHub tools (3 pages, 1.7 MB), ~40 ms of the gateway's CPU per listing, almost
all of it proportional to the bytes. Those bytes only change with the registry, so they are encoded once, with
the SDK's own serializer, and written straight to the connection.

Only what the SDK has already answered is answered here, and only when nothing could make the SDK answer
differently; anything else goes to the SDK's transport untouched (the body replayed):

- a POST on a live handshake-era session (not terminated, same credential as the one that opened it, no event
  store to record events in, not past its idle deadline) that was opened through here and whose `initialize`
  the SDK has accepted (its session object says so), from a caller who sees every tool;
- Host/Origin accepted by the SDK's own transport check, an acceptable `Accept` and a JSON `Content-Type`;
- a small body holding exactly one JSON-RPC request `tools/list` whose params are at most `cursor` and `_meta`,
  for which the endpoint's prepared pages hold the answer (so the cursor was validated by the SDK before).

The answer has the SDK's shape byte for byte: the same JSON (pydantic's encoder), in an event stream or plain
JSON as the session answers, with the session id header. tests/e2e/test_tool_list_wire.py compares the two.
Modern-era requests are answered by server/modern_tool_list.py; other stateless requests go through the SDK.
"""

from __future__ import annotations

from collections.abc import Container, Hashable
from typing import Any

import pydantic_core
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport, check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from mcp_gateway.auth.principal import principal_of
from mcp_gateway.registry import Registry, UnknownServerError
from mcp_gateway.server.modern_tool_list import ModernToolList, is_modern_request
from mcp_gateway.server.wire_gates import (
    holding_session,
    is_json_content,
    plain_listing_request,
    replaying,
    small_body,
    write_answer,
)

__all__ = ["InitializeStash", "ListedSessions", "ToolListWire"]

_SESSION_HEADER = MCP_SESSION_ID_HEADER.encode()
_SESSION_SCOPE_KEY = "mcp_gateway.initialized_session"


class ListedSessions:
    """The handshake-era sessions of one endpoint opened through the wire, by session id, with the SDK's session
    object: their protocol version and handshake state are read from it when a listing comes, so they are the
    SDK's own, live."""

    def __init__(self) -> None:
        self._sessions: dict[str, ServerSession] = {}

    def record(self, session_id: str, session: ServerSession) -> None:
        self._sessions[session_id] = session

    def initialized(self, session_id: str) -> ServerSession | None:
        session = self._sessions.get(session_id)
        return session if session is not None and session.client_params is not None else None

    def forget_all_but(self, alive: Container[str]) -> None:
        """Drop sessions that have ended (the SDK's session table no longer holds them)."""
        self._sessions = {key: session for key, session in self._sessions.items() if key in alive}

    def __len__(self) -> int:
        return len(self._sessions)


class InitializeStash(ServerMiddleware[Any]):
    """Hands the SDK's session object of an `initialize` request to the wire, through the request's ASGI scope:
    the transport only names the session (its id header) once the request is answered."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        request = ctx.request
        if ctx.method == "initialize" and isinstance(request, Request):
            request.scope[_SESSION_SCOPE_KEY] = ctx.session
        return result


class ToolListWire:
    """The way into one endpoint's session manager that answers repeated listings itself: handshake-era ones
    here, modern-era ones (in stateful and stateless mode) through server/modern_tool_list.py."""

    def __init__(self, registry: Registry, server: str | None, sessions: ListedSessions, *, stateless: bool) -> None:
        self._registry = registry
        self._server = server
        self._sessions = sessions
        self._stateless = stateless
        self._modern = ModernToolList(registry, server)

    async def handle(self, manager: StreamableHTTPSessionManager, scope: Scope, receive: Receive, send: Send) -> None:
        modern = is_modern_request(scope)
        if self._stateless and not modern:
            await manager.handle_request(scope, receive, send)
            return
        body = await small_body(scope, receive)
        if body is None:
            await manager.handle_request(scope, receive, send)
            return
        if await (self._modern.answered(manager, scope, body, send) if modern
                  else self._answered(manager, scope, body, send)):
            return
        if modern or any(name == _SESSION_HEADER for name, _ in scope.get("headers", ())):
            await manager.handle_request(scope, replaying(body, receive), send)
            return
        # Perhaps an `initialize`: the session it opens is recorded once the SDK has answered it.
        opened: list[str] = []

        async def noting_session(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                opened.extend(value.decode("latin-1") for name, value in message.get("headers", ())
                              if name.lower() == _SESSION_HEADER)
            await send(message)

        await manager.handle_request(scope, replaying(body, receive), noting_session)
        session = scope.pop(_SESSION_SCOPE_KEY, None)
        if opened and isinstance(session, ServerSession):
            self._sessions.record(opened[0], session)

    async def _answered(self, manager: StreamableHTTPSessionManager, scope: Scope, body: bytes, send: Send) -> bool:
        request = Request(scope)
        headers = request.headers
        session_id = headers.get(MCP_SESSION_ID_HEADER)
        era_header = headers.get(MCP_PROTOCOL_VERSION_HEADER)
        if session_id is None or (era_header is not None and era_header not in HANDSHAKE_PROTOCOL_VERSIONS):
            return False
        transport = self._live_session(manager, session_id, scope)
        session = self._sessions.initialized(session_id)
        if transport is None or session is None or not principal_of(scope).unrestricted:
            return False
        protocol_version = session.protocol_version
        if protocol_version not in HANDSHAKE_PROTOCOL_VERSIONS:
            return False
        if await transport._security.validate_request(request, is_post=True) is not None:
            return False
        has_json, has_sse = check_accept_headers(request)
        if not (has_json if transport.is_json_response_enabled else has_json and has_sse):
            return False
        if not is_json_content(headers.get("content-type", "")):
            return False
        parsed = _listing_request(body)
        if parsed is None:
            return False
        request_id, cursor = parsed
        encoded = self._encoded_answer((protocol_version, cursor, ""))
        if encoded is None:
            return False
        message = b'{"jsonrpc":"2.0","id":' + pydantic_core.to_json(request_id) + b',"result":' + encoded + b"}"
        await holding_session(transport, write_answer(transport, message, send))
        return True

    def _live_session(
        self, manager: StreamableHTTPSessionManager, session_id: str, scope: Scope
    ) -> StreamableHTTPServerTransport | None:
        sessions = manager._server_instances
        if len(self._sessions) > 2 * len(sessions) + 16:
            self._sessions.forget_all_but(sessions)
        transport = sessions.get(session_id)
        if transport is None or transport.is_terminated or transport._event_store is not None:
            return None
        user = scope.get("user")
        requestor = authorization_context(user) if isinstance(user, AuthenticatedUser) else None
        if requestor != manager._session_owners.get(session_id):
            return None
        idle_scope = transport.idle_scope
        if idle_scope is not None and idle_scope.cancel_called:
            return None
        return transport

    def _encoded_answer(self, key: Hashable) -> bytes | None:
        try:
            pages = self._registry.tool_pages(self._server)
        except UnknownServerError:
            return None
        encoded = pages.encoded_answers.get(key)
        if encoded is None:
            answer = pages.answers.get(key)
            if answer is None:
                return None
            # The SDK's own encoder (pydantic's), so the bytes are what the SDK would have written.
            encoded = pydantic_core.to_json(answer)
            pages.keep_encoded(key, encoded)
        return encoded


def _listing_request(body: bytes) -> tuple[int | str, str | None] | None:
    """(id, cursor) of a body that is one plain `tools/list` request, or None."""
    message = plain_listing_request(body)
    if message is None:
        return None
    return message["id"], message.get("params", {}).get("cursor")
