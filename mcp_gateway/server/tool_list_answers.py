"""`tools/list` answers kept in the SDK's own wire form, so a listing is shaped once per registry change.

The SDK shapes every result for the protocol version of the request (it validates the handler's result against
that version's schema and dumps it again) before the transport encodes it. For a big registry that reshaping is
most of the cost of a listing (measured: ~60% of the gateway's CPU for the 1,223 GitHub tools), and its answer
only changes when the registry does. This middleware sits inside the SDK's middleware chain, lets the first
request of each kind go through the whole pipeline (handshake gate, params validation, handler, shaping), and
answers the same request afterwards with what that pipeline returned.

What decides an answer is the key: the endpoint (one middleware per low-level server), the protocol version,
the cursor, and on modern-era requests the server identity stamped into the result. Answers live with the
endpoint's prepared pages (tool_pages.py), which the registry drops on every change, so a stale answer can not
outlive the tools it lists. Only callers who see every tool are answered from here; a key that hides tools goes
through the handler each time. A handshake-era connection that has not initialized goes through the SDK's
gate. Requests with any parameter besides `cursor` and `_meta` are not kept.

The SDK's answer is a deep copy of the tools; where it equals the prepared page (nothing was dropped for the
version), the kept answer refers to the page's wire forms instead, so schemas stay shared across tools and a
kept listing of Microsoft Graph's 11,422 tools costs no more memory than the registry already holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_gateway.auth.principal import caller_of
from mcp_gateway.registry import Registry, UnknownServerError

__all__ = ["ToolListAnswers"]

_KEPT_PARAMS = frozenset({"cursor", "_meta"})


class ToolListAnswers(ServerMiddleware[Any]):
    def __init__(
        self,
        registry: Registry,
        server: str | None,
        decode_cursor: Callable[[str | None], int],
        server_info_stamp: Callable[[], dict[str, Any]],
    ) -> None:
        self._registry = registry
        self._server = server
        self._decode_cursor = decode_cursor
        self._server_info_stamp = server_info_stamp

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/list" or ctx.request_id is None:
            return await call_next(ctx)
        key = self._key(ctx)
        if key is None:
            return await call_next(ctx)
        # Taken before the handler runs: should the registry change meanwhile, the answer is kept with the
        # pages it was made from, which the registry has already dropped.
        try:
            pages = self._registry.tool_pages(self._server)
        except UnknownServerError:
            return await call_next(ctx)  # removed by a reload a moment ago: the handler answers as it would
        known = pages.answers.get(key)
        if known is not None:
            return dict(known)
        result = await call_next(ctx)
        if isinstance(result, dict):
            pages.answers[key] = self._sharing(result, pages.page(self._offset(key[1])).tools)
        return result

    def _key(self, ctx: ServerRequestContext[Any, Any]) -> tuple[str, str | None, str] | None:
        params = ctx.params or {}
        cursor = params.get("cursor")
        if not _KEPT_PARAMS.issuperset(params) or not isinstance(cursor, str | None):
            return None
        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        if not modern and ctx.session.client_params is None:
            return None  # not initialized (or no client info): the SDK's handshake gate decides
        if not caller_of(ctx).unrestricted:
            return None
        stamp = json.dumps(self._server_info_stamp(), sort_keys=True) if modern else ""
        return ctx.protocol_version, cursor, stamp

    def _offset(self, cursor: str | None) -> int:
        try:
            return self._decode_cursor(cursor)
        except MCPError:  # pragma: no cover - the handler already accepted this cursor
            return 0

    @staticmethod
    def _sharing(result: dict[str, Any], page_tools: list[dict[str, Any]]) -> dict[str, Any]:
        tools = result.get("tools")
        if tools == page_tools:
            return {**result, "tools": page_tools}
        return result
