"""Undo, in a strict-mode tool call's arguments, what strict mode forced on the model.

OpenAI strict mode requires every property to be listed as required, so optional properties are offered as
nullable and a strict model answers `null` for each one it means to leave out. Passed on as they are, those
nulls reach the upstream as values the tool never allowed (a 422 from a real API). The original schema says
which properties were optional and whether null was ever valid; those nulls are dropped, nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_gateway.bridge.schemas import declared_types, resolve_local_ref

_MAX_REF_HOPS = 32


def drop_strict_nulls(arguments: Mapping[str, Any], original_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `arguments` without the nulls that stand for "left out" under the original schema."""
    cleaned = _clean(dict(arguments), original_schema, original_schema)
    return cleaned if isinstance(cleaned, dict) else dict(arguments)


def _resolved(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for _ in range(_MAX_REF_HOPS):
        if not isinstance(schema, Mapping):
            return None
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        schema = resolve_local_ref(root, ref)
    return None


def _allows_null(schema: Any, root: Mapping[str, Any]) -> bool:
    resolved = _resolved(schema, root)
    if resolved is None:
        # Unknown or unresolvable: we cannot prove null is invalid, so the model's value stands.
        return True
    if not resolved or "null" in declared_types(resolved) or resolved.get("nullable") is True:
        return True
    if "const" in resolved and resolved["const"] is None:
        return True
    enum = resolved.get("enum")
    if isinstance(enum, list) and None in enum:
        return True
    branches = [*resolved.get("anyOf", []), *resolved.get("oneOf", [])]
    if branches:
        return any(_allows_null(branch, root) for branch in branches)
    return "type" not in resolved and "enum" not in resolved and "const" not in resolved and "allOf" not in resolved


def _clean(value: Any, schema: Any, root: Mapping[str, Any]) -> Any:
    resolved = _resolved(schema, root)
    if resolved is None:
        return value
    if isinstance(value, dict):
        properties = resolved.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = resolved.get("required")
        required_names = set(required) if isinstance(required, list) else set()
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            subschema = properties.get(key)
            if item is None and key not in required_names and key in properties and not _allows_null(subschema, root):
                continue
            cleaned[key] = _clean(item, subschema, root) if subschema is not None else item
        return cleaned
    if isinstance(value, list):
        items = resolved.get("items")
        return [_clean(item, items, root) for item in value] if isinstance(items, Mapping) else value
    return value
