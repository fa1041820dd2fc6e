"""Top-level argument names that providers reject, renamed for the request and mapped back for the call.

Anthropic (and OpenAI through it in practice) accept input-schema property keys matching
`^[a-zA-Z0-9_.-]{1,64}$`. OpenAPI tools already have safe keys (the spec converter allocates them), but an
upstream MCP server may offer `$top` or `filter[x]`. Keys go through the shared naming module with the
PROPERTY rule, so valid keys keep priority and renamed ones never collide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_gateway.names import PROPERTY, allocate_names


def safe_property_keys(schema: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of `schema` with provider-safe top-level property keys, and the map safe key -> original key.

    The map is empty when every key was already valid (the schema is then returned as a shallow copy).
    """
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or all(PROPERTY.is_valid(key) for key in properties):
        return dict(schema), {}
    forward = allocate_names(list(properties), PROPERTY)
    renamed = dict(schema)
    renamed["properties"] = {forward[key]: value for key, value in properties.items()}
    required = schema.get("required")
    if isinstance(required, list):
        renamed["required"] = [forward.get(key, key) if isinstance(key, str) else key for key in required]
    return renamed, {safe: original for original, safe in forward.items() if safe != original}


def restore_keys(arguments: Mapping[str, Any], key_map: Mapping[str, str]) -> dict[str, Any]:
    """The provider's arguments under the tool's own top-level keys."""
    return {key_map.get(key, key): value for key, value in arguments.items()}
