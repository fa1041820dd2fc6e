"""Rewrite a normalized JSON Schema into the subset Gemini function declarations accept.

Gemini's `Schema` (generativelanguage v1beta; Vertex AI shares it) is "a select subset of an OpenAPI 3.0
schema object": type, format, title, description, nullable, enum, maxItems, minItems, properties, required,
minProperties, maxProperties, minLength, maxLength, pattern, example, anyOf, propertyOrdering, default, items,
minimum, maximum. There is no `$ref`, `allOf`, `oneOf`, `const`, `additionalProperties` or type array, `enum`
is for strings only, and the Gemini Developer API accepts only `enum`/`date-time` string formats,
`float`/`double` number formats and `int32`/`int64` integer formats.

So: local references are inlined (a reference already being expanded on the current path is cut and replaced
by a permissive object, which keeps recursive schemas finite), `allOf` members are merged, `oneOf` becomes
`anyOf`, `const` becomes a one-value enum, `null` in a type array or an `anyOf` becomes `nullable: true`, other
type arrays become `anyOf`, and everything else Gemini does not document is left out. Constraints that cannot
be expressed (a non-string enum, an unsupported format) survive as a note in the description so the model still
sees them. Nothing is mutated; the result shares no objects with the input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mcp_gateway.bridge.schemas import JsonSchema, declared_types, resolve_local_ref

__all__ = ["GEMINI_FORMATS", "GEMINI_SCHEMA_KEYWORDS", "GEMINI_TYPES", "to_gemini_schema"]

GEMINI_SCHEMA_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
GEMINI_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
GEMINI_FORMATS: dict[str, frozenset[str]] = {
    "string": frozenset({"enum", "date-time"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}

# Keywords emitted per type. `pattern` is left out on purpose: Gemini compiles it with its own regex engine,
# and one pattern it cannot parse fails the whole request, while models rarely honour patterns anyway.
# `default` and `example` are documentation only for Gemini and may no longer match a rewritten type.
_COUNT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
}
_BOUND_KEYWORDS = ("minimum", "maximum")
# An `items`-less array most often holds identifiers or tags; strings are the least surprising guess.
_UNKNOWN_ITEMS: JsonSchema = {"type": "string"}
_Refs = tuple[str, ...]


def to_gemini_schema(schema: Mapping[str, Any]) -> JsonSchema:
    """The Gemini form of a normalized (see `schemas.normalize_schema`) root object schema."""
    converted = _convert(schema, schema, ())
    if converted.get("type") != "object":
        converted = {"type": "object", **{k: v for k, v in converted.items() if k in ("description", "title")}}
    return converted


def _permissive(note: str, description: Any = None) -> JsonSchema:
    text = f"{description} ({note})" if isinstance(description, str) and description else f"({note})"
    return {"type": "object", "description": text}


def _is_null_only(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    return (
        declared_types(schema) == ["null"]
        or schema.get("enum") == [None]
        or ("const" in schema and schema["const"] is None)
    )


def _expand(node: Mapping[str, Any], root: Mapping[str, Any], refs: _Refs) -> tuple[JsonSchema, _Refs] | JsonSchema:
    """Inline `$ref` chains and merge `allOf`; returns (schema, refs on the path) or a permissive cut."""
    current = dict(node)
    while "$ref" in current:
        ref = current.pop("$ref")
        target = resolve_local_ref(root, ref) if isinstance(ref, str) else None
        name = str(ref).rsplit("/", 1)[-1]
        if ref in refs:
            return _permissive(f"recursive reference to {name} not expanded", current.get("description"))
        if not isinstance(target, Mapping):
            return _permissive(f"unresolvable reference {ref}", current.get("description"))
        refs = (*refs, ref)
        # Keywords beside a `$ref` (a description, a title) refine the target, so they win.
        current = {**target, **current}
    members = current.pop("allOf", None)
    if isinstance(members, list):
        for member in members:
            if not isinstance(member, Mapping):
                continue
            expanded = _expand(member, root, refs)
            if not isinstance(expanded, tuple):
                continue
            member_schema, member_refs = expanded
            current = _merge(current, member_schema)
            refs = (*refs, *(ref for ref in member_refs if ref not in refs))
    return current, refs


def _merge(base: JsonSchema, extra: Mapping[str, Any]) -> JsonSchema:
    merged = dict(base)
    for keyword, value in extra.items():
        if keyword == "properties" and isinstance(value, Mapping):
            known = merged.get("properties", {})
            # Earlier members win on a shared property name; new names follow the known ones in order.
            merged["properties"] = {**known, **{name: sub for name, sub in value.items() if name not in known}}
        elif keyword == "required" and isinstance(value, list):
            merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
        else:
            merged.setdefault(keyword, value)
    return merged


def _convert(node: Any, root: Mapping[str, Any], refs: _Refs) -> JsonSchema:
    if not isinstance(node, Mapping):
        return _permissive("any value")
    expanded = _expand(node, root, refs)
    if not isinstance(expanded, tuple):
        return expanded
    schema, refs = expanded
    notes: list[str] = []
    nullable = schema.get("nullable") is True
    types = declared_types(schema)
    if "null" in types:
        nullable = True
        types = [t for t in types if t != "null"]
    if "const" in schema:
        schema = {**schema, "enum": [schema["const"]]}
    if isinstance(schema.get("enum"), list) and None in schema["enum"]:
        nullable = True
        schema = {**schema, "enum": [value for value in schema["enum"] if value is not None]}

    alternatives = schema.get("anyOf", schema.get("oneOf"))
    # Beside a declared type, anyOf/oneOf only narrows it (e.g. "one of these required sets"), which Gemini
    # cannot express; the declared type alone is the faithful part.
    if not types and isinstance(alternatives, list):
        options = [member for member in alternatives if not _is_null_only(member)]
        nullable = nullable or len(options) < len(alternatives)
        converted = [_convert(member, root, refs) for member in options]
        if len(converted) == 1:
            # `anyOf: [X, null]` is Gemini's `X` with `nullable: true`; the wrapper's words refine X.
            result = converted[0]
            for keyword in ("title", "description"):
                if isinstance(schema.get(keyword), str):
                    result[keyword] = schema[keyword]
        elif converted:
            result = {"anyOf": converted}
        else:
            result = _typed(schema, "string", root, refs, notes)
    elif len(types) > 1:
        result = {"anyOf": [_typed(schema, kind, root, refs, notes) for kind in types]}
    else:
        kind = types[0] if types else _inferred_type(schema)
        if kind is None:
            return _permissive("any value", schema.get("description"))
        result = _typed(schema, kind, root, refs, notes)

    _describe(result, schema, notes)
    if nullable:
        result["nullable"] = True
    return result


def _describe(result: JsonSchema, schema: Mapping[str, Any], notes: Sequence[str]) -> None:
    if isinstance(schema.get("title"), str) and "title" not in result:
        result["title"] = schema["title"]
    parts = [result.get("description") or schema.get("description"), *dict.fromkeys(notes)]
    text = " ".join(part for part in parts if isinstance(part, str) and part)
    if text:
        result["description"] = text


def _inferred_type(schema: Mapping[str, Any]) -> str | None:
    if any(keyword in schema for keyword in ("properties", "required", "minProperties", "maxProperties")):
        return "object"
    if any(keyword in schema for keyword in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        if all(isinstance(value, bool) for value in enum):
            return "boolean"
        if all(isinstance(value, int) and not isinstance(value, bool) for value in enum):
            return "integer"
        if all(isinstance(value, int | float) and not isinstance(value, bool) for value in enum):
            return "number"
        return "string"
    if any(keyword in schema for keyword in ("format", "pattern", "minLength", "maxLength")):
        return "string"
    if any(keyword in schema for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return None


def _typed(schema: Mapping[str, Any], kind: str, root: Mapping[str, Any], refs: _Refs, notes: list[str]) -> JsonSchema:
    result: JsonSchema = {"type": kind}
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        if kind == "string":
            result["enum"] = list(dict.fromkeys(_as_text(value) for value in enum))
        else:
            notes.append("Allowed values: " + ", ".join(_as_text(value) for value in enum) + ".")
    fmt = schema.get("format")
    if isinstance(fmt, str):
        if fmt in GEMINI_FORMATS.get(kind, frozenset()):
            result["format"] = fmt
        else:
            notes.append(f"Format: {fmt}.")
    for keyword in _COUNT_KEYWORDS.get(kind, ()):
        if keyword in schema:
            result[keyword] = schema[keyword]
    if kind in ("number", "integer"):
        for keyword in _BOUND_KEYWORDS:
            if keyword in schema:
                result[keyword] = schema[keyword]
    if kind == "array":
        items = schema.get("items")
        has_items = isinstance(items, Mapping) and bool(items)
        result["items"] = _convert(items, root, refs) if has_items else dict(_UNKNOWN_ITEMS)
    if kind == "object":
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            converted = {name: _convert(sub, root, refs) for name, sub in properties.items() if sub != {"not": {}}}
            if converted:
                result["properties"] = converted
                required = [name for name in schema.get("required", []) if name in converted]
                if required:
                    result["required"] = required
    return result


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
