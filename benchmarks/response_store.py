"""Stored /v1/responses: put and get latency of the Redis store (`--redis-url`) beside the SQLite store (default).

    .venv/bin/python benchmarks/response_store.py [--responses 300] [--turns 10] [--repetitions 5]

Each repetition stores `--responses` responses (a conversation of `--turns` user/assistant pairs each, as a
follow-up request reads it back) one after another, then reads each back, in each store in turn; it prints each
run and the median microseconds per put and per get, with the ratio Redis / SQLite, all measured in the same run.
Redis is a throwaway redis-server on loopback (Debian package; `make services`), SQLite a file in a temporary
directory: both on this machine, so the numbers show the stores' own cost, not a network's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a script, only benchmarks/ is on sys.path; the process helpers live in the test package.
    sys.path.insert(0, str(REPO_ROOT))

from mcp_gateway.cluster.redis_connection import connect  # noqa: E402
from mcp_gateway.cluster.redis_responses import RedisResponseStore  # noqa: E402
from mcp_gateway.llm.store import ResponseStore, SqliteResponseStore, StoredResponse  # noqa: E402
from tests.e2e.redis_server import running_redis  # noqa: E402


def _response(index: int, turns: int, run: int) -> StoredResponse:
    conversation = []
    for turn in range(turns):
        conversation += [{"role": "user", "content": f"Question {turn} of conversation {index}? " * 4},
                         {"role": "assistant", "content": f"Answer {turn}, with some detail. " * 8}]
    body = {"id": f"resp_{run}_{index}", "object": "response", "output": [{"type": "message", "content": [
        {"type": "output_text", "text": conversation[-1]["content"]}]}]}
    return StoredResponse(f"resp_{run}_{index}", "bench-owner", 1_700_000_000, body, conversation)


async def _measure(store: ResponseStore, responses: list[StoredResponse]) -> tuple[float, float]:
    """Microseconds per put and per get."""
    started = time.perf_counter()
    for stored in responses:
        await store.put(stored)
    put = (time.perf_counter() - started) / len(responses) * 1e6
    started = time.perf_counter()
    for stored in responses:
        found = await store.get(stored.response_id, stored.owner)
        assert found == stored
    get = (time.perf_counter() - started) / len(responses) * 1e6
    return put, get


async def _run(redis_url: str, directory: Path, count: int, turns: int, repetitions: int) -> None:
    client = connect(redis_url)
    stores: dict[str, ResponseStore] = {"sqlite": SqliteResponseStore(directory / "responses.sqlite3"),
                                        "redis": RedisResponseStore(client)}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in stores}
    try:
        for run in range(repetitions):
            responses = [_response(index, turns, run) for index in range(count)]
            for name, store in stores.items():
                put, get = await _measure(store, responses)
                results[name].append((put, get))
                print(f"run {run + 1} {name:>6}: put {put:8.0f} us  get {get:8.0f} us")
    finally:
        for store in stores.values():
            await store.aclose()
        await client.aclose()
    medians = {name: (statistics.median(p for p, _ in runs), statistics.median(g for _, g in runs))
               for name, runs in results.items()}
    for name, (put, get) in medians.items():
        print(f"median {name:>6}: put {put:8.0f} us  get {get:8.0f} us")
    print(f"redis / sqlite: put {medians['redis'][0] / medians['sqlite'][0]:.2f}  "
          f"get {medians['redis'][1] / medians['sqlite'][1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=300)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, running_redis(Path(scratch)) as redis_url:
        anyio.run(_run, redis_url, Path(scratch), args.responses, args.turns, args.repetitions)


if __name__ == "__main__":
    main()
