"""Modern-era (2026-07-28) `tools/list` requests answered with the bytes the SDK sends, before its transport.

A modern request is one self-contained POST: no session, its protocol version, client capabilities and client
info in `params._meta` and the version (and method) repeated in headers. The SDK's modern entry validates it
(Host/Origin and Content-Type, Accept, the JSON-RPC envelope, the routing headers against the body), runs the
middleware chain, which answers a repeated listing as kept (tool_list_answers.py), then dumps the answer through
its response model and `json.dumps` and writes it as plain JSON. For a big registry that dump and encoding is
almost all of the cost (measured on the 1,223 GitHub tools: ~50 ms of CPU per listing) and its bytes only change
with the registry, so they are made once per registry change, with the SDK's own calls, and written here.

Only when the SDK would write the same bytes; anything else goes to the SDK untouched (the body replayed):

- the manager routes the request to its modern entry (an `MCP-Protocol-Version` header that is no handshake
  version), in stateful and stateless mode alike;
- the SDK's own checks pass, called as it calls them: the transport security check (Content-Type, Host, Origin
  with the manager's settings), the Accept rule of its JSON or event-stream mode, the request model, no routing
  header given twice, the envelope ladder (header and `_meta` versions equal, a served version, `Mcp-Method`)
  and the per-version params validation;
- a small body holding one `tools/list` request whose params are at most `cursor` and `_meta`, from a caller who
  sees every tool, with the SDK's tracing middleware off (tracing must see every request);
- the endpoint's prepared pages hold the SDK's answer for that protocol version, cursor and server identity (so
  the SDK answered the same listing since the registry last changed, and validated that cursor).

A listing answer carries no notification, so the SDK writes it as plain JSON in either mode; here too.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from typing import Any

from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.lowlevel import Server
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.inbound import (
    MCP_PROTOCOL_VERSION_HEADER,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types import JSONRPCRequest, JSONRPCResponse
from mcp_types import methods as spec_methods
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope, Send

from mcp_gateway.auth.principal import principal_of
from mcp_gateway.registry import Registry, UnknownServerError
from mcp_gateway.server.wire_gates import plain_listing_request

__all__ = ["ModernToolList", "is_modern_request", "modern_answer_bytes"]

_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.lower().encode()
_PLACEHOLDER_PREFIX = '{"jsonrpc":"2.0","id":0,"result":'


def is_modern_request(scope: Scope) -> bool:
    """Whether the SDK's manager sends this request to its modern entry (as it decides: by the header alone)."""
    version = next((value for name, value in scope.get("headers", ()) if name == _VERSION_HEADER), None)
    return version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS


def modern_answer_bytes(result: Mapping[str, Any]) -> bytes | None:
    """The JSON of `result` as the SDK's modern entry writes it inside a response, or None should that not be
    the plain concatenation it is today (then the SDK answers each time)."""
    # The SDK's own calls (mcp.server._streamable_http_modern: _to_jsonrpc_response, then _write) with a
    # placeholder id, which is then cut away: the caller's id goes in front of these bytes.
    body = JSONRPCResponse(jsonrpc="2.0", id=0, result=dict(result)).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    text = json.dumps(body, separators=(",", ":"))
    if not (text.startswith(_PLACEHOLDER_PREFIX) and text.endswith("}")):
        return None
    return text[len(_PLACEHOLDER_PREFIX):-1].encode()


class ModernToolList:
    """Answers one endpoint's repeated modern-era listings from bytes (see the module's docstring)."""

    def __init__(self, registry: Registry, server: str | None) -> None:
        self._registry = registry
        self._server = server

    async def answered(self, manager: StreamableHTTPSessionManager, scope: Scope, body: bytes, send: Send) -> bool:
        """Write the answer and say True, or say False having sent nothing (the SDK answers)."""
        app = manager.app
        if any(isinstance(layer, OpenTelemetryMiddleware) for layer in app.middleware):
            return False
        if len(body) > getattr(manager.asgi_app, "max_body_size", 0) or not principal_of(scope).unrestricted:
            return False
        request = Request(scope)
        security = TransportSecurityMiddleware(manager.security_settings)
        if await security.validate_request(request, is_post=True) is not None:
            return False
        has_json, has_sse = check_accept_headers(request)
        if not has_json or (not manager.json_response and not has_sse):
            return False
        decoded = _listing_request(body)
        if decoded is None or find_duplicated_routing_header(request.headers.items()) is not None:
            return False
        verdict = classify_inbound_request(decoded, headers=dict(request.headers))
        if not isinstance(verdict, InboundModernRoute):
            return False
        params = decoded.get("params", {})
        try:
            spec_methods.validate_client_request("tools/list", verdict.protocol_version, params)
        except (ValidationError, KeyError):
            return False
        encoded = self._encoded_answer(app, verdict.protocol_version, params.get("cursor"))
        if encoded is None:
            return False
        request_id = json.dumps(decoded["id"])
        message = b'{"jsonrpc":"2.0","id":' + request_id.encode() + b',"result":' + encoded + b"}"
        await Response(message, media_type="application/json")(scope, _no_receive, send)
        return True

    def _encoded_answer(self, app: Server[Any], protocol_version: str, cursor: str | None) -> bytes | None:
        try:
            pages = self._registry.tool_pages(self._server)
        except UnknownServerError:
            return None
        # The key tool_list_answers.py keeps the SDK's answer under; the bytes under the same key marked as
        # this encoding (the handshake-era wire encodes with pydantic, and differently).
        key = (protocol_version, cursor, json.dumps(app.server_info_stamp, sort_keys=True))
        encoded_key: Hashable = ("modern", *key)
        encoded = pages.encoded_answers.get(encoded_key)
        if encoded is None:
            answer = pages.answers.get(key)
            if answer is None:
                return None
            encoded = modern_answer_bytes(answer)
            if encoded is None:
                return None
            pages.keep_encoded(encoded_key, encoded)
        return encoded


async def _no_receive() -> Any:  # pragma: no cover - a plain Response never reads the request
    raise RuntimeError("the request was read already")


def _listing_request(body: bytes) -> dict[str, Any] | None:
    """The decoded body when it is one plain `tools/list` request the SDK's request model accepts, or None."""
    message = plain_listing_request(body)
    if message is None:
        return None
    try:
        JSONRPCRequest.model_validate(message)
    except ValidationError:
        return None
    return message
