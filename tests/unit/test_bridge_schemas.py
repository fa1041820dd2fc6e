"""Schema rewriting: the clean-up every provider gets, Gemini's subset, and OpenAI strict mode."""

from __future__ import annotations

import copy
from typing import Any

from mcp_gateway.bridge.gemini_schema import to_gemini_schema
from mcp_gateway.bridge.schemas import normalize_schema
from mcp_gateway.bridge.strict_schema import StrictLimits, to_strict_schema


def gemini(properties: dict[str, Any], **root: Any) -> dict[str, Any]:
    converted = to_gemini_schema(normalize_schema({"type": "object", "properties": properties, **root}))
    return dict(converted["properties"])


def strict(schema: dict[str, Any]) -> dict[str, Any] | None:
    return to_strict_schema(normalize_schema(schema))


# Normalization for every provider


def test_missing_or_empty_schema_means_an_object_without_arguments() -> None:
    assert normalize_schema(None) == {"type": "object", "properties": {}}
    assert normalize_schema({}) == {"type": "object", "properties": {}}


def test_root_is_forced_to_an_object_and_schema_identifiers_are_dropped() -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:x", "properties": {"a": {}}}
    assert normalize_schema(schema) == {"type": "object", "properties": {"a": {}}}


def test_every_array_gets_items_at_any_depth() -> None:
    schema = {"properties": {"tags": {"type": "array"}, "deep": {"anyOf": [{"type": ["array", "null"]}]}}}
    normalized = normalize_schema(schema)
    assert normalized["properties"]["tags"] == {"type": "array", "items": {}}
    assert normalized["properties"]["deep"]["anyOf"][0]["items"] == {}


def test_a_property_named_like_a_keyword_is_left_alone() -> None:
    schema = {"properties": {"type": {"type": "string"}, "items": {"type": "integer"}}}
    assert normalize_schema(schema)["properties"] == schema["properties"]


def test_draft4_leftovers_are_translated_to_2020_12() -> None:
    schema = {
        "properties": {
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            "upload": {"type": "file"},
            "above": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "flag": {"type": "number", "maximum": 5, "exclusiveMaximum": False},
        }
    }
    properties = normalize_schema(schema)["properties"]
    assert properties["pair"]["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert properties["upload"] == {"type": "string"}
    assert properties["above"] == {"type": "number", "exclusiveMinimum": 0}
    assert properties["flag"] == {"type": "number", "maximum": 5}


def test_malformed_keyword_values_are_dropped_instead_of_sent() -> None:
    schema = {"properties": {"a": {"type": "string", "minLength": -1, "enum": [], "required": True, "type2": 1}}}
    assert normalize_schema(schema)["properties"]["a"] == {"type": "string", "type2": 1}


def test_boolean_subschemas_become_objects() -> None:
    properties = normalize_schema({"properties": {"any": True, "never": False}})["properties"]
    assert properties == {"any": {}, "never": {"not": {}}}


def test_normalization_never_touches_or_shares_the_callers_schema() -> None:
    schema = {"properties": {"tags": {"type": "array", "default": ["x"]}}, "$schema": "s"}
    before = copy.deepcopy(schema)
    normalized = normalize_schema(schema)
    normalized["properties"]["tags"]["default"].append("y")
    assert schema == before


# Gemini's OpenAPI 3.0 subset


def test_gemini_inlines_local_references_and_keeps_the_sibling_description() -> None:
    properties = gemini(
        {"owner": {"$ref": "#/$defs/User", "description": "who owns it"}},
        **{"$defs": {"User": {"type": "object", "properties": {"login": {"type": "string"}}}}},
    )
    assert properties["owner"] == {
        "type": "object",
        "properties": {"login": {"type": "string"}},
        "description": "who owns it",
    }


def test_gemini_resolves_swagger_style_definitions_too() -> None:
    properties = gemini({"pet": {"$ref": "#/definitions/Pet"}}, definitions={"Pet": {"type": "string"}})
    assert properties["pet"] == {"type": "string"}


def test_gemini_cuts_a_recursive_reference_with_a_permissive_object() -> None:
    node = {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
    properties = gemini({"root": {"$ref": "#/$defs/Node"}}, **{"$defs": {"Node": node}})
    cut = properties["root"]["properties"]["children"]["items"]
    assert cut["type"] == "object"
    assert "recursive reference to Node" in cut["description"]


def test_gemini_turns_null_alternatives_into_nullable() -> None:
    properties = gemini(
        {
            "a": {"type": ["string", "null"]},
            "b": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "count"},
            "c": {"type": "string", "nullable": True},
        }
    )
    assert properties["a"] == {"type": "string", "nullable": True}
    assert properties["b"] == {"type": "integer", "description": "count", "nullable": True}
    assert properties["c"] == {"type": "string", "nullable": True}


def test_gemini_turns_other_type_arrays_and_one_of_into_any_of() -> None:
    properties = gemini(
        {"a": {"type": ["string", "integer"]}, "b": {"oneOf": [{"type": "string"}, {"type": "boolean"}]}}
    )
    assert properties["a"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert properties["b"] == {"anyOf": [{"type": "string"}, {"type": "boolean"}]}


def test_gemini_const_becomes_a_string_enum_and_enum_values_become_strings() -> None:
    properties = gemini({"mode": {"const": "fast"}, "level": {"type": "string", "enum": ["low", 2, True]}})
    assert properties["mode"] == {"type": "string", "enum": ["fast"]}
    assert properties["level"] == {"type": "string", "enum": ["low", "2", "true"]}


def test_gemini_keeps_a_non_string_enum_as_a_note_because_enum_is_for_strings_only() -> None:
    properties = gemini({"size": {"type": "integer", "enum": [1, 2, 3], "description": "Size."}})
    assert properties["size"] == {"type": "integer", "description": "Size. Allowed values: 1, 2, 3."}


def test_gemini_merges_all_of() -> None:
    properties = gemini(
        {
            "item": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                    {"$ref": "#/$defs/B"},
                ]
            }
        },
        **{"$defs": {"B": {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}}},
    )
    assert properties["item"] == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}},
        "required": ["a", "b"],
    }


def test_gemini_keeps_only_documented_keywords_and_formats() -> None:
    properties = gemini(
        {
            "when": {"type": "string", "format": "date-time", "examples": ["x"], "default": "y", "pattern": "^a"},
            "id": {"type": "string", "format": "uuid", "minLength": 1},
            "ratio": {"type": "number", "format": "double", "minimum": 0, "multipleOf": 0.5},
            "count": {"type": "integer", "format": "int64"},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
        }
    )
    assert properties["when"] == {"type": "string", "format": "date-time"}
    assert properties["id"] == {"type": "string", "minLength": 1, "description": "Format: uuid."}
    assert properties["ratio"] == {"type": "number", "format": "double", "minimum": 0}
    assert properties["count"] == {"type": "integer", "format": "int64"}
    assert properties["map"] == {"type": "object"}


def test_gemini_drops_required_names_that_are_not_properties() -> None:
    converted = to_gemini_schema(normalize_schema({"properties": {"a": {"type": "string"}}, "required": ["a", "b"]}))
    assert converted["required"] == ["a"]


def test_gemini_arrays_without_items_hold_strings_and_untyped_values_become_objects() -> None:
    properties = gemini({"tags": {"type": "array"}, "payload": {}, "spec": {"description": "anything"}})
    assert properties["tags"] == {"type": "array", "items": {"type": "string"}}
    assert properties["payload"]["type"] == "object"
    assert properties["spec"]["type"] == "object"
    assert properties["spec"]["description"].startswith("anything")


def test_gemini_infers_a_missing_type_from_the_keywords_present() -> None:
    properties = gemini({"a": {"enum": [1, 2]}, "b": {"properties": {"x": {"type": "string"}}}, "c": {"maxLength": 3}})
    assert properties["a"]["type"] == "integer"
    assert properties["b"]["type"] == "object"
    assert properties["c"] == {"type": "string", "maxLength": 3}


def test_gemini_root_without_properties_is_a_bare_object() -> None:
    assert to_gemini_schema(normalize_schema({})) == {"type": "object"}


# OpenAI strict mode


def test_strict_requires_every_property_and_makes_optional_ones_nullable() -> None:
    converted = strict(
        {
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "integer", "enum": [1, 2]},
                "c": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            },
            "required": ["a"],
        }
    )
    assert converted == {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": ["integer", "null"], "enum": [1, 2, None]},
            "c": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
        },
        "required": ["a", "b", "c"],
        "additionalProperties": False,
    }


def test_strict_keeps_references_and_rewrites_their_definitions() -> None:
    converted = strict(
        {
            "properties": {"r": {"$ref": "#/$defs/R"}},
            "$defs": {"R": {"type": "object", "properties": {"z": {"type": "string"}}}},
        }
    )
    assert converted is not None
    assert converted["properties"]["r"] == {"anyOf": [{"$ref": "#/$defs/R"}, {"type": "null"}]}
    assert converted["$defs"]["R"]["additionalProperties"] is False
    assert converted["$defs"]["R"]["required"] == ["z"]


def test_strict_drops_keywords_it_does_not_support() -> None:
    converted = strict(
        {
            "properties": {"s": {"type": "string", "minLength": 2, "format": "uri", "default": "x", "pattern": "^a"}},
            "required": ["s"],
        }
    )
    assert converted is not None
    assert converted["properties"]["s"] == {"type": "string", "pattern": "^a"}


def test_strict_turns_openapi_nullable_into_a_null_type() -> None:
    converted = strict({"properties": {"s": {"type": "string", "nullable": True}}, "required": ["s"]})
    assert converted is not None
    assert converted["properties"]["s"] == {"type": ["string", "null"]}


def test_schemas_without_a_faithful_strict_form_are_refused() -> None:
    assert strict({"properties": {"free": {"type": "object"}}}) is None
    assert strict({"properties": {"map": {"type": "object", "properties": {}, "additionalProperties": True}}}) is None
    assert strict({"properties": {"anything": {}}}) is None
    assert strict({"properties": {"both": {"allOf": [{"type": "string"}, {"minLength": 1}]}}}) is None
    assert strict({"properties": {"remote": {"$ref": "https://example.com/schema.json"}}}) is None
    assert strict({"properties": {"dangling": {"$ref": "#/$defs/Missing"}}}) is None
    assert strict({"anyOf": [{"properties": {"a": {"type": "string"}}}]}) is None


def test_strict_respects_the_documented_size_limits() -> None:
    wide = {"properties": {f"p{i}": {"type": "string"} for i in range(11)}}
    assert strict(wide) is not None
    assert to_strict_schema(normalize_schema(wide), StrictLimits(max_properties=10)) is None
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(12):
        deep = {"type": "object", "properties": {"x": deep}}
    assert strict(deep) is None


def test_a_tool_without_arguments_is_strict() -> None:
    assert strict({}) == {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
