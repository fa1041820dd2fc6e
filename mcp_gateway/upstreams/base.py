"""The contract every source of tools fulfils, so the registry never needs to know what is behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import mcp_types as types

HealthState = Literal["starting", "healthy", "unhealthy", "disabled"]


@dataclass(frozen=True)
class Health:
    state: HealthState
    detail: str = ""
    """Human-readable reason; must never contain credentials."""


class Upstream(Protocol):
    """A named source of tools.

    `start()` must not raise for expected failures (unreachable server, broken spec): it records them in
    `health` and leaves `tools()` empty, so one dead upstream never takes down the others.
    """

    name: str

    @property
    def health(self) -> Health: ...

    async def start(self) -> None: ...

    def tools(self) -> list[types.Tool]:
        """Tools under the upstream's own (MCP-valid, unique) names."""
        ...

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call a tool by its upstream name. Failures are results with is_error=True, not exceptions."""
        ...

    async def recover(self) -> None:
        """Called periodically while unhealthy: try again to load or connect, and record the outcome in `health`
        (the registry recomputes names when it turns healthy). Never raises for expected failures."""
        ...

    async def aclose(self) -> None: ...
