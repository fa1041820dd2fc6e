"""JSON Schema clean-up every provider needs before its own rewriting.

`normalize_schema` turns whatever an MCP server advertised as `inputSchema` into a JSON Schema (draft
2020-12) that every provider's validator accepts: the root is an object with `properties`, every array has
`items`, Swagger/draft-4 leftovers are translated, and keywords whose values are malformed are dropped rather
than sent. It returns a new structure; the caller's schema is never modified and never shared.

Provider-specific rewriting lives next door: `gemini_schema` (Gemini's OpenAPI 3.0 subset) and
`strict_schema` (OpenAI strict mode).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from mcp_gateway.schema_keywords import (
    LIST_SUBSCHEMA_KEYWORDS,
    MAP_SUBSCHEMA_KEYWORDS,
    SINGLE_SUBSCHEMA_KEYWORDS,
)

__all__ = [
    "JSON_TYPES",
    "JsonSchema",
    "declared_types",
    "normalize_schema",
    "resolve_local_ref",
    "subschemas",
]

JsonSchema = dict[str, Any]

JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})

# Swagger 2.0 form parameters use `type: file`; the closest JSON Schema is a binary string.
_TYPE_ALIASES = {"file": "string"}
_NON_NEGATIVE_INTEGER_KEYWORDS = frozenset(
    {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains"}
)
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_STRING_KEYWORDS = frozenset({"pattern", "format", "title", "description", "$ref", "$id", "$anchor", "$comment"})
_BOOLEAN_KEYWORDS = frozenset({"uniqueItems", "readOnly", "writeOnly", "deprecated"})
_ARRAY_KEYWORDS = frozenset({"enum", "examples"})
# Keywords whose value may itself be `true`/`false` rather than a schema object.
_BOOLEAN_ALLOWED = frozenset(
    {"additionalProperties", "additionalItems", "items", "unevaluatedItems", "unevaluatedProperties"}
)


def normalize_schema(schema: Mapping[str, Any] | None) -> JsonSchema:
    """A deep copy of `schema` made safe for every provider; an empty or missing schema means "no arguments"."""
    root = _normalize_node(schema) if isinstance(schema, Mapping) else {}
    # `$schema` and a root `$id` are rejected by some providers and carry nothing the model needs.
    root.pop("$schema", None)
    root.pop("$id", None)
    # MCP requires an object at the root and every provider insists on it, often with `properties` present.
    root["type"] = "object"
    if not isinstance(root.get("properties"), dict):
        root["properties"] = {}
    return root


def declared_types(schema: Mapping[str, Any]) -> list[str]:
    """The `type` keyword as a list (empty when absent)."""
    value = schema.get("type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def subschemas(schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every direct subschema of `schema` with the keyword it sits under (never property names as keywords)."""
    for keyword in SINGLE_SUBSCHEMA_KEYWORDS:
        value = schema.get(keyword)
        if isinstance(value, Mapping):
            yield keyword, value
        elif keyword == "items" and isinstance(value, list):
            for item in value:
                yield keyword, item
    for keyword in LIST_SUBSCHEMA_KEYWORDS:
        value = schema.get(keyword)
        if isinstance(value, list):
            for item in value:
                yield keyword, item
    for keyword in MAP_SUBSCHEMA_KEYWORDS:
        value = schema.get(keyword)
        if isinstance(value, Mapping):
            for item in value.values():
                yield keyword, item


def resolve_local_ref(root: Mapping[str, Any], ref: str) -> Any:
    """Follow a same-document JSON pointer (`#/$defs/Pet`); None when it does not resolve."""
    if not ref.startswith("#"):
        return None
    target: Any = root
    for raw in ref[1:].split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return None
    return target


def _normalize_subschema(value: Any) -> Any:
    if value is True:
        return {}
    if value is False:
        return {"not": {}}
    if isinstance(value, Mapping):
        return _normalize_node(value)
    return None


def _normalize_type(value: Any) -> str | list[str] | None:
    raw = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    kept: list[str] = []
    for item in raw:
        name = _TYPE_ALIASES.get(item, item) if isinstance(item, str) else None
        if name in JSON_TYPES and name not in kept:
            kept.append(name)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else kept


def _valid_scalar(keyword: str, value: Any) -> bool:
    if keyword in _NON_NEGATIVE_INTEGER_KEYWORDS:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if keyword in _NUMBER_KEYWORDS:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if keyword == "multipleOf":
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if keyword in _STRING_KEYWORDS:
        return isinstance(value, str)
    if keyword in _BOOLEAN_KEYWORDS:
        return isinstance(value, bool)
    if keyword in _ARRAY_KEYWORDS:
        return isinstance(value, list) and (keyword != "enum" or len(value) > 0)
    return True


def _normalize_node(node: Mapping[str, Any]) -> JsonSchema:
    out: JsonSchema = {}
    for keyword, value in node.items():
        if not isinstance(keyword, str):
            continue
        if keyword in SINGLE_SUBSCHEMA_KEYWORDS:
            if keyword == "items" and isinstance(value, list):
                # Draft-4 tuple form; 2020-12 (what Anthropic validates against) only knows one `items` schema.
                members = [m for m in (_normalize_subschema(item) for item in value) if m is not None]
                out[keyword] = {"anyOf": members} if members else {}
            elif isinstance(value, bool) and keyword in _BOOLEAN_ALLOWED:
                out[keyword] = value
            elif isinstance(value, Mapping | bool):
                out[keyword] = _normalize_subschema(value)
        elif keyword in LIST_SUBSCHEMA_KEYWORDS:
            if isinstance(value, list):
                members = [m for m in (_normalize_subschema(item) for item in value) if m is not None]
                if members:
                    out[keyword] = members
        elif keyword in MAP_SUBSCHEMA_KEYWORDS:
            if isinstance(value, Mapping):
                out[keyword] = {
                    str(name): sub
                    for name, sub in ((name, _normalize_subschema(sub)) for name, sub in value.items())
                    if sub is not None
                }
        elif keyword == "type":
            normalized = _normalize_type(value)
            if normalized is not None:
                out["type"] = normalized
        elif keyword == "required":
            if isinstance(value, list):
                out["required"] = list(dict.fromkeys(item for item in value if isinstance(item, str)))
        elif keyword in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            continue
        elif _valid_scalar(keyword, value):
            out[keyword] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    _translate_boolean_exclusive_bounds(node, out)
    if "array" in declared_types(out) and "items" not in out:
        out["items"] = {}
    return out


def _translate_boolean_exclusive_bounds(node: Mapping[str, Any], out: JsonSchema) -> None:
    """Draft 4 / OpenAPI 3.0 write `exclusiveMinimum: true` next to `minimum`; 2020-12 wants the number."""
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(flag) is True and bound in out:
            out[flag] = out.pop(bound)
