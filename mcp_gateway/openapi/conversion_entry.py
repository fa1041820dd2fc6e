"""A converted spec as bytes (the conversion cache's entry) and back, decoding only the tools a server holds.

An entry is a header line (format, key, digest of the rest), an index line, then records: one JSON document per
tool, per shared `$defs` entry and per distinct `$defs` object, which the index finds by byte range. Decoding
for a filter that holds 14 of GitHub's 1,223 tools parses the index and those 14 tools' records only: parsing the
whole conversion to keep a few of its objects would leave them scattered over memory the process cannot give
back (~10 MB for GitHub's).

The entry keeps the sharing the converter builds: each `$defs` entry is stored once and each distinct `$defs`
object once, and decoding restores one shared object for each, so a decoded spec takes no more memory than a
converted one (tool input schemas are read-only, as schemas.py says).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from mcp_gateway.openapi.model import (
    BodyBinding,
    FieldEncoding,
    HttpBinding,
    Location,
    OpenAPITools,
    ParameterBinding,
    SkippedOperation,
    ToolKeep,
    ToolSpec,
)

__all__ = ["EntryError", "decode_entry", "encode_entry"]

_T = TypeVar("_T")

_FORMAT = 2
_DEFS = "$defs"
_LOCATIONS: frozenset[str] = frozenset({"path", "query", "header", "cookie"})


class EntryError(Exception):
    """An entry that cannot be trusted: damaged, of another format, or for another key."""


def encode_entry(tools: OpenAPITools, key: str) -> bytes | None:
    """The entry of a whole conversion, valid for `key`; None when the tools do not have the shape this format
    keeps, or withhold some (an entry must be able to give every tool)."""
    if tools.withheld:
        return None
    records = _Records()
    schema_spans: dict[str, list[int]] = {}
    schemas: dict[str, Any] = {}
    defset_spans: list[list[int]] = []
    defset_index: dict[int, int] = {}
    tool_spans: list[list[Any]] = []
    try:
        for tool in tools.tools:
            input_schema = dict(tool.input_schema)
            definitions = input_schema.pop(_DEFS, None)
            defs_at: int | None = None
            if definitions is not None:
                if not isinstance(definitions, dict):
                    return None
                defs_at = defset_index.get(id(definitions))
                if defs_at is None:
                    for name, schema in definitions.items():
                        known = schemas.setdefault(name, schema)
                        if known is not schema and known != schema:
                            return None  # one key, two meanings: this format could not restore both
                        if name not in schema_spans:
                            schema_spans[name] = records.add(schema)
                    defs_at = defset_index[id(definitions)] = len(defset_spans)
                    defset_spans.append(records.add(list(definitions)))
            tool_spans.append([tool.name, *records.add({
                "source_name": tool.source_name,
                "operation_id": tool.operation_id,
                "description": tool.description,
                "input_schema": input_schema,
                "defs": defs_at,
                "binding": _encode_binding(tool.binding),
            })])
        index = _dumps({
            "title": tools.title,
            "servers": list(tools.servers),
            "skipped": [[skip.method, skip.path, skip.operation_id, skip.reason] for skip in tools.skipped],
            "schemas": [[name, *span] for name, span in schema_spans.items()],
            "defsets": defset_spans,
            "tools": tool_spans,
        })
    except (TypeError, ValueError):
        return None  # a value JSON cannot carry exactly (a YAML-born non-finite number, say): convert each time
    body = index + b"\n" + b"".join(records.parts)
    header = json.dumps({"format": _FORMAT, "key": key, "digest": hashlib.sha256(body).hexdigest()}).encode()
    return header + b"\n" + body


def decode_entry(entry: bytes, key: str | None, keep: ToolKeep | None = None) -> OpenAPITools:
    """The tools of an entry, holding those `keep` admits (all for None); `key`: the one the entry must have
    (None: any). Raises EntryError."""
    header_end = entry.find(b"\n")
    if header_end < 0:
        raise EntryError("no header")
    try:
        header = json.loads(entry[:header_end])
    except ValueError as error:
        raise EntryError("unreadable header") from error
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise EntryError("another format")
    if key is not None and header.get("key") != key:
        raise EntryError("another spec or converter version")
    if header.get("digest") != hashlib.sha256(memoryview(entry)[header_end + 1:]).hexdigest():
        raise EntryError("the payload does not match its digest")
    index_end = entry.find(b"\n", header_end + 1)
    if index_end < 0:
        raise EntryError("no index")
    try:
        return _Decoder(entry, index_end + 1).tools(json.loads(entry[header_end + 1:index_end]), keep)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as error:
        raise EntryError(f"malformed payload ({type(error).__name__})") from error


# --- encoding -------------------------------------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8", "surrogatepass"
    )


class _Records:
    """The records region as it is built: each record's [start, end) byte range within it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self._size = 0

    def add(self, value: Any) -> list[int]:
        encoded = _dumps(value)
        self.parts.append(encoded)
        start = self._size
        self._size += len(encoded)
        return [start, self._size]


def _encode_binding(binding: HttpBinding) -> dict[str, Any]:
    body = binding.body
    return {
        "method": binding.method,
        "path": binding.path,
        "servers": list(binding.servers),
        "parameters": [
            [p.argument, p.name, p.location, p.required, p.style, p.explode, p.allow_reserved, p.content_type]
            for p in binding.parameters
        ],
        "body": None if body is None else {
            "media_type": body.media_type,
            "required": body.required,
            "argument": body.argument,
            "properties": [list(pair) for pair in body.properties],
            "encoding": {
                name: [field.content_type, field.style, field.explode] for name, field in body.encoding.items()
            },
        },
    }


# --- decoding -------------------------------------------------------------------------------------------------


class _Decoder:
    """Records of one entry, each parsed when first needed and shared from then on."""

    def __init__(self, entry: bytes, records_at: int) -> None:
        self._entry = entry
        self._records_at = records_at
        self._schema_spans: dict[str, Any] = {}
        self._schemas: dict[str, Any] = {}
        self._defset_spans: list[Any] = []
        self._defsets: dict[int, dict[str, Any]] = {}

    def tools(self, index: dict[str, Any], keep: ToolKeep | None) -> OpenAPITools:
        self._schema_spans = {_typed(name, str): (start, end) for name, start, end in _typed(index["schemas"], list)}
        self._defset_spans = _typed(index["defsets"], list)
        tools = []
        withheld = []
        for name, start, end in _typed(index["tools"], list):
            name = _typed(name, str)
            if keep is not None and not keep(name):
                withheld.append(name)
                continue
            tools.append(self._tool(name, _typed(self._record(start, end), dict)))
        return OpenAPITools(
            title=_typed(index["title"], str),
            servers=tuple(_typed(url, str) for url in _typed(index["servers"], list)),
            tools=tuple(tools),
            skipped=tuple(
                SkippedOperation(_typed(method, str), _typed(path, str), _optional(operation_id, str),
                                 _typed(reason, str))
                for method, path, operation_id, reason in _typed(index["skipped"], list)
            ),
            withheld=tuple(withheld),
        )

    def _record(self, start: Any, end: Any) -> Any:
        start, end = _typed(start, int), _typed(end, int)
        if not 0 <= start <= end <= len(self._entry) - self._records_at:
            raise IndexError("a record outside the entry")
        return json.loads(self._entry[self._records_at + start:self._records_at + end])

    def _tool(self, name: str, item: dict[str, Any]) -> ToolSpec:
        input_schema = dict(_typed(item["input_schema"], dict))
        defs_at = _optional(item["defs"], int)
        if defs_at is not None:
            input_schema[_DEFS] = self._defset(defs_at)
        return ToolSpec(
            name=name,
            source_name=_typed(item["source_name"], str),
            description=_typed(item["description"], str),
            input_schema=input_schema,
            binding=_decode_binding(_typed(item["binding"], dict)),
            operation_id=_optional(item["operation_id"], str),
        )

    def _defset(self, index: int) -> dict[str, Any]:
        found = self._defsets.get(index)
        if found is None:
            if index < 0:
                raise IndexError("a negative $defs index")
            start, end = _typed(self._defset_spans[index], list)
            # Sorted keys, as the converter builds them.
            found = self._defsets[index] = {
                name: self._schema(_typed(name, str)) for name in _typed(self._record(start, end), list)
            }
        return found

    def _schema(self, name: str) -> Any:
        if name not in self._schemas:
            self._schemas[name] = self._record(*self._schema_spans[name])
        return self._schemas[name]


def _decode_binding(raw: dict[str, Any]) -> HttpBinding:
    parameters = []
    for argument, name, location, required, style, explode, allow_reserved, content_type in _typed(
        raw["parameters"], list
    ):
        parameters.append(ParameterBinding(
            argument=_typed(argument, str),
            name=_typed(name, str),
            location=_location(location),
            required=_typed(required, bool),
            style=_optional(style, str),
            explode=_optional(explode, bool),
            allow_reserved=_typed(allow_reserved, bool),
            content_type=_optional(content_type, str),
        ))
    body = _optional(raw["body"], dict)
    return HttpBinding(
        method=_typed(raw["method"], str),
        path=_typed(raw["path"], str),
        parameters=tuple(parameters),
        body=None if body is None else BodyBinding(
            media_type=_typed(body["media_type"], str),
            required=_typed(body["required"], bool),
            argument=_optional(body["argument"], str),
            properties=tuple((_typed(key, str), _typed(name, str)) for key, name in _typed(body["properties"], list)),
            encoding={
                _typed(name, str): FieldEncoding(_optional(content_type, str), _optional(style, str),
                                                 _optional(explode, bool))
                for name, (content_type, style, explode) in _typed(body["encoding"], dict).items()
            },
        ),
        servers=tuple(_typed(url, str) for url in _typed(raw["servers"], list)),
    )


def _typed(value: Any, kind: type[_T]) -> _T:
    # bool is an int to isinstance; an index or count that reads `true` is corruption, not 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _optional(value: Any, kind: type[_T]) -> _T | None:
    return None if value is None else _typed(value, kind)


def _location(value: Any) -> Location:
    if value not in _LOCATIONS:
        raise ValueError(f"not a parameter location: {value!r}")
    location: Location = value
    return location
