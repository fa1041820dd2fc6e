"""What flows back from an upstream MCP server, and requests relayed to it unchanged.

An upstream session is either the upstream's shared one (every plain call of every client) or one opened for a
single downstream client. `SessionHandlers` say what the gateway answers when the upstream asks something back
(sampling, elicitation, roots) or tells something (log messages, progress, resource updates, list changes); the
front door builds them so that each reaches only the client whose session or request caused it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.shared.dispatcher import ProgressFnT
from pydantic import TypeAdapter

ProgressCallback = ProgressFnT
"""(progress, total, message), as the SDK's dispatcher reports an upstream's progress on one request."""

SamplingHandler = Callable[[types.CreateMessageRequestParams], Awaitable[types.CreateMessageResult | types.ErrorData]]
ElicitationHandler = Callable[[types.ElicitRequestParams], Awaitable[types.ElicitResult | types.ErrorData]]
RootsHandler = Callable[[], Awaitable[types.ListRootsResult | types.ErrorData]]
NotificationHandler = Callable[[types.ServerNotification], Awaitable[None]]

# Keys the SDK stamps per session (2026-07-28 envelope): a relayed request gets the upstream session's own.
_SESSION_META_KEYS = frozenset(
    {
        types.PROTOCOL_VERSION_META_KEY,
        types.CLIENT_INFO_META_KEY,
        types.CLIENT_CAPABILITIES_META_KEY,
        "progressToken",
    }
)


@dataclass(frozen=True)
class SessionHandlers:
    """Answers for what an upstream session may ask or tell. A handler left None is a capability the gateway
    does not declare to the upstream on this session, so a well-behaved upstream never asks for it."""

    sampling: SamplingHandler | None = None
    elicitation: ElicitationHandler | None = None
    roots: RootsHandler | None = None
    notification: NotificationHandler | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `mcp.Client`: callbacks only for what is handled (the SDK derives the declared
        capabilities from which callbacks are set)."""
        options: dict[str, Any] = {}
        if self.sampling is not None:
            sampling = self.sampling

            async def on_sampling(
                context: ClientRequestContext, params: types.CreateMessageRequestParams
            ) -> types.CreateMessageResult | types.ErrorData:
                return await sampling(params)

            options["sampling_callback"] = on_sampling
        if self.elicitation is not None:
            elicitation = self.elicitation

            async def on_elicitation(
                context: ClientRequestContext, params: types.ElicitRequestParams
            ) -> types.ElicitResult | types.ErrorData:
                return await elicitation(params)

            options["elicitation_callback"] = on_elicitation
        if self.roots is not None:
            roots = self.roots

            async def on_roots(context: ClientRequestContext) -> types.ListRootsResult | types.ErrorData:
                return await roots()

            options["list_roots_callback"] = on_roots
        if self.notification is not None:
            notification = self.notification

            async def on_message(message: Any) -> None:
                # Transport faults also arrive here; the holder task reports those through health.
                if not isinstance(message, Exception):
                    await notification(message)

            options["message_handler"] = on_message
        return options


class _RawRequest(types.Request[dict[str, Any] | None, str]):
    """Any client request, its params exactly as the downstream client sent them."""


# The SDK types results as models; a plain dict is what a relay wants (nothing dropped, nothing re-shaped).
_RAW_RESULT: Any = TypeAdapter(dict[str, Any])


def relayable_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A downstream request's params, minus what belongs to the downstream session (its progress token, its
    protocol envelope): the upstream session supplies its own."""
    if params is None:
        return None
    relayed = dict(params)
    meta = relayed.get("_meta")
    if isinstance(meta, Mapping):
        kept = {key: value for key, value in meta.items() if key not in _SESSION_META_KEYS}
        if kept:
            relayed["_meta"] = kept
        else:
            relayed.pop("_meta")
    return relayed


async def send_raw(
    client: Client,
    method: str,
    params: Mapping[str, Any] | None,
    *,
    timeout: float,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Send `method` with `params` to the upstream and return its result as it came (after the SDK's check that
    it is a valid result for the negotiated version)."""
    request = _RawRequest(method=method, params=relayable_params(params))
    result: dict[str, Any] = await client.session.send_request(
        request, _RAW_RESULT, request_read_timeout_seconds=timeout, progress_callback=on_progress
    )
    return result
