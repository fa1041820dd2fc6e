"""What trying the handshake first costs when an upstream serves only the 2026-07-28 era.

    .venv/bin/python benchmarks/upstream_era_connect.py [--connects 30] [--repetitions 3]

Starts tests/e2e/relay_upstream.py twice over streamable HTTP (one serving both eras, one `--modern-only`) and
times opening an upstream session the way the gateway does (`upstreams/era.negotiated_client`: `initialize`,
and on refusal the SDK's `server/discover` negotiation) against the SDK's own negotiation alone (`mode="auto"`),
which is what a gateway that always negotiated would pay (a client's own session skips the refused attempt once
the upstream's shared session met it). Prints the median milliseconds per connect over
`--repetitions` runs of `--connects` connects each, and the ratio to the baseline (SDK "auto" on the same server).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp_gateway.upstreams.era import negotiated_client
from tests.e2e.gateway_process import LOOPBACK, free_port, launch_process, port_ready, stopping


async def _connects(count: int, open_one: Callable[[], object]) -> float:
    """Milliseconds per connect (entering and leaving one session, with one tools/list)."""
    started = time.perf_counter()
    for _ in range(count):
        async with open_one() as client:  # type: ignore[attr-defined]
            await client.list_tools()
    return (time.perf_counter() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connects", type=int, default=30)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="era-connect-"))
    ports = {"both eras": free_port(), "modern only": free_port()}
    processes = []
    for label, port in ports.items():
        command = [sys.executable, "-m", "tests.e2e.relay_upstream", "--transport", "http", "--port", str(port)]
        if label == "modern only":
            command.append("--modern-only")
        processes.append(launch_process(f"era-{port}", command, log_dir=log_dir))
    with stopping(processes[0]), stopping(processes[1]):
        for process, port in zip(processes, ports.values(), strict=True):
            process.wait_until_ready(port_ready(port))
        for label, port in ports.items():
            url = f"http://{LOOPBACK}:{port}/mcp"
            ways: dict[str, Callable[[], object]] = {
                'SDK mode="auto" (baseline)': lambda url=url: Client(url, mode="auto"),  # type: ignore[misc]
                "gateway (handshake first)": lambda url=url: negotiated_client(  # type: ignore[misc]
                    lambda mode: Client(url, mode=mode)
                ),
            }
            medians = {
                way: statistics.median(
                    anyio.run(_connects, args.connects, open_one) for _ in range(args.repetitions)
                )
                for way, open_one in ways.items()
            }
            baseline = medians['SDK mode="auto" (baseline)']
            for way, median in medians.items():
                print(f"{label:12s} {way:28s} {median:7.2f} ms/connect  ×{median / baseline:.2f}")


if __name__ == "__main__":
    main()
