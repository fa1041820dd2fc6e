"""The conversion cache: a hit is exactly the cold conversion; anything changed or damaged is a miss."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from mcp_gateway.openapi import conversion_cache
from mcp_gateway.openapi.conversion_cache import ConversionCache, convert, default_cache_dir
from mcp_gateway.openapi.loader import SpecText
from mcp_gateway.openapi.model import OpenAPITools
from mcp_gateway.openapi.tools import build_tools

SPECS = Path(__file__).resolve().parents[2] / "specs"
UNIT_SPECS = Path(__file__).resolve().parent / "specs"


def _spec(path: Path) -> SpecText:
    return SpecText(path.read_text(encoding="utf-8"), str(path), str(path.resolve()))


def _entries(directory: Path) -> list[Path]:
    return sorted((directory / "openapi").glob("*.json"))


@pytest.fixture(scope="module")
def github() -> SpecText:
    return _spec(SPECS / "github-api.json")


@pytest.fixture(scope="module")
def github_converted(github: SpecText) -> OpenAPITools:
    return build_tools(github.parse())


def test_a_hit_is_identical_to_a_cold_conversion(tmp_path: Path, github: SpecText,
                                                 github_converted: OpenAPITools) -> None:
    cache = ConversionCache(tmp_path)
    assert cache.load(github) is None
    first = convert(github, cache)
    assert _entries(tmp_path), "the conversion was stored"

    cached = cache.load(github)

    assert cached is not None
    assert cached == first == github_converted
    assert len(cached.tools) == 1223
    # Not only equal: the same names, in the same order, with the same bindings and schemas as JSON.
    assert [tool.name for tool in cached.tools] == [tool.name for tool in github_converted.tools]
    assert json.dumps([t.input_schema for t in cached.tools], sort_keys=True) == json.dumps(
        [t.input_schema for t in github_converted.tools], sort_keys=True
    )


def test_a_hit_keeps_defs_shared_between_tools(tmp_path: Path, github: SpecText,
                                               github_converted: OpenAPITools) -> None:
    cache = ConversionCache(tmp_path)
    cache.store(github, github_converted)
    cached = cache.load(github)
    assert cached is not None

    def distinct_defs(tools: OpenAPITools) -> int:
        return len({id(tool.input_schema["$defs"]) for tool in tools.tools if "$defs" in tool.input_schema})

    def distinct_schemas(tools: OpenAPITools) -> int:
        return len({id(schema) for tool in tools.tools for schema in tool.input_schema.get("$defs", {}).values()})

    assert distinct_defs(cached) == distinct_defs(github_converted)
    assert distinct_schemas(cached) == distinct_schemas(github_converted)


@pytest.mark.parametrize("name", ["broken-operations.yaml", "odd-names.yaml", "bodies.yaml", "swagger2-forms.yaml"])
def test_skipped_operations_bodies_and_odd_names_survive(tmp_path: Path, name: str) -> None:
    spec = _spec(UNIT_SPECS / name)
    cache = ConversionCache(tmp_path)
    cold = convert(spec, cache)
    assert cache.load(spec) == cold == build_tools(spec.parse())


def test_skipped_operations_are_kept(tmp_path: Path) -> None:
    spec = _spec(UNIT_SPECS / "broken-operations.yaml")
    cache = ConversionCache(tmp_path)
    cold = convert(spec, cache)
    cached = cache.load(spec)
    assert cold.skipped, "the fixture has operations that cannot become tools"
    assert cached is not None and cached.skipped == cold.skipped


def test_a_changed_spec_misses_and_replaces_its_entry(tmp_path: Path) -> None:
    path = tmp_path / "api.json"
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/items": {"get": {"operationId": "listItems", "responses": {"200": {"description": "ok"}}}}},
    }
    path.write_text(json.dumps(document))
    cache = ConversionCache(tmp_path / "cache")
    before = convert(_spec(path), cache)

    document["paths"]["/items"]["post"] = {"operationId": "addItem", "responses": {"200": {"description": "ok"}}}
    path.write_text(json.dumps(document))
    changed = _spec(path)
    assert cache.load(changed) is None
    after = convert(changed, cache)

    assert [tool.name for tool in before.tools] == ["listItems"]
    assert [tool.name for tool in after.tools] == ["listItems", "addItem"]
    assert cache.load(changed) == after
    assert len(_entries(tmp_path / "cache")) == 1, "one entry per spec location, replaced on change"


def test_another_converter_version_misses(tmp_path: Path, github: SpecText, github_converted: OpenAPITools,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ConversionCache(tmp_path)
    cache.store(github, github_converted)
    monkeypatch.setattr(conversion_cache, "converter_fingerprint", lambda: "a newer converter")
    assert cache.load(github) is None


def test_the_fingerprint_covers_the_converter_sources() -> None:
    covered = set()
    for relative in conversion_cache._CONVERTER_SOURCES:
        root = conversion_cache._PACKAGE_DIR / relative
        covered |= {path.name for path in (root.rglob("*.py") if root.is_dir() else [root])}
    assert {"schemas.py", "operations.py", "tools.py", "names.py", "swagger2.py", "loader.py"} <= covered


def _stored_entry(tmp_path: Path) -> tuple[ConversionCache, SpecText, Path]:
    spec = _spec(SPECS / "petstore-swagger2.json")
    cache = ConversionCache(tmp_path)
    convert(spec, cache)
    (entry,) = _entries(tmp_path)
    return cache, spec, entry


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda raw: raw[: len(raw) // 2], id="truncated"),
        pytest.param(lambda raw: b"", id="empty"),
        pytest.param(lambda raw: b"\x00\xff garbage", id="garbage"),
        pytest.param(lambda raw: raw.replace(b'"source_name":"', b'"source_name":"x', 1), id="payload-edited"),
        pytest.param(lambda raw: raw.replace(b'"format": 2,', b'"format": 99,', 1), id="other-format"),
    ],
)
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path: Path, damage: object,
                                                caplog: pytest.LogCaptureFixture) -> None:
    cache, spec, entry = _stored_entry(tmp_path)
    good = cache.load(spec)
    assert good is not None
    damaged = damage(entry.read_bytes())  # type: ignore[operator]
    assert damaged != entry.read_bytes()
    entry.write_bytes(damaged)

    with caplog.at_level(logging.INFO, logger=conversion_cache.__name__):
        assert cache.load(spec) is None
        rebuilt = convert(spec, cache)

    assert rebuilt == good == build_tools(spec.parse())
    assert cache.load(spec) == good, "the damaged entry was replaced"


def _forged(tmp_path: Path, edit: Callable[[bytes], bytes]) -> tuple[ConversionCache, SpecText]:
    """The stored entry with its payload edited and its digest made to match."""
    cache, spec, entry = _stored_entry(tmp_path)
    header, _, payload = entry.read_bytes().partition(b"\n")
    forged = edit(payload)
    assert forged != payload
    fields = json.loads(header)
    fields["digest"] = conversion_cache.hashlib.sha256(forged).hexdigest()
    entry.write_bytes(json.dumps(fields).encode() + b"\n" + forged)
    return cache, spec


@pytest.mark.parametrize("edit", [
    pytest.param(lambda payload: payload.replace(b'"path"', b'"nowhere"', 1), id="unknown-location"),
    pytest.param(lambda payload: payload.replace(b'"tools":[["', b'"tools":[[7,"', 1), id="name-not-a-string"),
    pytest.param(lambda payload: payload.replace(b'"tools":[["', b'"tools":[["x",-9,99999999],["', 1),
                 id="record-outside-the-entry"),
    pytest.param(lambda payload: payload.partition(b"\n")[0], id="no-records"),
    pytest.param(lambda payload: payload.replace(b"\n", b" ", 1), id="no-index"),
])
def test_a_well_formed_payload_of_the_wrong_shape_is_a_miss(tmp_path: Path, edit: Callable[[bytes], bytes]) -> None:
    cache, spec = _forged(tmp_path, edit)
    assert cache.load(spec) is None


def test_a_filtered_load_decodes_only_the_tools_it_holds(tmp_path: Path, github: SpecText,
                                                         github_converted: OpenAPITools) -> None:
    cache = ConversionCache(tmp_path)
    cache.store(github, github_converted)
    kept = {"repos_get", "pulls_get"}
    held = cache.load(github, kept.__contains__)
    assert held is not None
    assert list(held.tools) == [tool for tool in github_converted.tools if tool.name in kept]
    assert len(held.withheld) == 1221 and held.operation_count == github_converted.operation_count
    (entry,) = _entries(tmp_path)
    # The other tools' records are never parsed: an entry whose other records are damaged (digest fixed up)
    # still gives these two.
    header, _, payload = entry.read_bytes().partition(b"\n")
    index, _, records = payload.partition(b"\n")
    spans = {name: (start, end) for name, start, end in json.loads(index)["tools"]}
    start, end = spans["repos_list-for-user"]
    damaged = index + b"\n" + records[:start] + b"!" * (end - start) + records[end:]
    fields = json.loads(header)
    fields["digest"] = conversion_cache.hashlib.sha256(damaged).hexdigest()
    entry.write_bytes(json.dumps(fields).encode() + b"\n" + damaged)
    assert cache.load(github, kept.__contains__) == held
    assert cache.load(github) is None


def test_a_filtered_conversion_is_not_stored(tmp_path: Path) -> None:
    spec = _spec(UNIT_SPECS / "odd-names.yaml")
    cache = ConversionCache(tmp_path)
    held = convert(spec, None, lambda name: name == "updateItem")
    assert [tool.name for tool in held.tools] == ["updateItem"]
    cache.store(spec, held)
    assert cache.load(spec) is None


def test_an_unwritable_directory_only_costs_the_saving(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A file where the directory should be: no user (root included) can create entries below it.
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    spec = _spec(SPECS / "petstore-swagger2.json")
    cache = ConversionCache(blocked)
    with caplog.at_level(logging.WARNING, logger=conversion_cache.__name__):
        tools = convert(spec, cache)
    assert tools == build_tools(spec.parse())
    assert "cannot write" in caplog.text
    assert cache.load(spec) is None


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    _stored_entry(tmp_path)
    assert [path.name for path in (tmp_path / "openapi").iterdir() if not path.name.endswith(".json")] == []


def test_default_directory() -> None:
    assert default_cache_dir({"MCP_GATEWAY_CACHE_DIR": "/x/y"}) == Path("/x/y")
    assert default_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/mcp-gateway")
    # A relative XDG_CACHE_HOME is invalid per the XDG spec and ignored.
    assert default_cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/h"}).name == "mcp-gateway"
    assert default_cache_dir({"XDG_CACHE_HOME": "rel"}).parent.name == ".cache"
