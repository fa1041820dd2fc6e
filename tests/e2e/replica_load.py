"""Concurrent official MCP clients of both protocol eras calling tools until told to stop, counting what succeeded,
what failed and how often a handshake-era client had to start a new session: the load of the replica tests and of
benchmarks/replica_failover.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import anyio
from mcp import Client, MCPError

from tests.e2e.gateway_process import result_text

CALL_SECONDS = 0.2
"""Each call waits this long at the upstream (`api-slowEcho`), so calls are in flight when a replica stops."""


@dataclass
class Load:
    succeeded: Counter[str] = field(default_factory=Counter)
    failed: list[tuple[str, str]] = field(default_factory=list)
    reinitialized: int = 0

    def total(self) -> int:
        return sum(self.succeeded.values())


async def modern_client(url: str, load: Load, stop: anyio.Event) -> None:
    """A modern-era (2026-07-28) client: every call a self-contained POST that any replica can answer."""
    index = 0
    while not stop.is_set():
        try:
            async with Client(url, mode="2026-07-28") as client:
                while not stop.is_set():
                    index += 1
                    tool, arguments = (("api-slowEcho", {"seconds": CALL_SECONDS}) if index % 2
                                       else ("tools-echo", {"text": f"modern {index}"}))
                    result = await client.call_tool(tool, arguments)
                    if result.is_error:
                        load.failed.append(("modern", result_text(result)))
                    else:
                        load.succeeded["modern"] += 1
        except Exception as error:
            # A dropped connection can end the SDK client as a whole (its task group), not only the call.
            load.failed.extend(("modern", f"{type(leaf).__name__}: {leaf}") for leaf in _leaves(error))
            await anyio.sleep(0.1)


async def handshake_client(url: str, load: Load, stop: anyio.Event) -> None:
    """A handshake-era client: a session in one replica; told 404 when that replica is gone, it starts anew."""
    while not stop.is_set():
        try:
            async with Client(url, mode="legacy") as client:
                index = 0
                while not stop.is_set():
                    index += 1
                    result = await client.call_tool("api-slowEcho", {"seconds": CALL_SECONDS})
                    if result.is_error:
                        load.failed.append(("handshake", result_text(result)))
                    else:
                        load.succeeded["handshake"] += 1
        except Exception as error:
            problems = [leaf for leaf in _leaves(error) if not _session_gone(leaf)]
            if problems:
                load.failed.extend(("handshake", f"{type(leaf).__name__}: {leaf}") for leaf in problems)
                await anyio.sleep(0.1)
            else:
                load.reinitialized += 1


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _session_gone(error: BaseException) -> bool:
    # What the SDK's client raises for a 404 on its session (its own words, or the server's 404 body): the spec's
    # signal to initialize again. A 500 would surface as another error and fail the test.
    return isinstance(error, MCPError) and error.error.message in ("Session terminated", "Session not found")


async def wait_for_calls(load: Load, count: int) -> None:
    with anyio.fail_after(60):
        while load.total() < count:
            await anyio.sleep(0.02)
