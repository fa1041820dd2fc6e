"""Request bodies: tool arguments encoded by the operation's media type.

| media type                                   | body                                                      |
|----------------------------------------------|-----------------------------------------------------------|
| `*/*`, anything with `json` in its subtype   | JSON text (null properties are kept: PATCH uses them)     |
| `application/x-www-form-urlencoded`          | form pairs; objects as deepObject keys, arrays exploded   |
| `multipart/form-data`                        | one part per property (see below)                         |
| `text/*`, `*xml`, `*yaml`                    | the string as UTF-8 (non-strings as JSON text)            |
| anything else (`application/octet-stream`…)  | a string's UTF-8 bytes, or a file object's content        |

A *file object* is how a tool call hands over a file:
`{"filename": "a.png", "contentBase64": "iVBO…", "contentType": "image/png"}`, or with `"content": "text"`
instead of `contentBase64` for text files. It is recognised when it has only those keys, exactly one of the
two content keys, and either a `filename`, a `contentBase64`, or a field whose encoding declares a binary type.

Multipart parts: strings, numbers and booleans are plain fields; a file object is a file part; a string for a
field whose encoding declares a binary content type is a file part of its UTF-8 bytes; an array of those is
one part per item (what form-handling frameworks read back as a list); objects, and arrays holding objects,
are JSON parts. An encoding that declares a JSON content type makes any value a JSON part.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mcp_gateway.openapi.arguments import ArgumentError, provided
from mcp_gateway.openapi.model import BodyBinding, FieldEncoding
from mcp_gateway.openapi.serialize import ValueShapeError, encode_strict, expand_pairs, join_pairs, to_text

__all__ = ["BodyKind", "EncodedBody", "FilePart", "body_kind", "encode_body"]

BodyKind = Literal["json", "form", "multipart", "text", "binary"]
FilePart = tuple[str | None, bytes | str, str | None]
"""(filename, or None for a plain field; content; content type, or None to leave it out) as httpx takes it."""

_FILE_KEYS = frozenset({"filename", "content", "contentBase64", "contentType"})
_NO_ENCODING = FieldEncoding()


@dataclass(frozen=True)
class EncodedBody:
    """A ready body. Multipart keeps its parts, because httpx writes them and picks the boundary."""

    content_type: str | None = None
    content: bytes = b""
    parts: tuple[tuple[str, FilePart], ...] = ()


def body_kind(media_type: str) -> BodyKind:
    base = media_type.split(";", 1)[0].strip().lower()
    main, _, subtype = base.partition("/")
    if base == "*/*" or "json" in subtype:
        return "json"
    if base == "application/x-www-form-urlencoded":
        return "form"
    if main == "multipart":
        return "multipart"
    if main == "text" or subtype.endswith(("xml", "yaml")):
        return "text"
    return "binary"


def encode_body(body: BodyBinding, arguments: Mapping[str, Any]) -> EncodedBody | None:
    """The request body for these arguments, or None when the body is optional and nothing was given."""
    value = _body_value(body, arguments)
    if value is None:
        return None
    kind = body_kind(body.media_type)
    if kind == "json":
        content_type = "application/json" if body.media_type.strip() == "*/*" else body.media_type
        return EncodedBody(content_type, _json_text(value).encode())
    if kind == "text":
        text = value if isinstance(value, str) else _json_text(value)
        return EncodedBody("text/plain" if "*" in body.media_type else body.media_type, text.encode())
    if kind == "binary":
        return _binary_body(body, value)
    fields = _fields(body, value)
    if kind == "form":
        pairs = [pair for name, item in fields for pair in _form_pairs(name, item, _encoding(body, name))]
        return EncodedBody(body.media_type, join_pairs(pairs).encode("ascii"))
    parts = tuple(part for name, item in fields for part in _multipart_parts(name, item, _encoding(body, name)))
    return EncodedBody(parts=parts) if parts else None


def _body_value(body: BodyBinding, arguments: Mapping[str, Any]) -> Any:
    if body.argument is not None:
        if provided(arguments, body.argument):
            return arguments[body.argument]
        if body.required:
            raise ArgumentError(f"missing required body argument '{body.argument}'")
        return None
    properties = {name: arguments[key] for key, name in body.properties if key in arguments}
    if not properties and not body.required:
        return None
    return properties


def _fields(body: BodyBinding, value: Any) -> list[tuple[str, Any]]:
    if not isinstance(value, Mapping):
        raise ArgumentError(f"body argument '{body.argument}' must be an object for {body.media_type}")
    # Forms have no spelling for null, so a null field is left out rather than sent as text.
    return [(str(name), item) for name, item in value.items() if item is not None]


def _encoding(body: BodyBinding, name: str) -> FieldEncoding:
    return body.encoding.get(name, _NO_ENCODING)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _form_pairs(name: str, value: Any, encoding: FieldEncoding) -> list[tuple[str, str]]:
    if encoding.content_type and body_kind(encoding.content_type) == "json":
        return [(encode_strict(name), encode_strict(_json_text(value)))]
    try:
        return expand_pairs(
            name, value, encoding.style, encoding.explode, encode_value=encode_strict, object_style="deepObject"
        )
    except ValueShapeError as error:
        raise ArgumentError(f"body field '{name}': {error}") from error


def _multipart_parts(name: str, value: Any, encoding: FieldEncoding) -> list[tuple[str, FilePart]]:
    declared = _first_media_type(encoding.content_type)
    declared_kind = body_kind(declared) if declared else None
    if declared_kind == "json":
        return [(name, (None, _json_text(value), declared))]
    binary = declared_kind == "binary"
    if _is_file_object(value, binary_hint=binary):
        return [(name, _file_part(name, value, declared))]
    if isinstance(value, str) and binary:
        return [(name, (name, value.encode(), declared))]
    if isinstance(value, str | bool | int | float):
        return [(name, (None, to_text(value), declared))]
    if isinstance(value, Sequence) and not isinstance(value, bytes) and all(_is_part_item(v, binary) for v in value):
        return [part for item in value for part in _multipart_parts(name, item, encoding)]
    return [(name, (None, _json_text(value), "application/json"))]


def _is_part_item(value: Any, binary: bool) -> bool:
    return isinstance(value, str | bool | int | float) or _is_file_object(value, binary_hint=binary)


def _first_media_type(content_type: str | None) -> str | None:
    """Encoding contentType may list alternatives (`image/png, image/jpeg`); a part is sent as the first."""
    if not content_type:
        return None
    first = content_type.split(",", 1)[0].strip()
    return first or None


def _is_file_object(value: Any, *, binary_hint: bool) -> bool:
    if not isinstance(value, Mapping) or not value or not set(value) <= _FILE_KEYS:
        return False
    if ("content" in value) == ("contentBase64" in value):
        return False
    return "filename" in value or "contentBase64" in value or binary_hint


def _file_part(name: str, value: Mapping[str, Any], declared: str | None) -> FilePart:
    filename = value.get("filename")
    content_type = value.get("contentType") or (declared if declared and "*" not in declared else None)
    # With no type given, httpx guesses one from the filename's extension.
    return (
        str(filename) if filename else name,
        _file_content(name, value),
        str(content_type) if content_type else None,
    )


def _file_content(name: str, value: Mapping[str, Any]) -> bytes:
    if "content" in value:
        content = value["content"]
        if not isinstance(content, str):
            raise ArgumentError(f"'{name}': file content must be a string")
        return content.encode()
    try:
        return base64.b64decode(str(value["contentBase64"]), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ArgumentError(f"'{name}': contentBase64 is not valid base64") from error


def _binary_body(body: BodyBinding, value: Any) -> EncodedBody:
    label = body.argument or "body"
    wildcard = "*" in body.media_type
    if isinstance(value, str):
        return EncodedBody("application/octet-stream" if wildcard else body.media_type, value.encode())
    if _is_file_object(value, binary_hint=True):
        declared = value.get("contentType")
        content_type = (str(declared) if declared else "application/octet-stream") if wildcard else body.media_type
        return EncodedBody(content_type, _file_content(label, value))
    raise ArgumentError(
        f"argument '{label}' for a {body.media_type} body must be a string or a file object "
        '({"contentBase64": ..., "contentType": ...})'
    )
