"""The conversion cache through the command line: `--cache-dir` keeps converted specs there, a second run
lists the same tools from it, and `--no-cache` neither reads nor writes one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.gateway_process import SPECS_DIR, CliRuns, run_cli, write_config

SPEC = SPECS_DIR / "petstore-swagger2.json"


def _parsed(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_cache_dir_keeps_the_conversion_and_no_cache_writes_none(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"pets": {"openapi": {"spec": str(SPEC), "baseUrl": "http://127.0.0.1:9"}}})
    cache_dir = tmp_path / "cache"

    uncached_dir = tmp_path / "unused"
    # Each command spends seconds importing: the two independent ones run at once.
    runs = CliRuns({
        "cold": ["tools", "--config", str(config), "--json", "--cache-dir", str(cache_dir)],
        "uncached": ["tools", "--config", str(config), "--json", "--no-cache", "--cache-dir", str(uncached_dir)],
    })
    try:
        cold, uncached = _parsed(runs["cold"]), _parsed(runs["uncached"])
    finally:
        runs.close()
    entries = list((cache_dir / "openapi").glob("*.json"))
    stored = entries[0].stat().st_ino if entries else None
    warm = _parsed(run_cli("tools", "--config", str(config), "--json", "--cache-dir", str(cache_dir), timeout=120))

    assert len(entries) == 1
    assert entries[0].stat().st_ino == stored, "the warm run read the entry instead of converting and replacing it"
    assert [tool["name"] for tool in cold] == ["pets-listPets", "pets-createPets", "pets-showPetById"]
    assert warm == cold == uncached
    assert not uncached_dir.exists()
