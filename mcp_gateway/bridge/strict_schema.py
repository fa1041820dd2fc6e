"""Rewrite a normalized JSON Schema for OpenAI strict mode (Structured Outputs for function calling).

OpenAI's strict mode accepts a subset of JSON Schema ("Supported schemas" in the Structured Outputs guide):
string, number, integer, boolean, object, array, enum, const and anyOf, local `$ref`/`$defs`; `pattern`, a
fixed list of string formats, numeric bounds and `minItems`/`maxItems`. Every object must say
`additionalProperties: false` and list every property in `required`; optional fields are expressed as
nullable instead. A schema may have at most 5,000 object properties, 10 levels of nesting and 1,000 enum
values in total, and the root must be an object, not an `anyOf`.

`to_strict_schema` produces that form, or returns None when the tool cannot be made strict without changing
what it accepts — an open-ended object (no `properties`, or `additionalProperties`/`patternProperties`), an
untyped value, `allOf`/`not`/conditionals, tuples, a non-local reference, a schema past the limits, or a
constraint strict mode does not support (`minLength`/`maxLength`, `uniqueItems`, `minProperties`/
`maxProperties`: the guide lists only the string, number and array keywords above). The caller then sends the
tool non-strict, which OpenAI accepts, rather than a strict schema that lies. Annotations (`default`,
`examples`, a `format` outside the supported list, which JSON Schema treats as an annotation) are dropped.

A `$ref` stands alone in strict mode (the `openai` SDK's own strict-schema helper unravels a `$ref` that has
siblings for that reason), so a referenced property's description goes on an `anyOf` wrapper around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp_gateway.bridge.schemas import JsonSchema, declared_types, resolve_local_ref

__all__ = ["STRICT_FORMATS", "STRICT_KEYWORDS", "STRICT_LIMITS", "StrictLimits", "to_strict_schema"]

STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
STRICT_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "title",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$ref",
        "$defs",
        "definitions",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
# Keywords that change what a value may be and cannot be expressed in strict mode: dropping them would widen
# or narrow the tool's contract silently, so their presence makes the tool non-strict instead.
_BLOCKING_KEYWORDS = frozenset(
    {
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "prefixItems",
        "patternProperties",
        "dependentSchemas",
        "dependentRequired",
        "dependencies",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contains",
        "propertyNames",
    }
)


# Constraints strict mode does not support: the instance type each constrains, and the value with which it
# constrains nothing (None: every value constrains). With any other value they make the tool non-strict.
_UNSUPPORTED_CONSTRAINTS: dict[str, tuple[str, Any]] = {
    "minLength": ("string", 0),
    "maxLength": ("string", None),
    "uniqueItems": ("array", False),
    "minProperties": ("object", 0),
    "maxProperties": ("object", None),
}


@dataclass(frozen=True)
class StrictLimits:
    max_properties: int = 5000
    max_depth: int = 10
    max_enum_values: int = 1000


STRICT_LIMITS = StrictLimits()


class _NotStrict(Exception):
    """Raised inside the rewrite when a schema cannot be expressed strictly; never escapes this module."""


@dataclass
class _Context:
    """The document being rewritten (to check references) and what it has spent of the limits so far."""

    root: Mapping[str, Any]
    limits: StrictLimits
    properties: int = 0
    enum_values: int = 0


def to_strict_schema(schema: Mapping[str, Any], limits: StrictLimits = STRICT_LIMITS) -> JsonSchema | None:
    """The strict form of a normalized root object schema, or None when it has no faithful strict form."""
    context = _Context(root=schema, limits=limits)
    try:
        result = _convert(schema, optional=False, depth=1, context=context)
        for keyword in ("$defs", "definitions"):
            definitions = schema.get(keyword)
            if isinstance(definitions, Mapping):
                result[keyword] = {
                    name: _convert(sub, optional=False, depth=1, context=context) for name, sub in definitions.items()
                }
    except _NotStrict:
        return None
    if context.properties > limits.max_properties or context.enum_values > limits.max_enum_values:
        return None
    return result


def _convert(node: Any, *, optional: bool, depth: int, context: _Context) -> JsonSchema:
    if not isinstance(node, Mapping) or depth > context.limits.max_depth:
        raise _NotStrict
    if any(keyword in node for keyword in _BLOCKING_KEYWORDS):
        raise _NotStrict
    schema = dict(node)
    if "oneOf" in schema and "anyOf" not in schema:
        schema["anyOf"] = schema.pop("oneOf")
    elif "oneOf" in schema:
        raise _NotStrict

    types = declared_types(schema)
    if _constrains_unsupported(schema, types):
        raise _NotStrict
    result: JsonSchema = {}
    for keyword in ("title", "description"):
        if isinstance(schema.get(keyword), str):
            result[keyword] = schema[keyword]

    if "$ref" in schema:
        ref = schema["$ref"]
        local = isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/"))
        if not local or not isinstance(resolve_local_ref(context.root, ref), Mapping):
            raise _NotStrict
        reference: JsonSchema = {"$ref": ref}
        if optional or schema.get("nullable") is True:
            return {**result, "anyOf": [reference, {"type": "null"}]}
        return {**result, "anyOf": [reference]} if result else reference

    if schema.get("nullable") is True and types and "null" not in types:
        types = [*types, "null"]

    if "anyOf" in schema:
        if types:
            raise _NotStrict
        members = [_convert(m, optional=False, depth=depth, context=context) for m in schema["anyOf"]]
        if optional and not any(declared_types(member) == ["null"] for member in members):
            members.append({"type": "null"})
        result["anyOf"] = members
        return result

    if "const" in schema:
        context.enum_values += 1
        if optional and schema["const"] is not None:
            return {**result, "anyOf": [{"const": schema["const"]}, {"type": "null"}]}
        result["const"] = schema["const"]
        return result
    if not types:
        if isinstance(schema.get("enum"), list):
            return _enum_only(schema, result, optional, context)
        raise _NotStrict

    if optional and "null" not in types:
        types = [*types, "null"]
    result["type"] = types[0] if len(types) == 1 else types
    if isinstance(schema.get("enum"), list):
        enum = list(schema["enum"])
        if "null" in types and None not in enum:
            enum.append(None)
        context.enum_values += len(enum)
        result["enum"] = enum
    _copy_constraints(schema, result, types)
    if "array" in types:
        result["items"] = _convert(schema.get("items"), optional=False, depth=depth + 1, context=context)
    if "object" in types:
        result.update(_object(schema, depth=depth, context=context))
    return result


def _constrains_unsupported(schema: Mapping[str, Any], types: list[str]) -> bool:
    """Whether `schema` holds a constraint strict mode would drop, where it applies to the value."""
    for keyword, (applies_to, neutral) in _UNSUPPORTED_CONSTRAINTS.items():
        if keyword in schema and schema[keyword] != neutral and (not types or applies_to in types):
            return True
    return False


def _enum_only(schema: Mapping[str, Any], result: JsonSchema, optional: bool, context: _Context) -> JsonSchema:
    enum = list(schema["enum"])
    if optional and None not in enum:
        enum.append(None)
    context.enum_values += len(enum)
    return {**result, "enum": enum}


def _copy_constraints(schema: Mapping[str, Any], result: JsonSchema, types: list[str]) -> None:
    if "string" in types:
        if isinstance(schema.get("pattern"), str):
            result["pattern"] = schema["pattern"]
        if schema.get("format") in STRICT_FORMATS:
            result["format"] = schema["format"]
    if "number" in types or "integer" in types:
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            if keyword in schema:
                result[keyword] = schema[keyword]
    if "array" in types:
        for keyword in ("minItems", "maxItems"):
            if keyword in schema:
                result[keyword] = schema[keyword]


def _object(schema: Mapping[str, Any], *, depth: int, context: _Context) -> JsonSchema:
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    open_ended = extra not in (None, False) and extra != {"not": {}}
    # The root may legitimately take no arguments; a nested object without properties is a free-form map.
    if not isinstance(properties, Mapping) or open_ended or (not properties and depth > 1):
        raise _NotStrict
    required = set(schema.get("required", []))
    context.properties += len(properties)
    converted = {
        name: _convert(sub, optional=name not in required, depth=depth + 1, context=context)
        for name, sub in properties.items()
    }
    return {"properties": converted, "required": list(converted), "additionalProperties": False}
