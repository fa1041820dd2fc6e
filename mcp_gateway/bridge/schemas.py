"""JSON Schema clean-up every provider needs before its own rewriting.

`normalize_input_schema` turns whatever an MCP server advertised as `inputSchema` into a JSON Schema (draft
2020-12) that every provider's validator accepts: the root is an object with `properties`, every array has
`items`, Swagger/draft-4 leftovers are translated, and keywords whose values are malformed are dropped rather
than sent. It returns a new structure; the caller's schema is never modified and never shared.

Providers refuse some keywords at the root that they accept anywhere below it:
- Anthropic: "input_schema does not support oneOf, allOf, or anyOf at the top level" (400 from the Messages
  API; Bedrock Converse runs Claude models' tools through the same validator).
- OpenAI (Chat Completions and Responses, strict or not): "Invalid schema for function ...: schema must have
  type 'object' and not have 'oneOf'/'anyOf'/'allOf'/'enum'/'not' at the top level".
- Gemini's `parameters` describe the function's parameters by name, so the root has to be a plain object.
- Mistral and Cohere document object parameters and nothing about root combinators, so they get the same.
So the root is flattened for every target alike: `allOf` members are merged into it, the properties of
`anyOf`/`oneOf` branches are offered at the root (those every branch requires stay required), and whatever
cannot be expressed that way (the choice between branches, `not`, a root `enum` or `const`) leaves the schema and
becomes a short sentence for the tool description (`ToolInput.constraints`). Combinators below the root stay.

Provider-specific rewriting lives next door: `gemini_schema` (Gemini's OpenAPI 3.0 subset) and
`strict_schema` (OpenAI strict mode).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_gateway.schema_keywords import (
    LIST_SUBSCHEMA_KEYWORDS,
    MAP_SUBSCHEMA_KEYWORDS,
    SINGLE_SUBSCHEMA_KEYWORDS,
)

__all__ = [
    "JSON_TYPES",
    "JsonSchema",
    "RootRule",
    "ToolInput",
    "declared_types",
    "normalize_input_schema",
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


# Keywords no provider takes at the root of a tool's schema (see the module docstring).
_ROOT_ONLY_KEYWORDS = ("allOf", "anyOf", "oneOf", "not", "enum", "const")
# A branch made only of these says no more than "these arguments, with these names required".
_ARGUMENT_SET_KEYWORDS = frozenset(
    {"type", "properties", "required", "title", "description", "additionalProperties", "$comment"}
)
_ALTERNATIVE_LEADS = {"anyOf": "Arguments must satisfy one of", "oneOf": "Arguments must satisfy exactly one of"}
# Words about a part of the schema that mean nothing once that part is merged into the root.
_DOCUMENTATION_KEYWORDS = frozenset({"title", "description", "$comment", "examples", "default"})
# A schema quoted in a description is cut here: the sentence is for a model, not a validator.
_QUOTE_LIMIT = 160
_ELLIPSIS = "…"

ArgumentSet = tuple[str, ...]


@dataclass(frozen=True)
class RootRule:
    """A rule the schema's root stated and no provider accepts there, to be told to the model instead."""

    lead: str
    """The start of the sentence, e.g. "Arguments must satisfy one of"."""
    options: tuple[ArgumentSet | str, ...]
    """Argument sets (names that go together) or, for anything else, the schema as compact JSON."""

    def sentence(self, rename: Mapping[str, str]) -> str:
        """The rule in words; `rename` maps an argument's name to the one the provider sees."""
        rendered = [
            "{" + ", ".join(rename.get(name, name) for name in option) + "}" if isinstance(option, tuple) else option
            for option in self.options
        ]
        return f"{self.lead}: {' or '.join(rendered)}."


@dataclass(frozen=True)
class ToolInput:
    """A tool's input schema made safe for every provider, and the root-level rules it had to leave out."""

    schema: JsonSchema
    rules: tuple[RootRule, ...] = ()

    def constraints(self, rename: Mapping[str, str] | None = None) -> str | None:
        """The left-out rules as sentences for the tool description (None when nothing was left out)."""
        if not self.rules:
            return None
        return " ".join(rule.sentence(rename or {}) for rule in self.rules)


def normalize_input_schema(schema: Mapping[str, Any] | None) -> ToolInput:
    """A deep copy of `schema` made safe for every provider, with what its root had to give up.

    An empty or missing schema means "no arguments".
    """
    normalized = _normalize_node(schema) if isinstance(schema, Mapping) else {}
    root, rules = _flatten_root(normalized, normalized, ())
    # `$schema` and a root `$id` are rejected by some providers and carry nothing the model needs.
    root.pop("$schema", None)
    root.pop("$id", None)
    # MCP requires an object at the root and every provider insists on it, often with `properties` present.
    root["type"] = "object"
    if not isinstance(root.get("properties"), dict):
        root["properties"] = {}
    return ToolInput(schema=root, rules=tuple(rules))


def normalize_schema(schema: Mapping[str, Any] | None) -> JsonSchema:
    """The schema of `normalize_input_schema`, for callers that do not describe the tool."""
    return normalize_input_schema(schema).schema


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


def _flatten_root(node: JsonSchema, document: JsonSchema, refs: tuple[str, ...]) -> tuple[JsonSchema, list[RootRule]]:
    """`node` without root-only keywords (a new dict), and the rules they stated that could not be merged."""
    flat = {keyword: value for keyword, value in node.items() if keyword not in _ROOT_ONLY_KEYWORDS}
    rules: list[RootRule] = []
    for member in node.get("allOf", []):
        _merge_all_of_member(flat, member, document, refs, rules)
    for keyword, lead in _ALTERNATIVE_LEADS.items():
        if keyword in node:
            rule = _merge_alternatives(flat, node[keyword], lead, document, refs)
            if rule is not None:
                rules.append(rule)
    if "not" in node:
        rules.append(_negation(node["not"], document, refs))
    if "enum" in node:
        rules.append(RootRule("Arguments must be one of", tuple(_quote(value) for value in node["enum"])))
    if "const" in node:
        rules.append(RootRule("Arguments must be exactly", (_quote(node["const"]),)))
    return flat, rules


def _resolve(node: Any, document: JsonSchema, refs: tuple[str, ...]) -> tuple[JsonSchema, tuple[str, ...]] | None:
    """`node` with a local `$ref` chain followed (keywords beside a `$ref` win); None for a cycle or a dead end."""
    if not isinstance(node, Mapping):
        return None
    current = dict(node)
    while "$ref" in current:
        ref = current.pop("$ref")
        target = resolve_local_ref(document, ref) if isinstance(ref, str) else None
        if ref in refs or not isinstance(target, Mapping):
            return None
        refs = (*refs, ref)
        # The target belongs to `$defs`; the merged root must not share it.
        current = {**copy.deepcopy(dict(target)), **current}
    return current, refs


def _object_like(schema: Mapping[str, Any]) -> bool:
    types = declared_types(schema)
    return not types or "object" in types


def _merge_all_of_member(
    flat: JsonSchema, member: Any, document: JsonSchema, refs: tuple[str, ...], rules: list[RootRule]
) -> None:
    resolved = _resolve(member, document, refs)
    if resolved is None or not _object_like(resolved[0]):
        rules.append(RootRule("Arguments must also match", (_quote(member),)))
        return
    schema, member_refs = resolved
    inner, inner_rules = _flatten_root(schema, document, member_refs)
    rules.extend(inner_rules)
    for keyword, value in inner.items():
        if keyword == "properties" and isinstance(value, Mapping):
            properties = dict(flat.get("properties", {}))
            for name, sub in value.items():
                # Both parts of an allOf hold, so a property described twice must match both descriptions.
                known = properties.get(name)
                properties[name] = sub if known is None or known == sub else {"allOf": [known, sub]}
            flat["properties"] = properties
        elif keyword == "required":
            flat["required"] = list(dict.fromkeys([*flat.get("required", []), *value]))
        elif keyword in ("$defs", "definitions") and isinstance(value, Mapping):
            flat[keyword] = {**value, **flat.get(keyword, {})}
        elif keyword == "type" or keyword in _DOCUMENTATION_KEYWORDS:
            continue
        elif keyword not in flat:
            flat[keyword] = value
        elif flat[keyword] != value:
            rules.append(RootRule("Arguments must also match", (_quote({keyword: value}),)))


def _merge_alternatives(
    flat: JsonSchema, branches: Sequence[Any], lead: str, document: JsonSchema, refs: tuple[str, ...]
) -> RootRule | None:
    """Offer every branch's arguments at the root; the choice between branches is returned as a rule."""
    options: list[ArgumentSet | str] = []
    required_sets: list[list[str]] = []
    variants: dict[str, list[Any]] = {}
    for branch in branches:
        resolved = _resolve(branch, document, refs)
        if resolved is None or not _object_like(resolved[0]):
            options.append(_quote(branch))
            required_sets.append([])
            continue
        schema = resolved[0]
        required = [name for name in schema.get("required", []) if isinstance(name, str)]
        required_sets.append(required)
        for name, sub in schema.get("properties", {}).items():
            if sub not in variants.setdefault(name, []):
                variants[name].append(sub)
        options.append(tuple(required) if set(schema) <= _ARGUMENT_SET_KEYWORDS else _quote(schema))
    known = dict(flat.get("properties", {}))
    for name, schemas in variants.items():
        # A property the root already describes keeps that description; otherwise it may take any branch's form.
        if name not in known:
            known[name] = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    flat["properties"] = known
    # What every branch requires is required whichever branch the arguments satisfy.
    always = [name for name in required_sets[0] if all(name in other for other in required_sets)] if branches else []
    if always:
        flat["required"] = list(dict.fromkeys([*flat.get("required", []), *always]))
    distinct = list(dict.fromkeys(options))
    # A branch that asks for nothing is always satisfied, and a single set is already in `required`.
    if () in distinct or (len(distinct) == 1 and isinstance(distinct[0], tuple)):
        return None
    return RootRule(lead, tuple(distinct))


def _negation(excluded: Any, document: JsonSchema, refs: tuple[str, ...]) -> RootRule:
    resolved = _resolve(excluded, document, refs)
    if resolved is not None:
        schema = resolved[0]
        required = tuple(name for name in schema.get("required", []) if isinstance(name, str))
        if required and set(schema) <= _ARGUMENT_SET_KEYWORDS and not schema.get("properties"):
            return RootRule("Arguments must not include all of", (required,))
        excluded = schema
    return RootRule("Arguments must not match", (_quote(excluded),))


def _quote(value: Any) -> str:
    """`value` as compact, key-sorted JSON, cut to a sentence's length."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - len(_ELLIPSIS)] + _ELLIPSIS
