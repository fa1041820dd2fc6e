"""Which protocol era an upstream session speaks, and what the relay can carry in each.

The gateway opens every upstream session in the handshake era first (`UPSTREAM_ERA`) and lets the SDK
negotiate (`mode="auto"`) only when the upstream refuses the handshake: a modern-only (2026-07-28) server.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.subscriptions import PromptsListChanged, ResourcesListChanged, SubscriptionLost, ToolsListChanged
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

logger = logging.getLogger(__name__)

UPSTREAM_ERA = "legacy"
"""The SDK's connect mode tried first: the handshake era (`initialize`, a session per connection), kept wherever
the upstream offers it. A modern-only upstream refuses it with UNSUPPORTED_PROTOCOL_VERSION naming only modern
versions; then, and only then, the SDK negotiates (`NEGOTIATED`), at the cost of one refused `initialize` per
connection, and the relay translates per era what it can:

- list changes: the shared session listens for them (`follow_list_changes`; `subscriptions/listen`);
- sampling, elicitation, roots: "input required" results. A handshake-era client's own upstream session answers
  them by asking it (`Client.call_tool` drives the retry); a modern-era client gets them passed through and
  retries through the gateway (`call_passing_input`). Tool calls only: prompts/get and resources/read relay
  the upstream's result as it came, and an "input required" one there is not driven for a handshake-era client;
- logging: a client's `logging/setLevel` becomes the `_meta` level each of its requests carries (server/relay.py);
- not translated: resource subscriptions (not advertised in that era, `relayable_capabilities`).

Why not "auto" for every upstream, now that most translates: measured on this branch with UPSTREAM_ERA = "auto"
against tests/e2e/relay_upstream.py (which serves both eras), 7 of the 18 tests in test_gateway_relay.py fail:
three need resource subscriptions; a client's `notifications/roots/list_changed` has nowhere to go (the modern
era has no client-to-server notifications: roots are asked per request); an upstream that cancels its own
question to the client has no such request to cancel there; and two count per-session state in the test
upstream, where every modern request is a session of its own. An upstream that serves both eras is therefore
best relayed in the handshake era. Plain tool calls to it over HTTP still use a modern-era channel
(`McpUpstream._modern_calls_channel`), where nothing per client is needed."""

NEGOTIATED = "auto"
"""The SDK's connect mode once the handshake was refused: it probes `server/discover` and picks a mutual version."""


def is_modern(client: Client) -> bool:
    return client.protocol_version in MODERN_PROTOCOL_VERSIONS


def refuses_handshake(error: BaseException) -> bool:
    """Whether `error` (as the SDK raises it out of a failed connect, possibly inside exception groups) is an
    upstream saying it serves no handshake-era version: UNSUPPORTED_PROTOCOL_VERSION naming modern ones only."""
    if isinstance(error, BaseExceptionGroup):
        return any(refuses_handshake(inner) for inner in error.exceptions)
    if not isinstance(error, MCPError) or error.code != types.UNSUPPORTED_PROTOCOL_VERSION:
        return False
    try:
        supported = types.UnsupportedProtocolVersionErrorData.model_validate(error.error.data).supported
    except ValidationError:
        return False
    return any(version in MODERN_PROTOCOL_VERSIONS for version in supported) and not any(
        version in HANDSHAKE_PROTOCOL_VERSIONS for version in supported
    )


@asynccontextmanager
async def negotiated_client(build: Callable[[str], Client], *, refused: bool = False) -> AsyncIterator[Client]:
    """The client `build(mode)` makes, connected in the handshake era, or in the era the SDK negotiates when
    the upstream refuses the handshake (see `UPSTREAM_ERA`). `refused`: the upstream's shared session already
    found it refusing; a refused attempt costs a connect about as long as the negotiated one
    (benchmarks/upstream_era_connect.py)."""
    async with AsyncExitStack() as stack:
        if refused:
            yield await stack.enter_async_context(build(NEGOTIATED))
            return
        attempt = AsyncExitStack()
        try:
            client = await attempt.enter_async_context(build(UPSTREAM_ERA))
        except Exception as error:
            await attempt.aclose()
            if not refuses_handshake(error):
                raise
            client = await stack.enter_async_context(build(NEGOTIATED))
        else:
            stack.push_async_exit(attempt)
        yield client


async def probe_liveness(client: Client) -> None:
    """One request that any live upstream answers (an error answer counts): `ping` in the handshake era;
    `server/discover` in the modern one, which has no `ping`."""
    if is_modern(client):
        await client.session.send_discover(client.protocol_version)
    else:
        await client.send_ping()


def relayable_capabilities(client: Client) -> types.ServerCapabilities:
    """What the upstream behind `client` offers that the relay can carry in the era `client` speaks.

    Handshake era: all of it. Modern era: all but resource subscriptions (`subscriptions/listen` replaces
    `resources/subscribe` there, and the relay does not translate one into the other yet), so a client is told
    they are not offered instead of having them fail. (Logging is translated: a client's `logging/setLevel`
    becomes the per-request level its own modern-era session stamps, see server/relay.py.)"""
    offered = client.server_capabilities
    resources = offered.resources
    if not is_modern(client) or resources is None or not resources.subscribe:
        return offered
    return offered.model_copy(update={"resources": resources.model_copy(update={"subscribe": None})})


_RELISTEN_PAUSE = 1.0
"""How long to wait before listening again after an upstream's `subscriptions/listen` stream dropped."""

_EVENT_KINDS: dict[type[object], str] = {
    ToolsListChanged: "tools",
    PromptsListChanged: "prompts",
    ResourcesListChanged: "resources",
}


async def follow_list_changes(
    client: Client, changed: Callable[[str], Awaitable[None]], server: str, scope: anyio.CancelScope
) -> None:
    """Tell `changed("tools" | "prompts" | "resources")` whenever a modern-era upstream says a list changed:
    the 2026-07-28 era has no standalone stream for notifications, only `subscriptions/listen` streams. Runs
    until `scope` is cancelled (with the connection) and never raises: the connection's own failure is its
    holder's to report. A stream that drops is opened again, and every list it watched is reported changed
    (events are not replayed); an upstream that refuses to listen is left alone (it announces no changes)."""
    with scope:
        try:
            await _follow(client, changed, server)
        except Exception as error:
            logger.debug("server '%s': stopped following list changes: %s", server, error)


async def _follow(client: Client, changed: Callable[[str], Awaitable[None]], server: str) -> None:
    offered = client.server_capabilities
    kinds = {
        "tools": offered.tools is not None and bool(offered.tools.list_changed),
        "prompts": offered.prompts is not None and bool(offered.prompts.list_changed),
        "resources": offered.resources is not None and bool(offered.resources.list_changed),
    }
    if not any(kinds.values()):
        return
    dropped = False
    while True:
        try:
            async with client.listen(
                tools_list_changed=kinds["tools"],
                prompts_list_changed=kinds["prompts"],
                resources_list_changed=kinds["resources"],
            ) as subscription:
                if dropped:
                    for kind, watched in kinds.items():
                        if watched:
                            await changed(kind)
                async for event in subscription:
                    what = _EVENT_KINDS.get(type(event))
                    if what is not None:
                        await changed(what)
            return  # the upstream closed the stream gracefully: it has nothing more to say
        except MCPError as error:
            if not dropped:
                logger.info("server '%s': list changes are not followed: %s", server, error.message)
                return
        except SubscriptionLost:
            pass
        dropped = True
        await anyio.sleep(_RELISTEN_PAUSE)


class InputRequired(Exception):
    """A modern-era upstream asks the modern-era client behind the call for input (sampling, elicitation,
    roots): `result` goes back to that client unchanged, which answers by calling again with the responses.
    Raised through the registry, which types tool results as final, to the front door that returns it."""

    def __init__(self, result: types.InputRequiredResult) -> None:
        super().__init__("input required")
        self.result = result


async def call_passing_input(
    client: Client,
    name: str,
    arguments: dict[str, Any],
    retry: types.InputResponseRequestParams,
    *,
    on_progress: ProgressFnT | None,
    meta: types.RequestParamsMeta | None,
) -> types.CallToolResult:
    """Call a tool on a modern-era session for a modern-era client, carrying that client's answers from an
    earlier round (`retry`); an "input required" result is the client's to answer (raised as `InputRequired`).
    Stateless like the era: any replica of the gateway can take the retry."""
    result = await client.session.call_tool(
        name,
        arguments,
        progress_callback=on_progress,
        input_responses=retry.input_responses,
        request_state=retry.request_state,
        meta=meta,
        allow_input_required=True,
    )
    if isinstance(result, types.InputRequiredResult):
        raise InputRequired(result)
    if not isinstance(result, types.CallToolResult):
        raise RuntimeError(f"an extension's result the gateway cannot relay: {type(result).__name__}")
    return result
