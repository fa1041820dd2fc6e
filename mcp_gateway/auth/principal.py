"""The caller of one request and what it may see: the one seam between inbound authentication and every front door.

Authentication (gateway keys, OAuth bearer tokens) decides *who* calls and stores a `Principal` in the ASGI scope;
every front door (MCP, REST, the LLM endpoints) asks only this module what that caller may see. Without any
configured keys every request is `UNRESTRICTED`, which is the gateway's behaviour before access control existed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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

    def sees_server(self, server: str) -> bool:
        return _matches(self.servers, server)

    def sees_tool(self, server: str, tool: str) -> bool:
        return self.sees_server(server) and (_matches(self.tools, tool) or _matches(self.tools, f"{server}/{tool}"))


UNRESTRICTED = Principal(name="anonymous", admin=True)
"""The caller when no access control is configured: sees and manages everything, as before keys existed."""


def principal_of(scope: Scope) -> Principal:
    state: Any = scope.get("state") or {}
    principal = state.get(SCOPE_KEY) if isinstance(state, dict) else None
    return principal if isinstance(principal, Principal) else UNRESTRICTED


def bind_principal(scope: Scope, principal: Principal) -> None:
    scope.setdefault("state", {})[SCOPE_KEY] = principal
