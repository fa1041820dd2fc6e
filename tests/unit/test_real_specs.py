"""Every real spec bundled in specs/ converts completely: one valid, unique tool per operation."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from mcp_gateway import names
from mcp_gateway.openapi.loader import read_spec_file
from mcp_gateway.openapi.model import HTTP_METHODS, BodyBinding, OpenAPITools, ToolSpec
from mcp_gateway.openapi.preview import preview
from mcp_gateway.openapi.tools import build_tools

SPECS_DIR = Path(__file__).parents[2] / "specs"
SPEC_FILES = sorted(path for path in SPECS_DIR.iterdir() if path.suffix in (".json", ".yaml", ".yml"))


@cache
def document(name: str) -> dict[str, Any]:
    return read_spec_file(SPECS_DIR / name)


@cache
def tools_of(name: str) -> OpenAPITools:
    return build_tools(document(name))


def count_operations(spec: dict[str, Any]) -> int:
    """Counted straight from the document, independently of build_tools."""
    return sum(1 for item in spec["paths"].values() for method in HTTP_METHODS if method in item)


def references_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for key, value in node.items() if key != "$ref" for ref in references_in(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in references_in(item)]
    return []


def bound_argument_keys(tool: ToolSpec) -> list[str]:
    keys = [parameter.argument for parameter in tool.binding.parameters]
    body = tool.binding.body
    if body is not None:
        keys.extend([body.argument] if body.argument is not None else [key for key, _ in body.properties])
    return keys


spec_names = pytest.mark.parametrize("name", [path.name for path in SPEC_FILES])


def test_the_bundled_specs_are_found() -> None:
    assert {path.name for path in SPEC_FILES} >= {
        "github-api.json",
        "petstore-swagger2.json",
        "uspto-3.0.yaml",
        "webhook-example-3.1.yaml",
    }


@spec_names
def test_one_tool_per_operation_and_nothing_skipped(name: str) -> None:
    tools = tools_of(name)

    assert len(tools.tools) == count_operations(document(name))
    assert tools.skipped == ()


@spec_names
def test_names_are_valid_unique_and_deterministic(name: str) -> None:
    tool_names = [tool.name for tool in tools_of(name).tools]

    assert all(names.MCP.is_valid(tool_name) for tool_name in tool_names)
    assert len(set(tool_names)) == len(tool_names)
    assert [tool.name for tool in build_tools(document(name)).tools] == tool_names


@spec_names
def test_every_argument_is_bound_exactly_once_under_a_valid_key(name: str) -> None:
    for tool in tools_of(name).tools:
        keys = bound_argument_keys(tool)
        assert sorted(keys) == sorted(tool.input_schema["properties"]), tool.name
        assert all(names.PROPERTY.is_valid(key) for key in keys), tool.name


@spec_names
def test_input_schemas_are_json_schema_whose_references_resolve_within_the_tool(name: str) -> None:
    distinct: dict[str, Any] = {}
    for tool in tools_of(name).tools:
        schema = tool.input_schema
        assert schema["type"] == "object"
        definitions = schema.get("$defs", {})
        for ref in references_in(schema):
            assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in definitions, (tool.name, ref)
        for subschema in [*schema["properties"].values(), *definitions.values()]:
            distinct.setdefault(json.dumps(subschema, sort_keys=True), subschema)
    # Tools repeat parameters and share definitions; meta-validating each distinct schema once is
    # as strict as validating every tool, and an order of magnitude faster on the GitHub spec.
    jsonschema.Draft202012Validator.check_schema(
        {"$defs": {str(index): item for index, item in enumerate(distinct.values())}}
    )


@spec_names
def test_preview_describes_exactly_the_registered_tools(name: str) -> None:
    tools = tools_of(name)

    summary = preview(tools)

    assert [tool["name"] for tool in summary["tools"]] == [tool.name for tool in tools.tools]
    assert summary["operations"] == count_operations(document(name))


def test_github_operation_ids_with_slashes_become_underscores() -> None:
    tool = next(tool for tool in tools_of("github-api.json").tools if tool.operation_id == "repos/get")

    assert tool.name == "repos_get"
    assert (tool.binding.method, tool.binding.path) == ("GET", "/repos/{owner}/{repo}")
    assert tool.input_schema["required"] == ["owner", "repo"]


def test_github_loads_with_its_document_server() -> None:
    assert tools_of("github-api.json").servers == ("https://api.github.com",)


def test_uspto_form_body_keeps_the_falsy_default_and_fills_in_the_server_variable() -> None:
    tools = tools_of("uspto-3.0.yaml")
    search = next(tool for tool in tools.tools if tool.operation_id == "perform-search")

    assert tools.servers == ("https://developer.uspto.gov/ds-api",)
    assert search.input_schema["properties"]["start"]["default"] == 0
    assert search.binding.body == BodyBinding(
        media_type="application/x-www-form-urlencoded",
        properties=(("criteria", "criteria"), ("start", "start"), ("rows", "rows")),
    )


def test_petstore_swagger2_yields_its_three_operations_with_servers_from_host_and_base_path() -> None:
    tools = tools_of("petstore-swagger2.json")

    assert [tool.name for tool in tools.tools] == ["listPets", "createPets", "showPetById"]
    assert tools.servers == ("http://petstore.swagger.io/v1",)
    assert tools.tools[0].input_schema["properties"]["limit"] == {
        "type": "integer",
        "format": "int32",
        "description": "How many items to return at one time (max 100)",
    }


def test_webhook_example_yields_only_its_callable_operation() -> None:
    tools = tools_of("webhook-example-3.1.yaml")

    assert [tool.name for tool in tools.tools] == ["listPets"]
    assert tools.servers == ()
