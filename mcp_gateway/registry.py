"""All upstreams' tools in one place: per-server names, gateway-wide `{server}-{tool}` names, filters, routing.

Names are a pure function of the configuration and the upstreams' tool lists (config order, then each
upstream's order), so every replica computes the same registry.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload

import anyio
import anyio.abc
import mcp_types as types

from mcp_gateway import names
from mcp_gateway.argument_validation import ArgumentValidators, describe_problems
from mcp_gateway.limits import CallLimiter, ServerBusy
from mcp_gateway.tool_pages import ToolPages
from mcp_gateway.upstreams.base import Health, Upstream

logger = logging.getLogger(__name__)


class UnknownToolError(LookupError):
    """A call named a tool the registry does not expose (never existed, or filtered out)."""


class UnknownServerError(LookupError):
    pass


@dataclass(frozen=True)
class RegisteredTool:
    server: str
    upstream_name: str
    """The tool's name at its upstream."""
    server_name: str
    """Its name under /mcp/{server}: the upstream name, sanitized and deduplicated within the server."""
    gateway_name: str
    """Its name under /mcp: `{server}-{tool}`, unique across the gateway."""
    definition: types.Tool

    def as_tool(self, *, prefixed: bool) -> types.Tool:
        name = self.gateway_name if prefixed else self.server_name
        return self.definition.model_copy(update={"name": name})


@dataclass(frozen=True)
class ServerStatus:
    name: str
    kind: str
    health: Health
    tool_count: int


def _matches(patterns: Sequence[str], *candidates: str) -> bool:
    return any(fnmatch.fnmatchcase(candidate, pattern) for pattern in patterns for candidate in candidates)


@dataclass(frozen=True)
class ToolFilter:
    """allowedTools / disallowedTools; patterns are shell-style globs matched against upstream or server names."""

    allowed: tuple[str, ...] | None = None
    disallowed: tuple[str, ...] = ()

    def admits(self, upstream_name: str, server_name: str) -> bool:
        if self.allowed is not None and not _matches(self.allowed, upstream_name, server_name):
            return False
        return not _matches(self.disallowed, upstream_name, server_name)


@dataclass
class RegistryServer:
    upstream: Upstream
    kind: str
    tool_filter: ToolFilter
    limiter: CallLimiter | None = None


ChangeListener = Callable[[str, str], None]
"""Told (server, what: "tools" | "prompts" | "resources") when what a client can see of a server may have changed."""

LIST_KINDS = ("tools", "prompts", "resources")

ToolOutcome = str
"""How a tool call ended: "ok", "error" (an isError result), "invalid_arguments", "busy", "unknown_tool", or
"exception"/"cancelled" when it raised."""


class CallObserver(Protocol):
    """Told about every tool call the registry routes (metrics); both methods must be cheap and never raise."""

    def call_started(self) -> None: ...

    def call_finished(self, server: str, tool: str, outcome: ToolOutcome, seconds: float) -> None: ...

    def server_recovered(self, server: str) -> None: ...


class RelayedResult(Protocol):
    """What the registry reads of a relayed call's result (a `CallToolResult`, or a result a front door keeps in
    another form to write it unchanged, upstreams/wire_result.py)."""

    @property
    def is_error(self) -> bool: ...


Relayed = TypeVar("Relayed", bound=RelayedResult)

ToolRelay = Callable[[Upstream, str, dict[str, Any]], Awaitable[Relayed]]
"""(upstream, the tool's upstream name, arguments) -> result: how a front door calls a tool it relays."""


class Registry:
    def __init__(self, servers: Sequence[RegistryServer]) -> None:
        self._servers = {server.upstream.name: server for server in servers}
        self._tools: list[RegisteredTool] = []
        self._by_gateway_name: dict[str, RegisteredTool] = {}
        # Every server is known (with no tools yet) before start(): state routes answer while servers start.
        self._by_server: dict[str, dict[str, RegisteredTool]] = {name: {} for name in self._servers}
        self._validators = ArgumentValidators()
        self._pages: dict[str | None, ToolPages] = {}
        self._listeners: list[ChangeListener] = []
        self._starting: dict[str, anyio.Event] = {}
        self._all_started: anyio.Event | None = None
        self.observer: CallObserver | None = None
        for server in servers:
            self._watch(server.upstream)

    def _watch(self, upstream: Upstream) -> None:
        # Only some upstreams can change on their own (an MCP server's list_changed); others change on reload.
        on_change = getattr(upstream, "on_change", None)
        if on_change is not None:
            on_change(self._upstream_changed)

    def on_change(self, listener: ChangeListener) -> None:
        """Be told when a server's tools, prompts or resources may have changed (a list_changed from the
        upstream, a server that recovered, a reload)."""
        self._listeners.append(listener)

    def _changed(self, server: str, kinds: Sequence[str] = LIST_KINDS) -> None:
        for kind in kinds:
            for listener in list(self._listeners):
                try:
                    listener(server, kind)
                except Exception:
                    logger.exception("change listener failed for server '%s'", server)

    def _upstream_changed(self, server: str, kind: str) -> None:
        if server not in self._servers:
            return
        if kind == "tools":
            self.rebuild()
        self._changed(server, (kind,))

    async def changed_elsewhere(self, server: str, kind: str) -> None:
        """Another replica saw `server`'s `kind` change: bring the server back now if it is down here (the other
        replica just saw it up), then tell this replica's clients."""
        registered = self._servers.get(server)
        if registered is None:
            return
        if registered.upstream.health.state == "unhealthy":
            # recover() tells the listeners itself when the server comes back.
            await self.recover()
            return
        self._changed(server, (kind,))

    async def start(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start every upstream concurrently; an upstream that fails only marks itself unhealthy. Reports
        `task_status` started as soon as `wait_started` can tell who is still starting."""
        self._starting = {name: anyio.Event() for name in self._servers}
        self._all_started = anyio.Event()
        task_status.started()
        try:
            await self._start(list(self._servers.values()))
            self.rebuild()
            self._log_started(list(self._servers))
        finally:
            self._all_started.set()

    async def wait_started(self, servers: Sequence[str] | None = None) -> None:
        """Until `servers` have finished starting (healthy or not), or with None until every server has and the
        listings hold their tools. Immediately when `start` has not begun or is done."""
        if self._all_started is None or self._all_started.is_set():
            return  # without the checkpoint of waiting on a set event: every request asks
        if servers is None:
            await self._all_started.wait()
            return
        for name in servers:
            event = self._starting.get(name)
            if event is not None:
                await event.wait()

    async def _start(self, servers: Sequence[RegistryServer]) -> None:
        async def start_one(server: RegistryServer) -> None:
            try:
                await server.upstream.start()
            except Exception:
                # start() is meant to record expected failures itself; anything else is a bug in that upstream,
                # and it must still not take the other servers down with it.
                logger.exception("server '%s' failed to start", server.upstream.name)
            finally:
                started = self._starting.get(server.upstream.name)
                if started is not None:
                    started.set()

        async with anyio.create_task_group() as group:
            for server in servers:
                group.start_soon(start_one, server)

    def _log_started(self, names: Sequence[str]) -> None:
        for status in self.servers():
            if status.name not in names:
                continue
            level = logging.WARNING if status.health.state == "unhealthy" else logging.INFO
            detail = f" ({status.health.detail})" if status.health.detail else ""
            logger.log(level, "server '%s' (%s): %s, %d tools exposed%s",
                       status.name, status.kind, status.health.state, status.tool_count, detail)

    async def recover(self) -> None:
        """Give every unhealthy upstream another try; recompute names if any tool list may have changed."""
        recovered: list[str] = []

        async def recover_one(server: RegistryServer) -> None:
            before = server.upstream.health
            try:
                await server.upstream.recover()
            except Exception:
                logger.exception("server '%s' failed while recovering", server.upstream.name)
            after = server.upstream.health
            if after.state == "healthy":
                recovered.append(server.upstream.name)
            elif after.detail != before.detail:
                # Only news is logged: a server that stays down the same way is not repeated every interval.
                logger.warning("server '%s' still unhealthy: %s", server.upstream.name, after.detail)

        async with anyio.create_task_group() as group:
            for server in self._servers.values():
                if server.upstream.health.state == "unhealthy":
                    group.start_soon(recover_one, server)
        if recovered:
            self.rebuild()
            for name in recovered:
                if name not in self._servers:
                    continue  # removed by a reload meanwhile
                logger.info("server '%s' recovered: %s", name, self._servers[name].upstream.health.detail)
                if self.observer is not None:
                    self.observer.server_recovered(name)
                self._changed(name)

    async def recover_forever(self, interval: float) -> None:
        """Background task of the running gateway: `recover()` every `interval` seconds."""
        while True:
            await anyio.sleep(interval)
            await self.recover()

    async def reconfigure(self, servers: Sequence[RegistryServer]) -> None:
        """Serve `servers` from now on, in their order: the ones already held (the same objects) keep running
        untouched, new ones are started, and the ones left out are closed once no longer listed."""
        kept = {id(server) for server in servers}
        current = {id(server) for server in self._servers.values()}
        added = [server for server in servers if id(server) not in current]
        removed = [server for server in self._servers.values() if id(server) not in kept]
        for server in added:
            self._watch(server.upstream)
        await self._start(added)
        self._servers = {server.upstream.name: server for server in servers}
        self.rebuild()
        self._log_started([server.upstream.name for server in added])
        for server in removed:
            # A server replaced under the same name was already announced with the added ones.
            if server.upstream.name not in self._servers:
                self._changed(server.upstream.name)
        for server in added:
            self._changed(server.upstream.name)
        for server in removed:
            try:
                await server.upstream.aclose()
            except Exception:
                logger.exception("server '%s' failed to close cleanly", server.upstream.name)

    def rebuild(self) -> None:
        """Recompute every name from the upstreams' current tool lists."""
        # A tool's schema may have changed under the same name (list_changed, reload): check against the new one.
        self._validators = ArgumentValidators()
        prefixes = names.allocate_names(self._servers, names.MCP)
        collected: list[tuple[str, types.Tool, str]] = []
        for server_name in self._servers:
            upstream_tools = self._servers[server_name].upstream.tools()
            local = names.allocate_names([tool.name for tool in upstream_tools], names.MCP)
            seen: set[str] = set()
            for tool in upstream_tools:
                if tool.name in seen:
                    # An upstream listing one name twice can only be called once under it.
                    logger.warning("server '%s' lists tool '%s' twice; keeping the first", server_name, tool.name)
                    continue
                seen.add(tool.name)
                collected.append((server_name, tool, local[tool.name]))
        self._warn_unmatched_patterns(collected)
        # Per position, not per string: server "a-b" with tool "c" and server "a" with tool "b-c" both join to
        # "a-b-c" and must still get two names.
        gateway_names = names.allocate_each(
            [f"{prefixes[server]}-{local_name}" for server, _, local_name in collected], names.MCP
        )
        tools: list[RegisteredTool] = []
        for (server_name, tool, local_name), gateway_name in zip(collected, gateway_names, strict=True):
            if not self._servers[server_name].tool_filter.admits(tool.name, local_name):
                continue
            tools.append(RegisteredTool(server_name, tool.name, local_name, gateway_name, tool))
        # A server found down keeps its tools resolvable (a call says clearly that it is down, and reconnects if
        # it is back) but out of every listing.
        self._tools = [tool for tool in tools if self._listed(tool.server)]
        # Every change of what is listed comes through here (start, reload, recovery, an upstream's list_changed).
        self._pages = {}
        self._validators.clear()
        self._by_gateway_name = {tool.gateway_name: tool for tool in tools}
        self._by_server = {server: {} for server in self._servers}
        for registered in tools:
            self._by_server[registered.server][registered.server_name] = registered

    def _warn_unmatched_patterns(self, collected: Sequence[tuple[str, types.Tool, str]]) -> None:
        # A misspelt allow-list entry otherwise just makes a tool silently vanish.
        for server_name, server in self._servers.items():
            tool_filter = server.tool_filter
            candidates = [(tool.name, local) for owner, tool, local in collected if owner == server_name]
            # Tools an upstream converted but did not hold because this filter refuses them (an OpenAPI spec's);
            # their names are already valid, so each is its own server name.
            withheld: Sequence[str] = getattr(server.upstream, "withheld_tools", ())
            candidates += [(name, name) for name in withheld]
            if not candidates:
                continue
            patterns = (*(tool_filter.allowed or ()), *tool_filter.disallowed)
            for pattern in patterns:
                if not any(_matches((pattern,), upstream, local) for upstream, local in candidates):
                    logger.warning("server '%s': tool filter pattern '%s' matches no tool", server_name, pattern)

    def server_names(self) -> list[str]:
        return list(self._servers)

    def has_server(self, name: str) -> bool:
        return name in self._servers

    def registry_servers(self) -> list[RegistryServer]:
        """The servers as configured, in order (for a reload to tell kept ones from changed ones)."""
        return list(self._servers.values())

    def upstream(self, server: str) -> Upstream:
        """The source behind a server, for front doors that relay more than tools (prompts, resources, ...)."""
        if server not in self._servers:
            raise UnknownServerError(server)
        return self._servers[server].upstream

    def servers(self) -> list[ServerStatus]:
        return [
            ServerStatus(name, server.kind, server.upstream.health,
                         len(self._by_server.get(name, {})) if self._listed(name) else 0)
            for name, server in self._servers.items()
        ]

    def _listed(self, server: str) -> bool:
        down: bool = getattr(self._servers[server].upstream, "down", False)
        return not down

    def registered(self, server: str | None = None) -> list[RegisteredTool]:
        """The tools a client sees listed: of every server (prefixed names) or of one."""
        if server is None:
            return list(self._tools)
        if server not in self._servers:
            raise UnknownServerError(server)
        return list(self._by_server[server].values()) if self._listed(server) else []

    def list_tools(self, server: str | None = None) -> list[types.Tool]:
        """Tools as an MCP client sees them: prefixed on the gateway endpoint, unprefixed on a server's own."""
        return [tool.as_tool(prefixed=server is None) for tool in self.registered(server)]

    def tool_pages(self, server: str | None = None) -> ToolPages:
        """`tools/list` pages of the gateway endpoint (None) or one server's, prepared once per registry change."""
        pages = self._pages.get(server)
        if pages is None:
            pages = self._pages[server] = ToolPages(self.registered(server), prefixed=server is None)
        return pages

    def resolve(self, name: str, server: str | None = None) -> RegisteredTool:
        if server is None:
            found = self._by_gateway_name.get(name)
        else:
            if server not in self._servers:
                raise UnknownServerError(server)
            found = self._by_server[server].get(name)
        if found is None:
            raise UnknownToolError(name)
        return found

    @overload
    async def call_tool(self, name: str, arguments: dict[str, Any], server: str | None = None) -> types.CallToolResult:
        ...

    @overload
    async def call_tool(
        self, name: str, arguments: dict[str, Any], server: str | None = None, *, relay: ToolRelay[Relayed]
    ) -> Relayed | types.CallToolResult: ...

    async def call_tool(
        self, name: str, arguments: dict[str, Any], server: str | None = None, *,
        relay: ToolRelay[RelayedResult] | None = None,
    ) -> RelayedResult:
        """Validate the arguments, wait for the server's call limit, and call the tool: through `relay` when a
        front door carries more than the call (progress, a client's own session), else `upstream.call_tool`."""
        observer = self.observer
        if observer is None:
            return (await self._call_tool(name, arguments, server, relay))[0]
        # Labelled by the registered tool's own names only, never by what the caller sent: bounded by the config.
        started = time.perf_counter()
        observer.call_started()
        server_label, tool_label, outcome = "", "", "exception"
        try:
            result, tool, outcome = await self._call_tool(name, arguments, server, relay)
            if tool is not None:
                server_label, tool_label = tool.server, tool.server_name
            return result
        except (UnknownToolError, UnknownServerError):
            outcome = "unknown_tool"
            raise
        except BaseException as error:
            outcome = "cancelled" if isinstance(error, anyio.get_cancelled_exc_class()) else "exception"
            raise
        finally:
            observer.call_finished(server_label, tool_label, outcome, time.perf_counter() - started)

    async def _call_tool(
        self, name: str, arguments: dict[str, Any], server: str | None, relay: ToolRelay[RelayedResult] | None
    ) -> tuple[RelayedResult, RegisteredTool | None, ToolOutcome]:
        tool = self.resolve(name, server)
        problems = self._validators.problems(tool.gateway_name, tool.definition.input_schema, arguments)
        if problems:
            return types.CallToolResult(content=[types.TextContent(text=describe_problems(name, problems))],
                                        is_error=True), tool, "invalid_arguments"
        registered = self._servers[tool.server]

        async def invoke() -> tuple[RelayedResult, RegisteredTool | None, ToolOutcome]:
            result: RelayedResult
            if relay is not None:
                result = await relay(registered.upstream, tool.upstream_name, arguments)
            else:
                result = await registered.upstream.call_tool(tool.upstream_name, arguments)
            return result, tool, "error" if result.is_error else "ok"

        if registered.limiter is None:
            return await invoke()
        try:
            async with registered.limiter.slot():
                return await invoke()
        except ServerBusy as busy:
            return types.CallToolResult(content=[types.TextContent(text=str(busy))], is_error=True), tool, "busy"

    async def aclose(self) -> None:
        for server in self._servers.values():
            try:
                await server.upstream.aclose()
            except Exception:
                logger.exception("server '%s' failed to close cleanly", server.upstream.name)
