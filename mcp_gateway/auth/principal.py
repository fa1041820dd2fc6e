"""The caller of one request and what it may see: the one seam between inbound authentication and every front door.

Authentication (gateway keys, OAuth bearer tokens) decides *who* calls and stores a `Principal` in the ASGI scope;
every front door (MCP, REST, the LLM endpoints) asks only this module what that caller may see. Without any
configured keys every request is `UNRESTRICTED`, which is the gateway's behaviour before access control existed.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

SCOPE_KEY = "mcp_gateway.principal"
"""Where authentication leaves the caller, in the request's `scope["state"]`."""


def _matches(patterns: Sequence[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


@dataclass(frozen=True)
class Principal:
    """A caller: a name for logs, the servers and tools it may use (shell-style globs), and the admin role.

    Tool patterns match a tool's name as its own server lists it (`/mcp/{server}`), or `{server}/{tool}` to scope a
    pattern to one server.
    """

    name: str
    servers: tuple[str, ...] = ("*",)
    tools: tuple[str, ...] = ("*",)
    admin: bool = False
    also: tuple[Principal, ...] = ()
    """Further grants, each applying on its own (a token whose claim maps to several grants): servers of one
    never combine with tools of another."""

    @property
    def unrestricted(self) -> bool:
        """Sees every server and tool, so front doors can skip filtering."""
        return self.servers == ("*",) and self.tools == ("*",)

    def sees_server(self, server: str) -> bool:
        return _matches(self.servers, server) or any(grant.sees_server(server) for grant in self.also)

    def sees_tool(self, server: str, tool: str) -> bool:
        # Memoised: a tools/list page filters the whole registry (1,238 tools for GitHub alone) for every
        # request, and glob matching each one was measured at ~10 ms a page.
        return _sees_tool(self.servers, self.tools, self.also, server, tool)


@lru_cache(maxsize=1 << 16)
def _sees_tool(
    servers: tuple[str, ...], tools: tuple[str, ...], also: tuple[Principal, ...], server: str, tool: str
) -> bool:
    own = _matches(servers, server) and (_matches(tools, tool) or _matches(tools, f"{server}/{tool}"))
    return own or any(grant.sees_tool(server, tool) for grant in also)


UNRESTRICTED = Principal(name="anonymous", admin=True)
"""The caller when no access control is configured: sees and manages everything, as before keys existed."""


class Listed(Protocol):
    """A registry entry as far as visibility goes: its server and its name as that server lists it."""

    @property
    def server(self) -> str: ...

    @property
    def server_name(self) -> str: ...


ListedT = TypeVar("ListedT", bound=Listed)


def visible(entries: Sequence[ListedT], principal: Principal) -> list[ListedT]:
    """The entries (registered tools, prompts, resources) this caller may see, in their order."""
    if principal.unrestricted:
        return list(entries)
    return [entry for entry in entries if principal.sees_tool(entry.server, entry.server_name)]


def admin_only(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """For endpoints that change or reveal configuration: 403 unless the caller is an admin (without access
    control every caller is)."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if not principal_of(request.scope).admin:
            return JSONResponse({"error": "this needs an admin key"}, status_code=403)
        return await endpoint(request)

    return guarded


def caller_of(ctx: Any) -> Principal:
    """The caller behind an MCP handler's request context; stdio has no HTTP request and no access control."""
    request = getattr(ctx, "request", None)
    return principal_of(request.scope) if request is not None else UNRESTRICTED


def principal_of(scope: Scope) -> Principal:
    state: Any = scope.get("state") or {}
    principal = state.get(SCOPE_KEY) if isinstance(state, dict) else None
    return principal if isinstance(principal, Principal) else UNRESTRICTED


def bind_principal(scope: Scope, principal: Principal) -> None:
    scope.setdefault("state", {})[SCOPE_KEY] = principal
    _current.set(principal)


_current: ContextVar[Principal] = ContextVar("mcp_gateway.principal", default=UNRESTRICTED)


def current_principal() -> Principal:
    """The caller of the request being served in this task, for SDK callbacks that receive no request (the
    tool input-schema lookup). Handlers that get a request should use `principal_of(request.scope)`."""
    return _current.get()
