"""Rewrite a normalized JSON Schema into the subset Gemini function declarations accept.

Gemini's `Schema` (generativelanguage v1beta; Vertex AI shares it) is "a select subset of an OpenAPI 3.0
schema object": type, format, title, description, nullable, enum, maxItems, minItems, properties, required,
minProperties, maxProperties, minLength, maxLength, pattern, example, anyOf, propertyOrdering, default, items,
minimum, maximum. There is no `$ref`, `allOf`, `oneOf`, `const`, `additionalProperties` or type array, `enum`
is for strings only, and the Gemini Developer API accepts only `enum`/`date-time` string formats,
`float`/`double` number formats and `int32`/`int64` integer formats.

So: local references are inlined, `allOf` members are merged, `oneOf` becomes `anyOf`, `const` becomes a
one-value enum, `null` in a type array or an `anyOf` becomes `nullable: true`, other type arrays become `anyOf`,
and everything else Gemini does not document is left out. Constraints that cannot be expressed (a non-string
enum, an unsupported format) survive as a note in the description so the model still sees them. Nothing is
mutated; the result shares no objects with the input.

What Gemini rejects although its Schema seems to allow it:
- An empty enum value: "enum[2]: cannot be empty". Empty strings leave the enum (the enum goes when nothing
  is left) and the description says that an empty string is allowed too.
- Fields beside `anyOf`: Vertex AI has answered "When using any_of, it must be the only field set". The API
  reference states no such rule, but a lone `anyOf` is valid for both APIs, so a node with `anyOf` carries
  nothing else: its description, title and `nullable` move into every branch.
- An OBJECT without properties: Gemini has answered "properties: should be non-empty for OBJECT type", and
  where it accepts one the model can only ever fill it with `{}`. So a value whose shape is open (an object
  without properties, a map, an untyped value, a recursive reference cut to keep the schema finite) is asked
  for as a STRING holding its JSON; `GeminiParameters.json_encoded` lists where such values sit, and
  `decode_json_arguments` parses them back before the call goes upstream. A choice (`anyOf`) with such a
  branch is asked for as one JSON string as a whole, so a value is never ambiguous between "a string" and
  "JSON in a string".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp_gateway.bridge.schemas import JsonSchema, declared_types, resolve_local_ref

__all__ = [
    "GEMINI_FORMATS",
    "GEMINI_SCHEMA_KEYWORDS",
    "GEMINI_TYPES",
    "ArgumentPath",
    "GeminiParameters",
    "decode_json_arguments",
    "gemini_parameters",
    "to_gemini_schema",
]

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

ArgumentPath = tuple[str | None, ...]
"""Where a value sits in a call's arguments: property names from the root, None for "each element of an array"."""


@dataclass(frozen=True)
class GeminiParameters:
    """A root object schema in Gemini's form, and where it asks for values as JSON-encoded strings."""

    schema: JsonSchema
    json_encoded: tuple[ArgumentPath, ...] = ()


@dataclass(frozen=True)
class _Cut:
    """A reference that is not expanded (a cycle or a dead end), with the words beside it."""

    note: str
    description: Any


@dataclass
class _Context:
    root: Mapping[str, Any]
    encoded: dict[ArgumentPath, str] = field(default_factory=dict)
    """Paths whose value is asked for as a JSON string, with what the description says about it."""

    def encode(self, path: ArgumentPath, note: str) -> None:
        self.encoded.setdefault(path, note)

    def collapse(self, path: ArgumentPath) -> str | None:
        """The note for `path` if it is JSON-encoded; paths below it are then part of that one string."""
        note = self.encoded.get(path)
        if note is not None:
            for deeper in [known for known in self.encoded if len(known) > len(path) and known[: len(path)] == path]:
                del self.encoded[deeper]
        return note


def gemini_parameters(schema: Mapping[str, Any]) -> GeminiParameters:
    """The Gemini form of a normalized (see `schemas.normalize_schema`) root object schema."""
    context = _Context(root=schema)
    converted = _convert(schema, context, (), ())
    if converted.get("type") != "object" or () in context.encoded:
        # A root without usable properties: Gemini's declaration then goes without `parameters`.
        words = {key: schema[key] for key in ("description", "title") if isinstance(schema.get(key), str)}
        return GeminiParameters(schema={"type": "object", **words})
    return GeminiParameters(schema=converted, json_encoded=tuple(context.encoded))


def to_gemini_schema(schema: Mapping[str, Any]) -> JsonSchema:
    """The Gemini form of a normalized root object schema (see `gemini_parameters` for the encoded paths)."""
    return gemini_parameters(schema).schema


def decode_json_arguments(arguments: Mapping[str, Any], paths: Iterable[ArgumentPath]) -> dict[str, Any]:
    """A copy of a Gemini call's arguments with the JSON-encoded strings at `paths` parsed back.

    A string that is not valid JSON is passed on as it is, for the tool to judge.
    """
    decoded: dict[str, Any] = dict(arguments)
    for path in paths:
        decoded = _decode_at(decoded, path)
    return decoded


def _decode_at(value: Any, path: ArgumentPath) -> Any:
    if not path:
        return _parsed(value)
    step, rest = path[0], path[1:]
    if step is None:
        return [_decode_at(item, rest) for item in value] if isinstance(value, list) else value
    if isinstance(value, dict) and step in value:
        return {**value, step: _decode_at(value[step], rest)}
    return value


def _parsed(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _is_null_only(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    return (
        declared_types(schema) == ["null"]
        or schema.get("enum") == [None]
        or ("const" in schema and schema["const"] is None)
    )


def _expand(node: Mapping[str, Any], root: Mapping[str, Any], refs: _Refs) -> tuple[JsonSchema, _Refs] | _Cut:
    """Inline `$ref` chains and merge `allOf`; returns (schema, refs on the path) or where the expansion stops."""
    current = dict(node)
    while "$ref" in current:
        ref = current.pop("$ref")
        target = resolve_local_ref(root, ref) if isinstance(ref, str) else None
        name = str(ref).rsplit("/", 1)[-1]
        if ref in refs:
            # Expanding a reference again on its own path would never end.
            return _Cut(f"recursive reference to {name} not expanded", current.get("description"))
        if not isinstance(target, Mapping):
            return _Cut(f"unresolvable reference {ref}", current.get("description"))
        refs = (*refs, ref)
        # Keywords beside a `$ref` (a description, a title) refine the target, so they win.
        current = {**target, **current}
    members = current.pop("allOf", None)
    if isinstance(members, list):
        for member in members:
            if not isinstance(member, Mapping):
                continue
            expanded = _expand(member, root, refs)
            if isinstance(expanded, _Cut):
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


def _json_string(note: str, description: Any, nullable: bool) -> JsonSchema:
    words = f"{description} " if isinstance(description, str) and description else ""
    result: JsonSchema = {"type": "string", "description": f"{words}({note}; send it as a JSON-encoded string)"}
    if nullable:
        result["nullable"] = True
    return result


def _convert(node: Any, context: _Context, refs: _Refs, path: ArgumentPath) -> JsonSchema:
    if not isinstance(node, Mapping):
        context.encode(path, "any JSON value")
        return _json_string("any JSON value", None, False)
    expanded = _expand(node, context.root, refs)
    if isinstance(expanded, _Cut):
        context.encode(path, expanded.note)
        return _json_string(expanded.note, expanded.description, False)
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
        converted = [_convert(member, context, refs, path) for member in options]
        if len(converted) == 1:
            # `anyOf: [X, null]` is Gemini's `X` with `nullable: true`; the wrapper's words refine X.
            result = converted[0]
            for keyword in ("title", "description"):
                if isinstance(schema.get(keyword), str):
                    result[keyword] = schema[keyword]
        elif converted:
            result = {"anyOf": converted}
        else:
            result = _typed(schema, "string", context, refs, path, notes)
    elif len(types) > 1:
        result = {"anyOf": [_typed(schema, kind, context, refs, path, notes) for kind in types]}
    else:
        kind = types[0] if types else _inferred_type(schema)
        if kind is None:
            context.encode(path, "any JSON value")
            result = {}
        else:
            result = _typed(schema, kind, context, refs, path, notes)

    encoded = context.collapse(path)
    if encoded is not None:
        return _json_string(encoded, schema.get("description"), nullable)
    _describe(result, schema, notes)
    if nullable:
        result["nullable"] = True
    return _any_of_alone(result) if "anyOf" in result else result


def _any_of_alone(node: JsonSchema) -> JsonSchema:
    """`node` with only `anyOf` set: its other fields go into every branch, nested choices are flattened."""
    extras = {keyword: value for keyword, value in node.items() if keyword != "anyOf"}
    branches: list[JsonSchema] = []
    for member in node["anyOf"]:
        # Members were made alone already, so a nested choice has nothing but its own branches.
        for branch in member.get("anyOf", [member]):
            branches.append(_refined(branch, extras))
    return {"anyOf": branches}


def _refined(branch: JsonSchema, extras: Mapping[str, Any]) -> JsonSchema:
    refined = dict(branch)
    if extras.get("nullable") is True:
        refined["nullable"] = True
    if isinstance(extras.get("title"), str):
        refined.setdefault("title", extras["title"])
    outer = extras.get("description")
    if isinstance(outer, str) and outer:
        inner = refined.get("description")
        refined["description"] = f"{outer} {inner}" if isinstance(inner, str) and inner else outer
    return refined


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


def _typed(
    schema: Mapping[str, Any], kind: str, context: _Context, refs: _Refs, path: ArgumentPath, notes: list[str]
) -> JsonSchema:
    result: JsonSchema = {"type": kind}
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        if kind == "string":
            _string_enum(enum, result, notes)
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
        result["items"] = _convert(items, context, refs, (*path, None)) if has_items else dict(_UNKNOWN_ITEMS)
    if kind == "object":
        _object_fields(schema, result, context, refs, path)
    return result


def _string_enum(enum: Sequence[Any], result: JsonSchema, notes: list[str]) -> None:
    values = list(dict.fromkeys(_as_text(value) for value in enum))
    # Gemini refuses empty enum values ("enum[n]: cannot be empty"); the model still learns they are allowed.
    kept = [value for value in values if value]
    if kept:
        result["enum"] = kept
    if len(kept) < len(values):
        notes.append("An empty string is also allowed." if kept else "The only allowed value is an empty string.")


def _object_fields(
    schema: Mapping[str, Any], result: JsonSchema, context: _Context, refs: _Refs, path: ArgumentPath
) -> None:
    properties = schema.get("properties")
    converted: dict[str, JsonSchema] = {}
    if isinstance(properties, Mapping):
        converted = {
            name: _convert(sub, context, refs, (*path, name)) for name, sub in properties.items() if sub != {"not": {}}
        }
    if not converted:
        context.encode(path, "a JSON object")
        return
    result["properties"] = converted
    required = [name for name in schema.get("required", []) if name in converted]
    if required:
        result["required"] = required


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
