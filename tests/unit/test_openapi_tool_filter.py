"""An OpenAPI server holds only the tools its allowedTools / disallowedTools admit, yet names and lists them as
if it held them all: the same names (suffixes included), the same health counts, warnings only for patterns that
match nothing at all, and a reload that widens the filter brings the other tools in."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from mcp_gateway.config import load_config
from mcp_gateway.memory_budget import MemoryBudget
from mcp_gateway.registry import Registry
from mcp_gateway.reload import ConfigReloader
from mcp_gateway.upstreams.factory import build_registry, registry_server
from mcp_gateway.upstreams.openapi import OpenAPIUpstream

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Items", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9"}],
    "paths": {
        # Two operations share an operationId: the second is `get_item_2` whichever of them a filter keeps.
        "/items/{id}": {"get": {"operationId": "get_item", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}},
        "/v2/items/{id}": {"get": {"operationId": "get_item", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok"}}}},
        "/items": {
            "get": {"operationId": "list items", "responses": {"200": {"description": "ok"}}},
            "delete": {"operationId": "delete_items", "responses": {"204": {"description": "gone"}}},
        },
    },
}


def _config(tmp_path: Path, **tool_filter: list[str]) -> Path:
    tmp_path.mkdir(exist_ok=True)
    spec = tmp_path / "items.json"
    spec.write_text(json.dumps(SPEC), encoding="utf-8")
    path = tmp_path / "servers.json"
    path.write_text(json.dumps({"mcpServers": {"items": {"openapi": {"spec": str(spec)}, **tool_filter}}}),
                    encoding="utf-8")
    return path


async def _started(config: Path) -> Registry:
    registry = build_registry(load_config(config))
    await registry.start()
    return registry


def _listed(registry: Registry) -> dict[str, str]:
    """Gateway name -> the HTTP path the tool calls."""
    upstream = registry.upstream("items")
    assert isinstance(upstream, OpenAPIUpstream) and upstream.loaded is not None
    paths = {tool.name: tool.binding.path for tool in upstream.loaded.tools}
    return {tool.gateway_name: paths[tool.upstream_name] for tool in registry.registered()}


@pytest.mark.anyio
@pytest.mark.parametrize("tool_filter", [
    {"allowedTools": ["get_item_2"]},
    {"allowedTools": ["get_item*", "list_items"], "disallowedTools": ["get_item"]},
    {"disallowedTools": ["get_item", "delete_*"]},
])
async def test_the_tools_held_are_named_and_bound_as_in_a_whole_conversion(
    tmp_path: Path, tool_filter: dict[str, list[str]]
) -> None:
    whole = _listed(await _started(_config(tmp_path / "whole")))
    assert whole == {"items-get_item": "/items/{id}", "items-get_item_2": "/v2/items/{id}",
                     "items-list_items": "/items", "items-delete_items": "/items"}
    filtered = await _started(_config(tmp_path, **tool_filter))
    held = _listed(filtered)
    upstream = filtered.upstream("items")
    assert isinstance(upstream, OpenAPIUpstream) and upstream.loaded is not None
    assert len(upstream.loaded.tools) == len(held), "the upstream holds only what the filter lets through"
    assert held.items() <= whole.items()
    assert "items-get_item_2" in held
    assert "items-get_item" not in held
    assert sorted(upstream.withheld_tools) == sorted(
        name.removeprefix("items-") for name in whole if name not in held)
    status = filtered.servers()[0]
    assert status.tool_count == len(held)
    assert status.health.detail.startswith("4 of 4 operations converted")


@pytest.mark.anyio
async def test_only_a_pattern_that_matches_no_operation_at_all_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        await _started(_config(tmp_path, allowedTools=["get_*", "lsit_items"], disallowedTools=["get_item"]))
    assert "tool filter pattern 'lsit_items' matches no tool" in caplog.text
    assert "'get_item' matches no tool" not in caplog.text
    assert "'get_*' matches no tool" not in caplog.text


@pytest.mark.anyio
async def test_a_reload_that_widens_the_filter_brings_the_other_tools_in(tmp_path: Path) -> None:
    config_path = _config(tmp_path, allowedTools=["list_items"])
    config = load_config(config_path)
    memory = MemoryBudget()
    registry = build_registry(config, memory)
    reloader = ConfigReloader(registry, config_path, config,
                              lambda entry, base_dir: registry_server(entry, base_dir, memory))
    await registry.start()
    try:
        assert [tool.gateway_name for tool in registry.registered()] == ["items-list_items"]
        _config(tmp_path, allowedTools=["list_items", "get_item*"])
        assert await reloader.reload()
        assert [tool.gateway_name for tool in registry.registered()] == [
            "items-get_item", "items-get_item_2", "items-list_items"]
        result = await registry.call_tool("items-get_item_2", {"id": "x"})
        assert result.is_error, "the new tool is routed (and checked: this id must be an integer)"
        assert "integer" in result.content[0].text  # type: ignore[union-attr]
    finally:
        await registry.aclose()
