"""JSON Schema (2020-12, plus the older `definitions`/`additionalItems`) keywords whose values are subschemas.

Spec conversion and provider rewriting both walk schemas; one list keeps them from disagreeing about where
subschemas live.
"""

from __future__ import annotations

SINGLE_SUBSCHEMA_KEYWORDS: tuple[str, ...] = (
    "items",
    "additionalProperties",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
"""Keywords whose value is one subschema."""
LIST_SUBSCHEMA_KEYWORDS: tuple[str, ...] = ("anyOf", "oneOf", "allOf", "prefixItems")
"""Keywords whose value is a list of subschemas."""
MAP_SUBSCHEMA_KEYWORDS: tuple[str, ...] = (
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
)
"""Keywords whose value maps names to subschemas."""
