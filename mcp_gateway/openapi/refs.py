"""Local JSON references (`#/components/schemas/Pet`) within one document.

Lookups are resolved lazily and memoized per pointer, so a spec with tens of thousands of `$ref`s pays
for each distinct pointer once. Reference chains that loop back on themselves raise instead of recursing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

__all__ = ["RefIndex", "UnresolvableRef", "is_reference", "pointer_segments", "reference_to"]

# OpenAPI 3.1 lets a Reference Object override these of its target; earlier versions ignore siblings,
# and applying them there is harmless (they only describe).
_OVERRIDING_SIBLINGS = ("summary", "description")


class UnresolvableRef(Exception):
    def __init__(self, ref: str, reason: str) -> None:
        super().__init__(f"unresolvable $ref {ref!r}: {reason}")
        self.ref = ref
        self.reason = reason


def is_reference(node: Any) -> bool:
    return isinstance(node, Mapping) and isinstance(node.get("$ref"), str)


def pointer_segments(ref: str) -> tuple[str, ...]:
    """`#/paths/~1pets/get` -> ("paths", "/pets", "get"). Raises for anything but a local pointer."""
    if not ref.startswith("#"):
        raise UnresolvableRef(ref, "only references within the document are supported")
    pointer = unquote(ref[1:])
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise UnresolvableRef(ref, "not a JSON pointer")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/"))


def reference_to(segments: tuple[str, ...]) -> str:
    """The inverse of `pointer_segments` (without percent-encoding)."""
    return "#" + "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in segments)


class RefIndex:
    """Resolves local references of one document. Read-only: never changes the document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = document
        self._resolved: dict[str, Any] = {}

    def resolve(self, ref: str) -> Any:
        """The value a pointer names (which may itself be a reference)."""
        try:
            return self._resolved[ref]
        except KeyError:
            pass
        node: Any = self._document
        for segment in pointer_segments(ref):
            if isinstance(node, Mapping) and segment in node:
                node = node[segment]
            elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                node = node[int(segment)]
            else:
                raise UnresolvableRef(ref, f"no {segment!r} in the document")
        self._resolved[ref] = node
        return node

    def follow(self, node: Any) -> Any:
        """Follow a chain of references to a non-reference value; other values are returned unchanged.

        `summary`/`description` written next to a `$ref` override the target's (OpenAPI 3.1 semantics);
        the result is then a new dict, never the document's own.
        """
        seen: list[str] = []
        overrides: dict[str, Any] = {}
        while is_reference(node):
            ref = node["$ref"]
            if ref in seen:
                raise UnresolvableRef(ref, "circular reference chain " + " -> ".join([*seen, ref]))
            seen.append(ref)
            for key in _OVERRIDING_SIBLINGS:
                if key in node and key not in overrides:
                    overrides[key] = node[key]
            node = self.resolve(ref)
        if overrides and isinstance(node, Mapping):
            return {**node, **overrides}
        return node
