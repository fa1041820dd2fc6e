"""An operation's request body: which media type to send and whether its properties become arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_gateway.openapi.model import FieldEncoding

__all__ = ["BodyPlan", "flattenable", "plan_body"]

# Preferred media types, best first; anything else ranks after these, in the order the spec lists it.
_JSON = "application/json"
_PREFERENCE = (
    _JSON,
    "+json",
    "*/*",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "application/octet-stream",
)
_COMBINATORS = ("oneOf", "anyOf", "allOf", "not")


def _base(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def _rank(media_type: str) -> int:
    base = _base(media_type)
    if base.endswith("+json"):
        return _PREFERENCE.index("+json")
    return _PREFERENCE.index(base) if base in _PREFERENCE else len(_PREFERENCE)


@dataclass(frozen=True)
class BodyPlan:
    media_type: str
    """What the request will declare as Content-Type; `*/*` is sent as JSON."""
    required: bool
    schema: Any
    """The chosen media type's schema as written in the document (not yet converted)."""
    description: str | None = None
    encoding: Mapping[str, FieldEncoding] = field(default_factory=dict)


def _encoding(raw: Any) -> dict[str, FieldEncoding]:
    if not isinstance(raw, Mapping):
        return {}
    encodings: dict[str, FieldEncoding] = {}
    for name, entry in raw.items():
        if not isinstance(entry, Mapping):
            continue
        content_type, style, explode = entry.get("contentType"), entry.get("style"), entry.get("explode")
        encodings[str(name)] = FieldEncoding(
            content_type=content_type if isinstance(content_type, str) else None,
            style=style if isinstance(style, str) else None,
            explode=explode if isinstance(explode, bool) else None,
        )
    return encodings


def _default_schema(media_type: str) -> Mapping[str, Any]:
    # A JSON body without a schema can be any JSON value; other bodies are text or bytes.
    return {} if _rank(media_type) <= _PREFERENCE.index("*/*") else {"type": "string"}


def plan_body(request_body: Mapping[str, Any]) -> BodyPlan | None:
    """The body to send for a (resolved, validated) Request Body Object; None when it lists no content."""
    content = request_body.get("content")
    if not isinstance(content, Mapping) or not content:
        return None
    listed = [media_type for media_type in content if isinstance(media_type, str)]
    if not listed:
        return None
    chosen = min(enumerate(listed), key=lambda indexed: (_rank(indexed[1]), indexed[0]))[1]
    media = content[chosen] if isinstance(content[chosen], Mapping) else {}
    description = request_body.get("description")
    return BodyPlan(
        media_type=_JSON if _base(chosen) == "*/*" else chosen,
        required=request_body.get("required") is True,
        schema=media.get("schema", _default_schema(chosen)),
        description=description if isinstance(description, str) and description else None,
        encoding=_encoding(media.get("encoding")),
    )


def flattenable(schema: Any) -> tuple[Mapping[str, Any], frozenset[str]] | None:
    """(properties, required names) when a dereferenced body schema is a plain object, else None.

    Combinators would be lost by spreading properties into arguments, so such bodies stay whole.
    """
    if not isinstance(schema, Mapping) or schema.get("type", "object") != "object":
        return None
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties or any(key in schema for key in _COMBINATORS):
        return None
    required = schema.get("required")
    names = frozenset(name for name in required if isinstance(name, str)) if isinstance(required, list) else frozenset()
    return properties, names
