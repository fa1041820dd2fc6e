"""Which protocol era an upstream session speaks, and what the relay can carry in each.

The gateway opens every upstream session in the handshake era first (`UPSTREAM_ERA`) and lets the SDK
negotiate (`mode="auto"`) only when the upstream refuses the handshake: a modern-only (2026-07-28) server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.subscriptions import SubscriptionLost
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

logger = logging.getLogger(__name__)

UPSTREAM_ERA = "legacy"
"""The SDK's connect mode tried first: the handshake era (`initialize`, a session per connection), kept wherever
the upstream offers it. A modern-only upstream refuses it with UNSUPPORTED_PROTOCOL_VERSION naming only modern
versions; then, and only then, the SDK negotiates (`NEGOTIATED`), and the relay translates per era:

- list changes: the shared session keeps a `subscriptions/listen` stream open (`follow_list_changes`);
- resource subscriptions: a client's own session listens for its URIs (`ResourceWatch`);
- sampling, elicitation, roots: "input required" results. A handshake-era client's own upstream session answers
  them by asking it (`Client.call_tool` drives the retry); a modern-era client gets them passed through and
  retries through the gateway (`call_passing_input`). The same holds for prompts/get and resources/read
  (`DRIVEN_FOR_OWN_SESSIONS`);
- logging: a client's `logging/setLevel` becomes the `_meta` level each of its requests carries (server/relay.py).

Why not "auto" for every upstream: measured on this branch with UPSTREAM_ERA = "auto" against
tests/e2e/relay_upstream.py (which serves both eras), 4 of the 19 tests in test_gateway_relay.py fail. Two do not
translate: a client's `notifications/roots/list_changed` has nowhere to go (the modern era has no client-to-server
notifications; roots are asked per request), and an upstream that cancels its own question to the client has no
such request to cancel. Two count per-session state in the test upstream, where every modern request is a
session of its own. And an upstream that asks its client with server-to-client requests inside a tool call, as
handshake-era servers do, can only do so in that era. Plain tool calls to an HTTP upstream that serves both eras
still use a modern-era channel (upstreams/modern_channel.py), where nothing per client is needed."""

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
        # The session's ping, not `Client.send_ping`: that one warns on every call that ping left the modern era.
        await client.session.send_ping()


def relayable_capabilities(client: Client) -> types.ServerCapabilities:
    """What the upstream behind `client` offers, as the relay carries it in either era: all of it (what the
    modern era does differently is translated, see `UPSTREAM_ERA`)."""
    return client.server_capabilities


_RELISTEN_PAUSE = 1.0
"""How long to wait before listening again after an upstream's `subscriptions/listen` stream dropped."""


async def follow_list_changes(
    client: Client, changed: Callable[[str], Awaitable[None]], server: str, scope: anyio.CancelScope
) -> None:
    """Keep a `subscriptions/listen` stream open for a modern-era upstream's list changes (that era has no
    standalone stream for notifications); each arrives at the session's message handler as its notification.
    Runs until `scope` is cancelled (with the connection) and never raises: the connection's own failure is its
    holder's to report. A stream that drops is opened again, and every list it watched is reported to
    `changed("tools" | "prompts" | "resources")` (events are not replayed); an upstream that refuses to listen
    is left alone (it announces no changes)."""
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
                # Each event also reaches the session's message handler as the notification it replaces (the
                # SDK's tee), where the handshake era's arrive: that is where it is handled.
                async for _event in subscription:
                    pass
            return  # the upstream closed the stream gracefully: it has nothing more to say
        except MCPError as error:
            if not dropped:
                logger.info("server '%s': list changes are not followed: %s", server, error.message)
                return
        except SubscriptionLost:
            pass
        dropped = True
        await anyio.sleep(_RELISTEN_PAUSE)


DRIVEN_FOR_OWN_SESSIONS = frozenset({"prompts/get", "resources/read"})
"""Requests besides tools/call whose "input required" results a handshake-era client's own modern-era session
answers by asking that client (`answer_asking`); a modern-era client gets them as they came."""


async def answer_asking(
    client: Client, method: str, params: Mapping[str, Any] | None, *, timeout: float
) -> dict[str, Any]:
    """`method` (one of `DRIVEN_FOR_OWN_SESSIONS`) on `client`, a handshake-era client's own modern-era session:
    the SDK answers each "input required" round with the session's callbacks, which ask the client behind it.
    Returns the final result as the wire carries it; all rounds together get `timeout`."""
    arguments = dict(params or {})
    meta = arguments.get("_meta")
    result: types.Result
    try:
        with anyio.fail_after(timeout):
            if method == "prompts/get":
                result = await client.get_prompt(str(arguments.get("name")), arguments.get("arguments"), meta=meta)
            else:
                result = await client.read_resource(str(arguments.get("uri")), meta=meta)
    except TimeoutError:
        raise MCPError(types.REQUEST_TIMEOUT, f"no answer within {timeout:g}s") from None
    return result.model_dump(by_alias=True, mode="json", exclude_unset=True)


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


class ResourceWatch:
    """One client's resource subscriptions at a modern-era upstream, where `resources/subscribe` does not exist:
    one `subscriptions/listen` stream naming every URI, opened again (after the old one closes) whenever the set
    changes. An update the upstream sends in between is missed, as with any re-listen. Updates reach the
    session's message handler as `notifications/resources/updated` (the SDK's tee), as in the handshake era."""

    def __init__(self, client: Client, server: str) -> None:
        self._client = client
        self._server = server
        self._uris: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def change(self, uri: str, *, watched: bool) -> None:
        """Watch `uri` or stop; returns once the upstream acknowledged the new set (or raises its refusal)."""
        if watched:
            self._uris.add(uri)
        else:
            self._uris.discard(uri)
        await self.aclose()
        if not self._uris:
            return
        acknowledged = anyio.Event()
        refusal: list[Exception] = []
        self._task = asyncio.get_running_loop().create_task(self._listen(sorted(self._uris), acknowledged, refusal))
        await acknowledged.wait()
        if refusal:
            raise refusal[0]

    async def _listen(self, uris: list[str], acknowledged: anyio.Event, refusal: list[Exception]) -> None:
        """Listen until closed; a stream that drops once acknowledged (the upstream restarted or went away) is
        opened again, as the client still counts on its subscriptions."""
        try:
            while True:
                try:
                    async with self._client.listen(resource_subscriptions=uris) as subscription:
                        acknowledged.set()
                        async for _event in subscription:
                            pass
                except Exception as error:  # a task of its own: what ends it is the upstream's to say, or nobody's
                    if not acknowledged.is_set():
                        refusal.append(error)
                        return
                    logger.debug("server '%s': resource subscriptions ended: %s", self._server, error)
                acknowledged.set()
                await anyio.sleep(_RELISTEN_PAUSE)
        finally:
            acknowledged.set()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
