"""Strict mode makes the model send null for what it leaves out; those nulls must not reach the tool."""

from __future__ import annotations

import copy

import mcp_types

from mcp_gateway.bridge.strict_arguments import drop_strict_nulls
from mcp_gateway.bridge.tools import convert_tools

ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "customer": {"$ref": "#/$defs/Customer"},
        "priority": {"type": "string", "enum": ["low", "high"]},
        "note": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
        "count": {"type": "integer"},
        "anything": {},
    },
    "required": ["customer", "count"],
    "$defs": {
        "Customer": {"type": "object", "properties": {"name": {"type": "string"}, "address": {"type": "string"}},
                     "required": ["name"]},
        "Tag": {"type": "object", "properties": {"label": {"type": "string"}, "color": {"type": "string"}}},
    },
}


def test_nulls_for_optional_non_nullable_properties_are_dropped_at_every_depth() -> None:
    arguments = {
        "customer": {"name": "Ada", "address": None},
        "priority": None,
        "note": None,
        "tags": [{"label": "x", "color": None}],
        "count": 0,
        "anything": None,
    }
    before = copy.deepcopy(arguments)
    assert drop_strict_nulls(arguments, ORDER_SCHEMA) == {
        "customer": {"name": "Ada"},
        "note": None,
        "tags": [{"label": "x"}],
        "count": 0,
        "anything": None,
    }
    assert arguments == before


def test_nulls_for_required_or_unknown_properties_are_left_for_the_tool_to_judge() -> None:
    assert drop_strict_nulls({"count": None, "extra": None}, ORDER_SCHEMA) == {"count": None, "extra": None}


def test_converted_tools_clean_only_the_tools_offered_in_strict_mode() -> None:
    # Strict mode cannot express an untyped property, so that one is left out of this tool.
    schema = copy.deepcopy(ORDER_SCHEMA)
    del schema["properties"]["anything"]
    tool = mcp_types.Tool(name="orders/create", input_schema=schema)
    strict = convert_tools([tool], "openai", strict=True)
    loose = convert_tools([tool], "openai")
    assert strict.definitions[0]["function"]["strict"] is True
    assert strict.upstream_arguments("orders/create", {"count": 1, "priority": None}) == {"count": 1}
    assert loose.upstream_arguments("orders/create", {"count": 1, "priority": None}) == {"count": 1, "priority": None}
