"""Properties that hold for any tool names and any JSON Schema, on every provider.

Names: valid for the provider, unique, and mapped back to every original. Schemas: whatever nesting of
objects, arrays, enums, anyOf/oneOf/allOf, type arrays, `$defs` with (possibly recursive) `$ref`, `const` and
formats goes in — at the root too, where providers refuse combinators they accept below it — what comes out
passes that provider's documented rules, and the input is left as it was.
"""

from __future__ import annotations

import copy
import string
from typing import Any

import mcp_types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.schemas import normalize_input_schema
from mcp_gateway.bridge.targets import PROVIDERS
from mcp_gateway.bridge.tool_choice import map_tool_choice
from mcp_gateway.bridge.tools import convert_tools
from tests.provider_rules import NAME_PATTERNS, tool_name, validate_tool_definitions

DEFINITION_NAMES = ("Node", "Pet", "Owner")
TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
FORMATS = ("date-time", "date", "uuid", "email", "uri", "int32", "int64", "float", "double", "enum", "binary")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(string.ascii_letters, max_size=4))
# Keys real tools use and some providers reject as argument names (`$top`, `filter[x]`; `a-b`, `a.b` and `1st` for
# Gemini), so that renaming and restoring are exercised, not only the easy path.
HOSTILE_PROPERTY_NAMES = ("$top", "filter[x]", "a-b", "a.b", "1st", "StartTime<", "a b", "_x")
property_names = st.one_of(
    st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=12),
    st.sampled_from(HOSTILE_PROPERTY_NAMES),
)
descriptions = st.text(max_size=20)

leaf_schemas = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from((*TYPES[:4], "null"))},
        optional={
            "description": descriptions,
            "format": st.sampled_from(FORMATS),
            "enum": st.lists(scalars, min_size=1, max_size=4),
            "minimum": st.integers(-5, 5),
            "maxLength": st.integers(0, 9),
            "pattern": st.just("^[a-z]+$"),
            "nullable": st.booleans(),
            "default": scalars,
            "examples": st.lists(scalars, max_size=2),
            "title": descriptions,
        },
    ),
    st.builds(lambda value: {"const": value}, scalars),
    st.builds(lambda values: {"enum": values}, st.lists(scalars, min_size=1, max_size=4)),
    st.builds(lambda name: {"$ref": f"#/$defs/{name}"}, st.sampled_from(DEFINITION_NAMES)),
    st.just({}),
    st.just({"type": "array"}),
    st.just({"type": "object"}),
)


def _compound(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    objects = st.fixed_dictionaries(
        {"type": st.just("object")},
        optional={
            "properties": st.dictionaries(property_names, children, max_size=4),
            "required": st.lists(property_names, max_size=3),
            "additionalProperties": st.one_of(st.booleans(), children),
            "description": descriptions,
        },
    )
    arrays = st.fixed_dictionaries(
        {"type": st.just("array")},
        optional={"items": children, "minItems": st.integers(0, 3), "maxItems": st.integers(3, 6)},
    )
    type_arrays = st.fixed_dictionaries(
        {"type": st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True)},
        optional={"items": children, "properties": st.dictionaries(property_names, children, max_size=2)},
    )
    combinators = st.builds(
        lambda keyword, members: {keyword: members},
        st.sampled_from(["anyOf", "oneOf", "allOf"]),
        st.lists(children, min_size=1, max_size=3),
    )
    nullable = st.builds(lambda child: {"anyOf": [child, {"type": "null"}]}, children)
    return st.one_of(objects, arrays, type_arrays, combinators, nullable)


schemas = st.recursive(leaf_schemas, _compound, max_leaves=12)


@st.composite
def root_rules(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    """Root keywords no provider accepts: choices between argument sets, merged parts, exclusions, fixed values."""
    argument_sets = st.builds(
        lambda required: {"required": required}, st.lists(st.sampled_from([*names, "ghost"]), min_size=1, max_size=2)
    )
    object_parts = st.fixed_dictionaries(
        {"type": st.just("object")},
        optional={
            "properties": st.dictionaries(property_names, schemas, max_size=3),
            "required": st.lists(property_names, max_size=2),
            "additionalProperties": st.booleans(),
        },
    )
    parts = st.one_of(argument_sets, object_parts, schemas)
    objects = st.dictionaries(property_names, scalars, max_size=2)
    return draw(
        st.fixed_dictionaries(
            {},
            optional={
                "anyOf": st.lists(parts, min_size=1, max_size=3),
                "oneOf": st.lists(parts, min_size=1, max_size=3),
                "allOf": st.lists(parts, min_size=1, max_size=3),
                "not": parts,
                "enum": st.lists(st.one_of(objects, scalars), min_size=1, max_size=3),
                "const": objects,
            },
        )
    )


@st.composite
def input_schemas(draw: st.DrawFn) -> dict[str, Any]:
    root: dict[str, Any] = {
        "type": "object",
        "properties": draw(st.dictionaries(property_names, schemas, max_size=5)),
        # Every name a `$ref` may point at is defined; Node always refers to itself, so cycles are common.
        "$defs": {name: draw(schemas) for name in DEFINITION_NAMES},
    }
    root["$defs"]["Node"] = {
        "type": "object",
        "properties": {"value": root["$defs"]["Node"], "next": {"$ref": "#/$defs/Node"}},
    }
    if draw(st.booleans()):
        root["required"] = draw(st.lists(st.sampled_from([*root["properties"], "ghost"]), max_size=4))
    if draw(st.booleans()):
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if draw(st.booleans()):
        root.update(draw(root_rules(list(root["properties"]))))
    return root


odd_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=90)
tool_names = st.lists(
    st.one_of(st.sampled_from(["foo/bar", "foo_bar", "a b", "a_b", "1st", "x" * 70, "x" * 69 + "!"]), odd_names),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(tool_names)
def test_names_are_valid_unique_and_map_back_on_every_provider(originals: list[str]) -> None:
    tools = [mcp_types.Tool(name=name, input_schema={}) for name in originals]
    distinct = list(dict.fromkeys(originals))
    for provider in PROVIDERS:
        converted = convert_tools(tools, provider)
        names = [tool_name(provider, definition) for definition in converted.definitions]
        assert all(isinstance(name, str) and NAME_PATTERNS[provider].fullmatch(name) for name in names)
        assert len(set(names)) == len(names) == len(distinct)
        assert [converted.name_map.to_original(name) for name in names if name is not None] == distinct
        assert converted.name_map == build_name_map(list(originals), provider)
        if provider == "cohere":
            continue  # Cohere's tool_choice cannot name a tool
        for original in distinct:
            choice = map_tool_choice({"name": original}, provider, converted.name_map)
            assert original in (converted.name_map.to_original(name) for name in _names_in_choice(choice))


def _names_in_choice(choice: Any) -> list[str]:
    if isinstance(choice, dict):
        found = [value for key, value in choice.items() if key == "name" and isinstance(value, str)]
        found += [name for value in choice.values() for name in _names_in_choice(value)]
        return found + list(choice.get("allowedFunctionNames", []))
    return []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(input_schemas(), st.booleans())
def test_any_schema_converts_to_a_definition_every_provider_accepts(schema: dict[str, Any], strict: bool) -> None:
    before = copy.deepcopy(schema)
    tools = [mcp_types.Tool(name="any/tool", description="Anything.", input_schema=schema)]
    originals = normalize_input_schema(schema).schema["properties"]
    for provider in PROVIDERS:
        converted = convert_tools(tools, provider, strict=strict)
        assert validate_tool_definitions(provider, converted.definitions) == [], provider
        # Whatever the provider calls an argument, the upstream gets it back under the tool's own name.
        offered = list(provider_parameters(provider, converted.definitions[0]).get("properties", {}))
        restored = converted.upstream_arguments("any/tool", {key: index for index, key in enumerate(offered)})
        kept = [key for key, sub in originals.items() if provider != "gemini" or sub != {"not": {}}]
        assert sorted(restored) == sorted(kept), provider
        assert sorted(restored.values()) == list(range(len(offered)))
    assert schema == before


def provider_parameters(provider: str, definition: dict[str, Any]) -> dict[str, Any]:
    """The input schema inside a definition, wherever the provider's shape keeps it."""
    if provider == "anthropic":
        return dict(definition["input_schema"])
    if provider == "bedrock":
        return dict(definition["toolSpec"]["inputSchema"]["json"])
    if provider in ("gemini", "openai-responses"):
        return dict(definition.get("parameters", {}))
    return dict(definition["function"]["parameters"])
