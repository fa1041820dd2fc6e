"""OpenAPI parameter serialization: style + explode, for path, query, header, cookie and form fields.

Every function returns text that is already percent-encoded where the location needs it. Encoding happens
per value, before joining, so the style's delimiters (`,` `.` `;` `=` `|`) stay literal while the same
characters inside a value are escaped: `["a,b", "c"]` becomes `a%2Cb,c`, and a server can still split it.

Values beyond what OpenAPI defines get one documented rendering rather than an error:
- booleans are `true` / `false`, None inside a container is the empty string, and an object or array nested
  inside an array or a non-deepObject object is compact JSON text;
- deepObject recurses (`filter[b][c]=2`) and writes arrays inside it as `filter[tags][]=x`, the form that
  Rails, PHP and Node's qs all parse back into a list;
- an exploded empty array or object sends nothing (there is no pair to write); a non-exploded one sends the
  name with an empty value (`ids=`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote

Encoder = Callable[[str], str]

# allowReserved keeps RFC 3986 reserved characters literal, except those that would change the URL's own
# structure: `#` would start a fragment and `&` a new parameter, so they are always escaped.
_RESERVED_KEPT = ":/?[]@!$'()*+,;="
# Characters left literal in query and form keys: brackets for `filter[x]`-style names, `$` for OData's
# `$select`; everything that separates pairs or keys from values is escaped.
_KEY_SAFE = "[]$:@!'()*,;/?"
# RFC 6265 cookie-octets, minus `%` so escapes stay unambiguous.
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"

DEFAULT_STYLES = {"path": "simple", "header": "simple", "query": "form", "cookie": "form"}

# What `quote` never escapes, whatever it is told to keep: text made only of these is its own encoding.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_SCALARS = (str, int, float, bool, type(None))
"""Exact types whose value is one item in every style (`to_text`); subclasses take the general way."""
_PAIR_STYLES = frozenset({None, "form", "spaceDelimited", "pipeDelimited"})


class ValueShapeError(ValueError):
    """The value cannot be written in the requested style (for example a string for deepObject)."""


def default_explode(style: str) -> bool:
    return style == "form"


def encode_strict(text: str) -> str:
    """Percent-encode everything but unreserved characters: the value cannot leave its path segment."""
    # Checking first is several times cheaper than `quote` for the usual short plain value (an id, a number).
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="")


def encode_query_value(text: str, *, allow_reserved: bool = False) -> str:
    if _UNRESERVED.fullmatch(text):
        return text
    return quote(text, safe=_RESERVED_KEPT if allow_reserved else "")


@lru_cache(maxsize=1024)
def encode_key(text: str) -> str:
    # Mostly the few parameter names of a spec, encoded for every call that sends them.
    return quote(text, safe=_KEY_SAFE)


def encode_cookie_value(text: str) -> str:
    return quote(text, safe=_COOKIE_SAFE)


def to_text(value: Any) -> str:
    """One scalar as OpenAPI writes it: JSON spelling for booleans and numbers, strings unchanged."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is int:
        return int.__repr__(value)  # what json.dumps writes, without its encoder
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_array(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _object_flat(value: Mapping[str, Any], encode: Encoder) -> list[str]:
    """`{"a": 1, "b": 2}` as `["a", "1", "b", "2"]`, each encoded."""
    return [part for key, item in value.items() for part in (encode(str(key)), encode(to_text(item)))]


def _object_pairs(value: Mapping[str, Any], encode: Encoder) -> list[str]:
    """`{"a": 1, "b": 2}` as `["a=1", "b=2"]`, each side encoded."""
    return [f"{encode(str(key))}={encode(to_text(item))}" for key, item in value.items()]


def _array(value: Sequence[Any], encode: Encoder) -> list[str]:
    return [encode(to_text(item)) for item in value]


def expand_path(name: str, value: Any, style: str | None, explode: bool | None) -> str:
    """The text that replaces `{name}` in a path template, for the simple, label and matrix styles."""
    style = style or "simple"
    if style == "simple" and type(value) in _SCALARS:
        return encode_strict(to_text(value))  # `_simple`'s last line, without its container checks
    explode = default_explode(style) if explode is None else explode
    encode = encode_strict
    if style == "simple":
        return _simple(value, explode, encode)
    if style == "label":
        if isinstance(value, Mapping):
            parts = _object_pairs(value, encode) if explode else _object_flat(value, encode)
        else:
            parts = _array(value, encode) if _is_array(value) else [encode(to_text(value))]
        return "." + ("." if explode else ",").join(parts)
    if style == "matrix":
        key = encode(name)
        if isinstance(value, Mapping):
            if explode:
                return "".join(f";{pair}" for pair in _object_pairs(value, encode))
            return f";{key}=" + ",".join(_object_flat(value, encode))
        if _is_array(value):
            items = _array(value, encode)
            return "".join(f";{key}={item}" for item in items) if explode else f";{key}=" + ",".join(items)
        text = encode(to_text(value))
        return f";{key}={text}" if text else f";{key}"
    raise ValueShapeError(f"style '{style}' is not valid for a path parameter")


def _simple(value: Any, explode: bool, encode: Encoder) -> str:
    if isinstance(value, Mapping):
        return ",".join(_object_pairs(value, encode) if explode else _object_flat(value, encode))
    if _is_array(value):
        return ",".join(_array(value, encode))
    return encode(to_text(value))


def expand_header(value: Any, explode: bool | None) -> str:
    """A header parameter's value (simple style; headers are not percent-encoded)."""
    text = _simple(value, bool(explode), lambda part: part)
    if any(char in text for char in "\r\n\0"):
        raise ValueShapeError("header values cannot contain line breaks or NUL")
    if not text.isascii():
        # RFC 9110 leaves anything else to interpretation; httpx refuses to encode it.
        raise ValueShapeError("header values must be ASCII (RFC 9110)")
    return text


def expand_pairs(
    name: str,
    value: Any,
    style: str | None,
    explode: bool | None,
    *,
    encode_value: Encoder,
    object_style: str = "form",
) -> list[tuple[str, str]]:
    """Encoded (key, value) pairs for a query parameter or a form field, in order.

    `object_style` is the style used for an object when `style` is None: form for query parameters,
    deepObject for form bodies (where nested objects are the common case).
    """
    if type(value) in _SCALARS and style in _PAIR_STYLES:
        # One pair whatever the style and explode (the last line below), without the container checks.
        return [(encode_key(name), encode_value(to_text(value)))]
    if style is None:
        style = object_style if isinstance(value, Mapping) else "form"
    explode = default_explode(style) if explode is None else explode
    key = encode_key(name)
    if style == "deepObject":
        if not isinstance(value, Mapping):
            raise ValueShapeError("deepObject style needs an object")
        return _deep_pairs(key, value, encode_value)
    delimiters = {"form": ",", "spaceDelimited": "%20", "pipeDelimited": "|"}
    if style not in delimiters:
        raise ValueShapeError(f"style '{style}' is not valid here")
    if isinstance(value, Mapping):
        if explode:
            return [(encode_key(str(k)), encode_value(to_text(item))) for k, item in value.items()]
        return [(key, delimiters[style].join(_object_flat(value, encode_value)))]
    if _is_array(value):
        items = _array(value, encode_value)
        return [(key, item) for item in items] if explode else [(key, delimiters[style].join(items))]
    return [(key, encode_value(to_text(value)))]


def _deep_pairs(prefix: str, value: Mapping[str, Any], encode_value: Encoder) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for raw_key, item in value.items():
        key = f"{prefix}[{encode_key(str(raw_key))}]"
        if isinstance(item, Mapping):
            pairs.extend(_deep_pairs(key, item, encode_value))
        elif _is_array(item):
            pairs.extend((f"{key}[]", encode_value(to_text(element))) for element in item)
        else:
            pairs.append((key, encode_value(to_text(item))))
    return pairs


def expand_cookie(name: str, value: Any, explode: bool | None) -> list[tuple[str, str]]:
    """Cookie pairs in form style: `id=3,4,5`, or one pair per item/property when exploded."""
    return expand_pairs(name, value, "form", explode, encode_value=encode_cookie_value)


def join_pairs(pairs: Sequence[tuple[str, str]], separator: str = "&") -> str:
    return separator.join(f"{key}={value}" for key, value in pairs)
