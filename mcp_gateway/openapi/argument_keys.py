"""Tool argument keys for an operation's parameters and body fields.

Keys must be valid property names for every provider (`names.PROPERTY`) and unique within the tool,
while staying as close to the wire names as possible. Precedence decides who keeps a plain name when
two locations share it: path, then query, header, cookie, and the body last. A later location that
meets a name already taken is prefixed with its location (`id` in the path and the query become `id`
and `query_id`; a body field `id` next to them becomes `body_id`). Odd wire names (`$select`,
`filter[x]`, `StartTime<`) are then sanitized by the one naming module, which keeps already-valid keys
first and suffixes `_2`, `_3`, ... on collisions.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp_gateway import names

__all__ = ["ARGUMENT_LOCATIONS", "WHOLE_BODY", "allocate_argument_keys"]

ARGUMENT_LOCATIONS: tuple[str, ...] = ("path", "query", "header", "cookie", "body")
"""Where arguments go, in precedence order."""
WHOLE_BODY = "body"
"""The argument name of a body that is passed as one value."""


def allocate_argument_keys(wire_names: Sequence[tuple[str, str]]) -> list[str]:
    """One unique key per (location, wire name), given in precedence order; returned in the same order."""
    candidates: list[str] = []
    seen: set[str] = set()
    for location, wire_name in wire_names:
        candidate = wire_name
        if candidate in seen:
            candidate = f"{location}_{wire_name}"
        number = 2
        while candidate in seen:
            candidate = f"{location}_{wire_name}_{number}"
            number += 1
        seen.add(candidate)
        candidates.append(candidate)
    # Candidates are distinct, so the allocation gives each its own key.
    allocated = names.allocate_names(candidates, names.PROPERTY)
    return [allocated[candidate] for candidate in candidates]
