"""The official MCP conformance suite (@modelcontextprotocol/conformance 0.1.16, server scenarios) and its
reference server, as the tests and benchmarks/conformance.py run them.

`setup.sh` installs the suite, node 22 and the reference server's dependencies from the npm registry into
$CONFORMANCE_DIR (default ~/.cache/mcp-conformance); `conformance.sh` runs the suite against a URL and ends its
output with "N passed, N failed". Both, `summarize_conformance.py` and `reference-server/` are copied from the
suite's repository at tag v0.1.16 (see reference-server/LICENSE); the reference server binds 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETUP_TIMEOUT_SECONDS = 300.0
RUN_TIMEOUT_SECONDS = 240

REPO_ROOT = HERE.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.gateway_process import (  # noqa: E402
    LOOPBACK,
    free_port,
    launch_process,
    port_ready,
    stopping,
)


class SuiteUnavailable(RuntimeError):
    """npm is missing or the npm registry cannot be reached: the suite cannot be installed here."""


@dataclass(frozen=True)
class Outcome:
    passed: int
    failed: int
    output: str

    @property
    def total(self) -> int:
        return self.passed + self.failed


def install() -> Path:
    """Install (once) what the suite needs; the path of node 22."""
    if shutil.which("npm") is None:
        raise SuiteUnavailable("npm is not installed (the conformance suite and node 22 come from the npm registry)")
    try:
        done = subprocess.run(
            ["bash", str(HERE / "setup.sh")], capture_output=True, text=True, timeout=SETUP_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise SuiteUnavailable(f"installing the conformance suite took over {SETUP_TIMEOUT_SECONDS:g}s") from error
    found = re.search(r"^node: (.+)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise SuiteUnavailable(f"installing the conformance suite failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return Path(found.group(1).strip())


def conformance_dir() -> Path:
    return Path(os.environ.get("CONFORMANCE_DIR", Path.home() / ".cache" / "mcp-conformance"))


@contextmanager
def running_reference_server(node: Path, log_dir: Path) -> Iterator[str]:
    """The suite's reference server on a free loopback port; yields its MCP URL (with `localhost`, which the
    DNS-rebinding scenario needs)."""
    port = free_port()
    server = conformance_dir() / "reference-server" / "everything-server.mjs"
    process = launch_process(f"conformance-reference-{port}", [str(node), str(server)], log_dir=log_dir,
                             env={"PORT": str(port)})
    with stopping(process):
        process.wait_until_ready(port_ready(port))
        yield f"http://localhost:{port}/mcp"


def run(url: str, *, profile: str = "full", strict: bool = False, scenarios: Sequence[str] = ()) -> Outcome:
    """Run the suite against `url` (profile "full": all 32 scenarios; "names-free": the 8 that name nothing;
    `scenarios`: just these)."""
    command = ["bash", str(HERE / "conformance.sh"), url, "--profile", profile, "--timeout", str(RUN_TIMEOUT_SECONDS)]
    for scenario in scenarios:
        command += ["--scenario", scenario]
    if strict:
        command.append("--strict")
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS + 60, check=False)
    output = done.stdout + done.stderr
    counts = re.findall(r"^(\d+) passed, (\d+) failed$", done.stdout, re.MULTILINE)
    if not counts:
        raise RuntimeError(f"the conformance run printed no totals (exit {done.returncode}):\n{output[-3000:]}")
    passed, failed = counts[-1]
    return Outcome(int(passed), int(failed), output)


__all__ = ["LOOPBACK", "Outcome", "SuiteUnavailable", "install", "run", "running_reference_server"]
