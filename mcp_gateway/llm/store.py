"""Stored responses of `/v1/responses`: what `previous_response_id`, `GET` and `DELETE /v1/responses/{id}` read.

A stored response belongs to the caller that created it (`owner`, the principal's name: a gateway key's name, or
`subject@issuer` for a token). Every read and delete names the owner, and a response of another owner is simply
not there, so another key gets the same 404 as for an id that never existed.

`ResponseStore` is the one interface callers use. `SqliteResponseStore` keeps responses in an embedded SQLite
database (the standard library's sqlite3, each statement run in a worker thread so the event loop never waits on
the disk), so a restart of the gateway loses nothing; a shared implementation (Redis, Postgres) for replicas only
has to implement the same four methods.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio.to_thread

DATA_DIR_VARIABLE = "MCP_GATEWAY_DATA_DIR"
DATABASE_NAME = "responses.sqlite3"

_T = TypeVar("_T")


class StoreError(Exception):
    """The store cannot do what was asked (its database unreachable, unwritable, corrupt). Every implementation
    raises this for its own failures, so callers never depend on one engine's exceptions."""


@dataclass(frozen=True)
class StoredResponse:
    """One response as the gateway keeps it."""

    response_id: str
    owner: str
    created_at: int
    """Unix seconds."""
    response: dict[str, Any]
    """The Response object as the caller received it: what GET returns."""
    conversation: list[dict[str, Any]] = field(default_factory=list)
    """The conversation through this response, in the loop's OpenAI Chat shape (without instructions, which a
    follow-up request gives anew): a request with `previous_response_id` continues from it."""

    def to_json(self) -> dict[str, Any]:
        return {"response": self.response, "conversation": self.conversation}


class ResponseStore(Protocol):
    """Where stored responses live. Every method is safe to call concurrently and raises `StoreError` when the
    store fails."""

    async def put(self, stored: StoredResponse) -> None:
        """Keep `stored`, replacing a response of the same id and owner."""
        ...

    async def get(self, response_id: str, owner: str) -> StoredResponse | None:
        """The response, or None when there is none of that id for this owner."""
        ...

    async def delete(self, response_id: str, owner: str) -> bool:
        """Forget the response; False when there was none of that id for this owner."""
        ...

    async def aclose(self) -> None: ...


def default_database_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$MCP_GATEWAY_DATA_DIR/responses.sqlite3`, else under `$XDG_DATA_HOME/mcp_gateway` (~/.local/share)."""
    env = os.environ if environ is None else environ
    data_dir = env.get(DATA_DIR_VARIABLE)
    if data_dir:
        return Path(data_dir) / DATABASE_NAME
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mcp_gateway" / DATABASE_NAME


_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (id, owner)
)
"""


class SqliteResponseStore:
    """Responses in one SQLite file, opened on first use. One connection, used by one worker thread at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # WAL lets a reader and the writer proceed together and survives a crash mid-write.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
            self._connection = connection
        return self._connection

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def locked() -> _T:
            with self._lock:
                return work(self._connect())

        try:
            return await anyio.to_thread.run_sync(locked)
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"the response database {self.path} failed: {error}") from error

    async def put(self, stored: StoredResponse) -> None:
        data = json.dumps(stored.to_json(), ensure_ascii=False)

        def write(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT OR REPLACE INTO responses (id, owner, created_at, data) VALUES (?, ?, ?, ?)",
                (stored.response_id, stored.owner, stored.created_at, data),
            )

        await self._run(write)

    async def get(self, response_id: str, owner: str) -> StoredResponse | None:
        def read(connection: sqlite3.Connection) -> tuple[int, str] | None:
            row = connection.execute(
                "SELECT created_at, data FROM responses WHERE id = ? AND owner = ?", (response_id, owner)
            ).fetchone()
            return (int(row[0]), str(row[1])) if row is not None else None

        found = await self._run(read)
        if found is None:
            return None
        created_at, data = found
        stored = json.loads(data)
        return StoredResponse(response_id, owner, created_at, stored["response"], stored["conversation"])

    async def delete(self, response_id: str, owner: str) -> bool:
        def remove(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute("DELETE FROM responses WHERE id = ? AND owner = ?", (response_id, owner))
            return cursor.rowcount > 0

        return await self._run(remove)

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None

        await anyio.to_thread.run_sync(close)
