"""Schema rewriting: the clean-up every provider gets, Gemini's subset, and OpenAI strict mode."""

from __future__ import annotations

import copy
from typing import Any

from mcp_gateway.bridge.gemini_schema import decode_json_arguments, gemini_parameters, to_gemini_schema
from mcp_gateway.bridge.schemas import normalize_input_schema, normalize_schema
from mcp_gateway.bridge.strict_schema import StrictLimits, to_strict_schema


def gemini(properties: dict[str, Any], **root: Any) -> dict[str, Any]:
    converted = to_gemini_schema(normalize_schema({"type": "object", "properties": properties, **root}))
    return dict(converted["properties"])


def strict(schema: dict[str, Any]) -> dict[str, Any] | None:
    return to_strict_schema(normalize_schema(schema))


JSON_OBJECT_NOTE = "(a JSON object; send it as a JSON-encoded string)"


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


def test_gemini_cuts_a_recursive_reference_with_a_json_encoded_string() -> None:
    node = {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
    root = normalize_schema(
        {"type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}}, "$defs": {"Node": node}}
    )
    converted = gemini_parameters(root)
    cut = converted.schema["properties"]["root"]["properties"]["children"]["items"]
    assert cut == {
        "type": "string",
        "description": "(recursive reference to Node not expanded; send it as a JSON-encoded string)",
    }
    assert converted.json_encoded == (("root", "children", None),)


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
    assert properties["map"] == {"type": "string", "description": JSON_OBJECT_NOTE}


def test_gemini_drops_required_names_that_are_not_properties() -> None:
    converted = to_gemini_schema(normalize_schema({"properties": {"a": {"type": "string"}}, "required": ["a", "b"]}))
    assert converted["required"] == ["a"]


def test_gemini_arrays_without_items_hold_strings_and_untyped_values_become_json_strings() -> None:
    properties = gemini({"tags": {"type": "array"}, "payload": {}, "spec": {"description": "anything"}})
    assert properties["tags"] == {"type": "array", "items": {"type": "string"}}
    assert properties["payload"] == {
        "type": "string",
        "description": "(any JSON value; send it as a JSON-encoded string)",
    }
    assert properties["spec"] == {
        "type": "string",
        "description": "anything (any JSON value; send it as a JSON-encoded string)",
    }


def test_gemini_infers_a_missing_type_from_the_keywords_present() -> None:
    properties = gemini({"a": {"enum": [1, 2]}, "b": {"properties": {"x": {"type": "string"}}}, "c": {"maxLength": 3}})
    assert properties["a"]["type"] == "integer"
    assert properties["b"]["type"] == "object"
    assert properties["c"] == {"type": "string", "maxLength": 3}


def test_gemini_root_without_properties_is_a_bare_object() -> None:
    assert to_gemini_schema(normalize_schema({})) == {"type": "object"}


def test_gemini_drops_empty_enum_values_and_says_they_are_allowed() -> None:
    properties = gemini({"sort": {"type": "string", "enum": ["asc", "desc", ""]}, "blank": {"enum": ["", None]}})
    assert properties["sort"] == {
        "type": "string",
        "enum": ["asc", "desc"],
        "description": "An empty string is also allowed.",
    }
    assert properties["blank"] == {
        "type": "string",
        "description": "The only allowed value is an empty string.",
        "nullable": True,
    }


def test_gemini_any_of_is_the_only_field_its_words_and_nullable_go_into_every_branch() -> None:
    properties = gemini(
        {
            "v": {"description": "a value", "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            "w": {"type": ["string", "integer"], "title": "W"},
        }
    )
    assert properties["v"] == {
        "anyOf": [
            {"type": "string", "description": "a value", "nullable": True},
            {"type": "integer", "description": "a value", "nullable": True},
        ]
    }
    assert properties["w"] == {"anyOf": [{"type": "string", "title": "W"}, {"type": "integer", "title": "W"}]}


def test_gemini_flattens_a_choice_inside_a_choice_so_no_branch_has_fields_beside_any_of() -> None:
    nested = {"anyOf": [{"type": "boolean"}, {"type": ["string", "integer"], "description": "id"}], "description": "x"}
    assert gemini({"n": nested})["n"] == {
        "anyOf": [
            {"type": "boolean", "description": "x"},
            {"type": "string", "description": "x id"},
            {"type": "integer", "description": "x id"},
        ]
    }


def test_gemini_asks_for_open_ended_values_as_json_strings_and_records_where() -> None:
    schema = normalize_schema(
        {
            "type": "object",
            "properties": {
                "meta": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Labels."},
                "rows": {"type": "array", "items": {"type": "object", "properties": {"cells": {"type": "object"}}}},
                "either": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"x": {}}}]},
                "loose": {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "null"}]},
                "name": {"type": "string"},
            },
        }
    )
    converted = gemini_parameters(schema)
    properties = converted.schema["properties"]
    assert properties["meta"] == {"type": "string", "description": f"Labels. {JSON_OBJECT_NOTE}"}
    assert properties["rows"]["items"]["properties"]["cells"] == {"type": "string", "description": JSON_OBJECT_NOTE}
    # A choice with an open-ended branch is one JSON string, so "text" and "JSON in text" never meet.
    assert properties["loose"] == {"type": "string", "description": JSON_OBJECT_NOTE, "nullable": True}
    assert properties["either"]["anyOf"][0] == {"type": "string"}
    assert converted.json_encoded == (("meta",), ("rows", None, "cells"), ("either", "x"), ("loose",))


def test_json_encoded_arguments_are_parsed_back_where_recorded_and_nowhere_else() -> None:
    paths = (("meta",), ("rows", None, "cells"), ("loose",), ("absent",))
    arguments = {
        "meta": '{"a": "b"}',
        "rows": [{"cells": "[1, 2]"}, {"cells": "not json"}, "odd"],
        "loose": None,
        "name": '{"stays": "text"}',
    }
    before = copy.deepcopy(arguments)
    assert decode_json_arguments(arguments, paths) == {
        "meta": {"a": "b"},
        "rows": [{"cells": [1, 2]}, {"cells": "not json"}, "odd"],
        "loose": None,
        "name": '{"stays": "text"}',
    }
    assert arguments == before


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
            "properties": {"s": {"type": "string", "minLength": 0, "format": "uri", "default": "x", "pattern": "^a"}},
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
    nested_choice = {"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"required": ["a"]}]}
    assert strict({"properties": {"pick": nested_choice}}) is None


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


def test_strict_mode_falls_back_to_non_strict_for_constraints_it_cannot_express() -> None:
    for constraint in (
        {"type": "string", "minLength": 3},
        {"type": "string", "maxLength": 5},
        {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        {"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 1},
        {"type": "object", "properties": {"a": {"type": "string"}}, "maxProperties": 1},
    ):
        assert strict({"properties": {"p": constraint}, "required": ["p"]}) is None, constraint


def test_strict_keeps_the_constraints_the_supported_schemas_list_and_ignores_neutral_ones() -> None:
    supported = {
        "code": {"type": "string", "pattern": "^[A-Z]{3}$", "format": "date-time", "minLength": 0},
        "count": {"type": "integer", "minimum": 1, "maximum": 9, "multipleOf": 2, "exclusiveMaximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": False},
        "not_a_string": {"type": "integer", "maxLength": 3},
    }
    converted = strict({"properties": supported, "required": list(supported)})
    assert converted is not None
    assert converted["properties"]["code"] == {"type": "string", "pattern": "^[A-Z]{3}$", "format": "date-time"}
    assert converted["properties"]["count"] == {
        "type": "integer", "minimum": 1, "maximum": 9, "exclusiveMaximum": 10, "multipleOf": 2}  # fmt: skip
    assert converted["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
        "maxItems": 3,
    }


def test_strict_keeps_a_referenced_propertys_description_on_a_wrapper_around_the_ref() -> None:
    converted = strict(
        {
            "properties": {
                "pet": {"$ref": "#/$defs/P", "description": "the pet"},
                "owner": {"$ref": "#/$defs/P", "description": "who owns it"},
                "vet": {"$ref": "#/$defs/P", "nullable": True},
            },
            "required": ["owner", "vet"],
            "$defs": {"P": {"type": "object", "properties": {"n": {"type": "string"}}, "required": ["n"]}},
        }
    )
    assert converted is not None
    reference = {"$ref": "#/$defs/P"}
    assert converted["properties"]["pet"] == {"description": "the pet", "anyOf": [reference, {"type": "null"}]}
    assert converted["properties"]["owner"] == {"description": "who owns it", "anyOf": [reference]}
    assert converted["properties"]["vet"] == {"anyOf": [reference, {"type": "null"}]}


# Root-level combinators: refused at the root by every provider, merged or described instead

PAIR = {"a": {"type": "string"}, "b": {"type": "integer"}}


def test_a_choice_of_required_arguments_leaves_the_schema_for_one_sentence() -> None:
    schema = {"type": "object", "properties": PAIR, "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}
    tool_input = normalize_input_schema(schema)
    assert tool_input.schema == {"type": "object", "properties": PAIR}
    assert tool_input.constraints() == "Arguments must satisfy one of: {a} or {b}."


def test_one_of_says_exactly_one_and_names_are_shown_as_the_provider_sees_them() -> None:
    schema = {"properties": PAIR, "oneOf": [{"required": ["a"]}, {"required": ["a", "b"]}]}
    tool_input = normalize_input_schema(schema)
    assert tool_input.constraints() == "Arguments must satisfy exactly one of: {a} or {a, b}."
    assert tool_input.constraints({"a": "a_2"}) == "Arguments must satisfy exactly one of: {a_2} or {a_2, b}."
    # Whatever every branch requires is simply required.
    assert tool_input.schema["required"] == ["a"]


def test_a_union_of_object_schemas_offers_every_branchs_arguments_at_the_root() -> None:
    by_id = {"type": "object", "properties": {"id": {"type": "string"}, "ref": {"type": "string"}}, "required": ["id"]}
    by_path = {"type": "object", "properties": {"path": {"type": "string"}, "ref": {"type": "string"}}}
    tool_input = normalize_input_schema({"oneOf": [by_id, {**by_path, "required": ["path"]}]})
    assert tool_input.schema == {
        "type": "object",
        "properties": {"id": {"type": "string"}, "ref": {"type": "string"}, "path": {"type": "string"}},
    }
    assert tool_input.constraints() == "Arguments must satisfy exactly one of: {id} or {path}."


def test_a_discriminated_union_keeps_each_branchs_form_of_a_shared_argument() -> None:
    cat = {"properties": {"kind": {"const": "cat"}, "lives": {"type": "integer"}}, "required": ["kind", "lives"]}
    dog = {"properties": {"kind": {"const": "dog"}, "breed": {"type": "string"}}, "required": ["kind"]}
    tool_input = normalize_input_schema({"anyOf": [cat, dog]})
    assert tool_input.schema["properties"]["kind"] == {"anyOf": [{"const": "cat"}, {"const": "dog"}]}
    assert tool_input.schema["required"] == ["kind"]
    assert tool_input.constraints() == "Arguments must satisfy one of: {kind, lives} or {kind}."


def test_a_branch_that_asks_for_nothing_makes_the_choice_vacuous() -> None:
    tool_input = normalize_input_schema({"properties": PAIR, "anyOf": [{"required": ["a"]}, {}]})
    assert tool_input.schema == {"type": "object", "properties": PAIR}
    assert tool_input.constraints() is None


def test_all_of_object_schemas_are_merged_into_the_root_references_included() -> None:
    schema = {
        "allOf": [{"$ref": "#/$defs/Page"}, {"properties": {"q": {"type": "string"}}, "required": ["q"]}],
        "$defs": {"Page": {"type": "object", "properties": {"page": {"type": "integer"}}, "required": ["page"]}},
    }
    tool_input = normalize_input_schema(schema)
    assert tool_input.schema["properties"] == {"page": {"type": "integer"}, "q": {"type": "string"}}
    assert tool_input.schema["required"] == ["page", "q"]
    assert "allOf" not in tool_input.schema
    assert tool_input.constraints() is None


def test_all_of_parts_describing_one_argument_differently_must_both_hold() -> None:
    schema = {"properties": {"n": {"type": "integer"}}, "allOf": [{"properties": {"n": {"minimum": 1}}}]}
    assert normalize_schema(schema)["properties"]["n"] == {"allOf": [{"type": "integer"}, {"minimum": 1}]}


def test_all_of_parts_that_are_not_objects_or_that_conflict_are_described() -> None:
    schema = {"properties": PAIR, "minProperties": 1, "allOf": [{"type": "string"}, {"minProperties": 2}]}
    tool_input = normalize_input_schema(schema)
    assert tool_input.schema == {"type": "object", "properties": PAIR, "minProperties": 1}
    assert tool_input.constraints() == (
        'Arguments must also match: {"type":"string"}. Arguments must also match: {"minProperties":2}.'
    )


def test_an_all_of_part_may_carry_its_own_choice() -> None:
    part = {"properties": PAIR, "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}
    tool_input = normalize_input_schema({"allOf": [part]})
    assert tool_input.schema == {"type": "object", "properties": PAIR}
    assert tool_input.constraints() == "Arguments must satisfy one of: {a} or {b}."


def test_not_enum_and_const_at_the_root_become_sentences() -> None:
    schema = {"properties": PAIR, "not": {"required": ["a", "b"]}, "enum": [{"a": "x"}, {"b": 1}], "const": {"b": 1}}
    tool_input = normalize_input_schema(schema)
    assert tool_input.schema == {"type": "object", "properties": PAIR}
    assert tool_input.constraints() == (
        "Arguments must not include all of: {a, b}. "
        'Arguments must be one of: {"a":"x"} or {"b":1}. '
        'Arguments must be exactly: {"b":1}.'
    )


def test_a_long_quoted_schema_is_cut_to_a_sentence() -> None:
    constraints = normalize_input_schema({"not": {"properties": {f"p{i}": {"type": "string"} for i in range(30)}}})
    sentence = constraints.constraints()
    assert sentence is not None and len(sentence) < 220 and sentence.endswith("….")


def test_combinators_below_the_root_are_left_where_they_are() -> None:
    nested = {"anyOf": [{"type": "string"}, {"type": "integer"}], "oneOf": [{"minimum": 1}, {"maximum": -1}]}
    tool_input = normalize_input_schema({"properties": {"x": nested, "y": {"allOf": [{"type": "string"}]}}})
    assert tool_input.schema["properties"] == {"x": nested, "y": {"allOf": [{"type": "string"}]}}
    assert tool_input.constraints() is None


def test_flattening_never_touches_or_shares_the_callers_schema() -> None:
    schema = {
        "allOf": [{"$ref": "#/$defs/Base"}],
        "anyOf": [{"properties": {"tags": {"type": "array", "items": {"type": "string"}}}, "required": ["tags"]}],
        "$defs": {"Base": {"properties": {"meta": {"type": "object", "properties": {"k": {}}}}}},
    }
    before = copy.deepcopy(schema)
    flattened = normalize_schema(schema)
    flattened["properties"]["meta"]["properties"]["k"]["scribbled"] = True
    flattened["properties"]["tags"]["items"]["scribbled"] = True
    assert schema == before
    assert flattened["$defs"]["Base"]["properties"]["meta"]["properties"]["k"] == {}


def test_a_recursive_all_of_reference_ends_instead_of_looping() -> None:
    schema = {"allOf": [{"$ref": "#/$defs/A"}], "$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}}
    tool_input = normalize_input_schema(schema)
    assert tool_input.schema["properties"] == {}
    assert tool_input.constraints() == 'Arguments must also match: {"$ref":"#/$defs/A"}.'


def test_gemini_and_strict_mode_get_the_flattened_union_not_a_bare_object() -> None:
    union = {"oneOf": [{"properties": {"id": {"type": "string"}}, "required": ["id"]}, {"properties": PAIR}]}
    assert to_gemini_schema(normalize_schema(union)) == {
        "type": "object",
        "properties": {"id": {"type": "string"}, "a": {"type": "string"}, "b": {"type": "integer"}},
    }
    converted = strict(union)
    assert converted is not None
    assert converted["required"] == ["id", "a", "b"]
    assert converted["properties"]["id"] == {"type": ["string", "null"]}
