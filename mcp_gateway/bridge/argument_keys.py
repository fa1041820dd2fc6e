"""Top-level argument names that providers reject, renamed for the request and mapped back for the call.

Anthropic (and OpenAI through it in practice) accept input-schema property keys matching
`^[a-zA-Z0-9_.-]{1,64}$` (the PROPERTY rule); Gemini's parameter names are stricter: a letter or underscore
first, then letters, digits and underscores (GEMINI_PROPERTY). OpenAPI tools already have safe keys (the spec
converter allocates them), but an upstream MCP server may offer `$top`, `filter[x]`, `a-b` or `1st`. Keys go
through the shared naming module with the provider's rule, so valid keys keep priority and renamed ones never
collide.

Only the top level is renamed: that is where the providers document (and enforce) the key rule, and the
arguments of a call are restored from one flat map. Nested property keys are sent as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_gateway.bridge.targets import Provider
from mcp_gateway.names import GEMINI_PROPERTY, PROPERTY, NameRule, allocate_names

__all__ = ["PROPERTY_RULES", "property_rule", "restore_keys", "safe_property_keys"]

PROPERTY_RULES: dict[Provider, NameRule] = {"gemini": GEMINI_PROPERTY}
"""Providers whose top-level argument names follow a rule other than PROPERTY."""


def property_rule(provider: Provider) -> NameRule:
    """The rule `provider` holds a tool's top-level argument names to."""
    return PROPERTY_RULES.get(provider, PROPERTY)


def safe_property_keys(schema: Mapping[str, Any], rule: NameRule = PROPERTY) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of `schema` with top-level property keys valid under `rule`, and the map safe key -> original key.

    The map is empty when every key was already valid (the schema is then returned as a shallow copy).
    """
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or all(rule.is_valid(key) for key in properties):
        return dict(schema), {}
    forward = allocate_names(list(properties), rule)
    renamed = dict(schema)
    renamed["properties"] = {forward[key]: value for key, value in properties.items()}
    required = schema.get("required")
    if isinstance(required, list):
        renamed["required"] = [forward.get(key, key) if isinstance(key, str) else key for key in required]
    return renamed, {safe: original for original, safe in forward.items() if safe != original}


def restore_keys(arguments: Mapping[str, Any], key_map: Mapping[str, str]) -> dict[str, Any]:
    """The provider's arguments under the tool's own top-level keys."""
    return {key_map.get(key, key): value for key, value in arguments.items()}
