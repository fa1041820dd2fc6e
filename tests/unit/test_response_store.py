"""The SQLite response store: what one caller stores, only that caller reads or deletes, across reopening."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcp_gateway.llm.store import SqliteResponseStore, StoredResponse, StoreError, default_database_path

pytestmark = pytest.mark.anyio


def _stored(response_id: str, owner: str = "alice") -> StoredResponse:
    return StoredResponse(response_id, owner, 1_700_000_000, {"id": response_id, "output": [{"type": "message"}]},
                          [{"role": "user", "content": "héllo"}, {"role": "assistant", "content": "hi"}])


async def test_a_stored_response_survives_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "responses.sqlite3"
    store = SqliteResponseStore(path)
    await store.put(_stored("resp_1"))
    await store.aclose()
    reopened = SqliteResponseStore(path)
    try:
        assert await reopened.get("resp_1", "alice") == _stored("resp_1")
    finally:
        await reopened.aclose()


async def test_another_owner_can_neither_read_nor_delete(tmp_path: Path) -> None:
    store = SqliteResponseStore(tmp_path / "r.db")
    try:
        await store.put(_stored("resp_1"))
        assert await store.get("resp_1", "mallory") is None
        assert await store.delete("resp_1", "mallory") is False
        assert await store.get("resp_1", "alice") is not None
        assert await store.delete("resp_1", "alice") is True
        assert await store.get("resp_1", "alice") is None
        assert await store.delete("resp_1", "alice") is False
    finally:
        await store.aclose()


async def test_concurrent_writes_all_land(tmp_path: Path) -> None:
    store = SqliteResponseStore(tmp_path / "r.db")
    try:
        async with anyio.create_task_group() as group:
            for index in range(40):
                group.start_soon(store.put, _stored(f"resp_{index}"))
        found = [await store.get(f"resp_{index}", "alice") for index in range(40)]
        assert all(stored is not None for stored in found)
    finally:
        await store.aclose()


def test_the_default_path_follows_the_data_dir_variables(tmp_path: Path) -> None:
    assert default_database_path({"MCP_GATEWAY_DATA_DIR": str(tmp_path)}) == tmp_path / "responses.sqlite3"
    assert default_database_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "mcp_gateway" / "responses.sqlite3"


async def test_a_database_that_cannot_be_opened_is_a_store_error(tmp_path: Path) -> None:
    store = SqliteResponseStore(tmp_path)  # a directory, not a database file
    try:
        with pytest.raises(StoreError) as failed:
            await store.get("resp_1", "alice")
        assert str(tmp_path) in str(failed.value)
        with pytest.raises(StoreError):
            await store.put(_stored("resp_1"))
    finally:
        await store.aclose()
