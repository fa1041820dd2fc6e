"""OpenAPI schemas -> JSON Schema 2020-12 for tool input schemas, with shared `$defs`.

Every reference inside a schema becomes `{"$ref": "#/$defs/<key>"}`; each referenced schema is converted
once per document and shared by every tool that reaches it. A tool's `$defs` holds only the transitive
closure of what that tool reaches, memoized per cycle of referenced schemas (closures.py), and tools that
reach the same schemas share one `$defs` object. Nothing is copied eagerly, so a spec with thousands of
tools and cyclic schemas costs memory in proportion to the spec, not to tools x schemas.

Conversions, applied consistently to every schema:
- `nullable: true` (OpenAPI 3.0) becomes 3.1 form: `type: [X, "null"]` when a type is given (and `null`
  joins an `enum`), otherwise `anyOf: [<schema>, {"type": "null"}]` with annotations kept outside.
- boolean `exclusiveMinimum`/`exclusiveMaximum` (3.0) become the numeric 2020-12 form.
- OpenAPI-only keywords that mean nothing to a JSON Schema consumer (`discriminator`, `xml`,
  `externalDocs`) and `x-` extensions are dropped.
Schemas already in 3.1 form (type arrays, `type: "null"`) pass through unchanged.

Converted schemas, and whole `$defs` objects, are shared between tools: treat tool input schemas as
read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mcp_gateway import names
from mcp_gateway.openapi.closures import close_over
from mcp_gateway.openapi.refs import RefIndex, pointer_segments, reference_to
from mcp_gateway.schema_keywords import LIST_SUBSCHEMA_KEYWORDS, MAP_SUBSCHEMA_KEYWORDS, SINGLE_SUBSCHEMA_KEYWORDS

__all__ = ["ConvertedSchema", "SchemaConverter"]

_DROPPED_KEYWORDS = frozenset({"discriminator", "xml", "externalDocs"})
_ANNOTATIONS = ("title", "description", "default", "deprecated", "readOnly", "writeOnly", "example", "examples")
_COMPONENT_SCHEMAS = ("components", "schemas")

ConvertedSchema = tuple[Any, frozenset[str]]
"""A converted schema and the document references (`#/...`) it points at directly."""


def _apply_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.pop("nullable", None) is not True:
        return schema
    declared_type = schema.get("type")
    if isinstance(declared_type, str | list):
        types = [declared_type] if isinstance(declared_type, str) else list(declared_type)
        if "null" not in types:
            schema["type"] = [*types, "null"]
        enum = schema.get("enum")
        if isinstance(enum, list) and None not in enum:
            schema["enum"] = [*enum, None]
        return schema
    outer = {key: schema.pop(key) for key in _ANNOTATIONS if key in schema}
    return {**outer, "anyOf": [schema, {"type": "null"}]}


def _apply_exclusive_bounds(schema: dict[str, Any]) -> None:
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(exclusive)
        if not isinstance(flag, bool):
            continue
        del schema[exclusive]
        if flag and bound in schema:
            schema[exclusive] = schema.pop(bound)


class SchemaConverter:
    """Converts the schemas of one document; memoizes referenced schemas and their closures."""

    def __init__(self, refs: RefIndex, document: Mapping[str, Any]) -> None:
        self._refs = refs
        components = document.get("components")
        schemas = components.get("schemas") if isinstance(components, Mapping) else None
        component_names = [name for name in schemas if isinstance(name, str)] if isinstance(schemas, Mapping) else []
        # Component schemas keep their own names as `$defs` keys whenever those are valid property-style
        # keys; allocating them all up front keeps a component's key independent of which tool came first.
        self._component_keys = names.allocate_names(component_names, names.PROPERTY)
        self._taken_keys = set(self._component_keys.values())
        self._keys: dict[str, str] = {}
        self._referenced: dict[str, ConvertedSchema] = {}
        self._closures: dict[str, frozenset[str]] = {}
        self._definitions: dict[frozenset[str], dict[str, Any]] = {}
        self._inline: dict[int, tuple[Any, ConvertedSchema]] = {}
        """Conversions of schema objects met before (a shared parameter reached by many operations), by
        identity; the schema is kept with its conversion so its id cannot be reused by another object."""

    def convert(self, schema: Any) -> ConvertedSchema:
        """Convert an inline schema; references are rewritten to `#/$defs/...` and reported."""
        if isinstance(schema, Mapping):
            known = self._inline.get(id(schema))
            if known is not None and known[0] is schema:
                return known[1]
        refs: set[str] = set()
        converted = self._convert(schema, refs)
        result = (converted, frozenset(refs))
        if isinstance(schema, Mapping):
            self._inline[id(schema)] = (schema, result)
        return result

    def definitions(self, refs: Iterable[str]) -> dict[str, Any]:
        """`$defs` for schemas pointing at `refs`: every schema they reach, keyed as their `$ref`s expect.

        Tools that reach the same set of schemas get the same dict object.
        Raises UnresolvableRef when any reachable reference does not resolve.
        """
        # Roots in one cycle share one closure object; deduplicating by identity avoids needless unions.
        closures = list({id(closure): closure for closure in map(self._closure, refs)}.values())
        if not closures:
            return {}
        reached = closures[0] if len(closures) == 1 else frozenset().union(*closures)
        memo = self._definitions.get(reached)
        if memo is None:
            keyed = {self._key(ref): self._referenced_schema(ref)[0] for ref in reached}
            memo = dict(sorted(keyed.items()))
            self._definitions[reached] = memo
        return memo

    def _closure(self, ref: str) -> frozenset[str]:
        return close_over(ref, self._references_of, self._closures)

    def _references_of(self, ref: str) -> frozenset[str]:
        return self._referenced_schema(ref)[1]

    def _referenced_schema(self, ref: str) -> ConvertedSchema:
        memo = self._referenced.get(ref)
        if memo is None:
            memo = self.convert(self._refs.resolve(ref))
            self._referenced[ref] = memo
        return memo

    def _key(self, ref: str) -> str:
        key = self._keys.get(ref)
        if key is not None:
            return key
        segments = pointer_segments(ref)
        if len(segments) == 3 and segments[:2] == _COMPONENT_SCHEMAS and segments[2] in self._component_keys:
            key = self._component_keys[segments[2]]
        else:
            candidate = "_".join(segments) or "document"
            key = names.allocate_names([candidate], names.PROPERTY, reserved=self._taken_keys)[candidate]
            self._taken_keys.add(key)
        self._keys[ref] = key
        return key

    def _convert(self, schema: Any, refs: set[str]) -> Any:
        if not isinstance(schema, Mapping):
            return schema
        converted: dict[str, Any] = {}
        for keyword, value in schema.items():
            if keyword == "$ref" and isinstance(value, str):
                pointer_segments(value)  # rejects non-local references early, with the reference named
                refs.add(value)
                converted[keyword] = reference_to(("$defs", self._key(value)))
            elif keyword in SINGLE_SUBSCHEMA_KEYWORDS:
                converted[keyword] = (
                    [self._convert(item, refs) for item in value]
                    if isinstance(value, list)
                    else self._convert(value, refs)
                )
            elif keyword in LIST_SUBSCHEMA_KEYWORDS and isinstance(value, list):
                converted[keyword] = [self._convert(item, refs) for item in value]
            elif keyword in MAP_SUBSCHEMA_KEYWORDS and isinstance(value, Mapping):
                converted[keyword] = {name: self._convert(item, refs) for name, item in value.items()}
            elif keyword in _DROPPED_KEYWORDS or (isinstance(keyword, str) and keyword.startswith("x-")):
                continue
            else:
                converted[keyword] = value
        _apply_exclusive_bounds(converted)
        return _apply_nullable(converted)
