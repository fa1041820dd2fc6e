"""benchmarks/peers.py pins each row's processes to cores as its docstring says, on real processes (Linux, two
cores or more): the server under test alone on core 0 in most rows, the upstream alone on that core in the
`(floor alone)` rows, every process on every core in the unpinned ones."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from benchmarks.peers import SERVER_CORE, Row, pin_row

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs Linux and two cores"
)


@pytest.fixture
def processes() -> Iterator[dict[str, int]]:
    """Three idle processes standing for a gateway, its upstream and the API; this process is the load generator."""
    started = {name: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
               for name in ("gateway", "floor", "api")}
    mine = os.sched_getaffinity(0)
    try:
        yield {name: process.pid for name, process in started.items()}
    finally:
        os.sched_setaffinity(0, mine)
        for process in started.values():
            process.kill()
            process.wait()


def cores(pid: int) -> set[int]:
    return os.sched_getaffinity(pid)


def test_a_pinned_row_gives_its_server_core_0_alone(processes: dict[str, int]) -> None:
    row = Row("gateway mcp", "http://127.0.0.1:1/mcp/floor", "getItem", (processes["gateway"],))
    pin_row(row, list(processes.values()))
    assert cores(processes["gateway"]) == {SERVER_CORE}
    assert SERVER_CORE not in cores(processes["floor"]) | cores(processes["api"]) | cores(0)


def test_a_floor_alone_row_gives_the_upstream_core_0_alone(processes: dict[str, int]) -> None:
    row = Row("gateway mcp (floor alone)", "http://127.0.0.1:1/mcp/floor", "getItem", (processes["gateway"],),
              alone=(processes["floor"],))
    pin_row(row, list(processes.values()))
    assert cores(processes["floor"]) == {SERVER_CORE}
    assert SERVER_CORE not in cores(processes["gateway"]) | cores(processes["api"]) | cores(0)


def test_an_unpinned_row_puts_every_process_on_every_core(processes: dict[str, int]) -> None:
    every = set(range(os.cpu_count() or 1))
    pin_row(Row("floor", "http://127.0.0.1:1/mcp", "getItem", (processes["floor"],)), list(processes.values()))
    pin_row(Row("floor x2", "http://127.0.0.1:1/mcp", "getItem", (processes["floor"],), pinned=False),
            list(processes.values()))
    assert all(cores(pid) == every for pid in [*processes.values(), 0])
