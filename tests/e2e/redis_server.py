"""A real redis-server on a free loopback port, for the tests of what replicas share.

`make install` installs Debian's redis-server (and haproxy) where it can (root with apt-get, as in CI); where it
cannot, the tests that need it skip and say why.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.gateway_process import LOOPBACK, free_port, port_ready, start_process, stopping

MISSING_HINT = "(Debian: apt-get install redis-server haproxy; `make services` does it as root)"


def require(program: str) -> str:
    """The program's path, or skip the test saying what is missing."""
    path = shutil.which(program) or (f"/usr/sbin/{program}" if Path(f"/usr/sbin/{program}").exists() else None)
    if path is None:
        pytest.skip(f"{program} is not installed {MISSING_HINT}")
    return path


@contextmanager
def running_redis(log_dir: Path) -> Iterator[str]:
    """A throwaway redis-server (no persistence) until the block ends; yields its URL."""
    program = require("redis-server")
    port = free_port()
    args = [program, "--bind", LOOPBACK, "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", str(log_dir)]
    process = start_process(f"redis-{port}", args, ready=port_ready(port), log_dir=log_dir)
    with stopping(process):
        yield f"redis://{LOOPBACK}:{port}/0"
