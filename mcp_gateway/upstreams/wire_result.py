"""A modern-era upstream's tool result kept as its own wire dict, for a relay that writes it back out unchanged.

Why: a relayed result used to pass pydantic four times on its way through the gateway (the upstream era's surface
check, the SDK's `CallToolResult` parse, its dump, and the client era's surface check and dump when it is
written), ~8% of the gateway's CPU per relayed call at c=32 (py-spy, benchmarks/peers.py --profile). Each pass
only normalises: a result already in the form the SDK would write comes out of all four as it went in.

So `kept_wire` makes one plain walk over the upstream's result and keeps it when it is in that form: exactly the
keys and value types the protocol's `CallToolResult` declares for its era (text, image, audio, resource link and
embedded resource blocks, annotations, `_meta`, structured content), each dict rebuilt in the order the SDK's
dump writes its fields, so the bytes written are the SDK's. Anything the passes would change or refuse falls back
to them (tests/unit/test_wire_result.py compares the two for a table of results and generated ones):
- a key the era does not declare (the SDK drops it), a `null` where the SDK would drop the key, a missing
  required field or a value of another type (the SDK refuses or converts it: `1` for a float becomes `1.0`);
- `NaN` or an infinity anywhere (the SDK writes `null`);
- icons on a resource link, a block type this walk does not know, `resultType` other than `"complete"` (an
  input request is the SDK client's), a missing `resultType` (the era requires it: the SDK refuses the result).
The one default the parse adds, `isError: false`, is added here too.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import mcp_types as types
from mcp_types import SERVER_INFO_META_KEY
from mcp_types import methods as sdk_methods
from pydantic import TypeAdapter

__all__ = ["CALL_RESULT", "WIRE_VERSION", "WireResult", "kept_wire", "parsed_result"]

WIRE_VERSION = "2026-07-28"
"""The one protocol revision whose `CallToolResult` this walk knows; results of any other stay the SDK's."""

CALL_RESULT: TypeAdapter[types.CallToolResult | types.InputRequiredResult] = TypeAdapter(
    types.CallToolResult | types.InputRequiredResult
)


def parsed_result(raw: dict[str, Any], version: str) -> types.CallToolResult | types.InputRequiredResult:
    """The SDK client's reading of a `tools/call` result: its era's surface check, then the SDK's model."""
    # A version without a tools/call row (KeyError) is not checked here, as the SDK client does not check it.
    with contextlib.suppress(KeyError):
        sdk_methods.validate_server_result("tools/call", version, raw)
    return CALL_RESULT.validate_python(raw, by_name=False)


@dataclass(frozen=True, slots=True)
class WireResult:
    """An upstream's `tools/call` result in the form the SDK writes it for `protocol_version` (see `kept_wire`)."""

    wire: dict[str, Any]
    protocol_version: str

    @property
    def is_error(self) -> bool:
        return bool(self.wire["isError"])

    def model(self) -> types.CallToolResult:
        """The SDK's model of the same result, for a writer that needs one (a client of another era)."""
        return types.CallToolResult.model_validate(self.wire, by_name=False)

    def for_output_check(self) -> types.CallToolResult:
        """What the SDK client's output-schema check (`ClientSession.validate_tool_result`) reads of a result: its
        structured content, and whether the result set it. Not a model: even `model_construct` cost more than the
        walk (py-spy, c=32); tests/e2e/test_lean_calls.py runs the check on kept results, met and broken."""
        return cast(types.CallToolResult, _OutputCheck(self.wire))


class _OutputCheck:
    __slots__ = ("model_fields_set", "structured_content")

    def __init__(self, wire: dict[str, Any]) -> None:
        self.structured_content = wire.get("structuredContent")
        self.model_fields_set = {"structured_content"} if "structuredContent" in wire else set()


class _Refused(Exception):
    """The result is not in the form the SDK writes: the SDK's passes take it."""


def kept_wire(raw: dict[str, Any], version: str) -> WireResult | None:
    """`raw` (an upstream's `tools/call` result in protocol `version`) as the SDK would write it, or None when
    the SDK's passes could change or refuse it."""
    if version != WIRE_VERSION or raw.get("resultType") != "complete" or not raw.keys() <= _RESULT_KEYS:
        return None
    try:
        wire: dict[str, Any] = {}
        if "_meta" in raw:
            wire["_meta"] = _result_meta(raw["_meta"])
        wire["content"] = [_block(block) for block in _list(raw.get("content", _MISSING))]
        wire["isError"] = _bool(raw.get("isError", False))
        wire["resultType"] = "complete"
        if "structuredContent" in raw:
            structured = raw["structuredContent"]
            if structured is None:
                raise _Refused
            wire["structuredContent"] = _json(structured)
    except (_Refused, RecursionError):
        return None
    return WireResult(wire, version)


_MISSING = object()
_RESULT_KEYS = frozenset({"_meta", "content", "isError", "resultType", "structuredContent"})


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Refused
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Refused
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _Refused
    return value


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Refused
    return value


def _json(value: Any) -> Any:
    """Any JSON value, kept as it is, unless it holds a float JSON cannot write (NaN, an infinity)."""
    kind = type(value)
    if kind is dict:
        for item in value.values():
            _json(item)
    elif kind is list:
        for item in value:
            _json(item)
    elif kind is float:
        if not math.isfinite(value):
            raise _Refused
    elif value is not None and kind not in (str, int, bool):
        raise _Refused
    return value


def _meta(value: Any) -> dict[str, Any]:
    """A `_meta` object: any keys, no `null` at its top (the SDK drops those), JSON values."""
    if type(value) is not dict:
        raise _Refused
    for item in value.values():
        if item is None:
            raise _Refused
        _json(item)
    return value


def _result_meta(value: Any) -> dict[str, Any]:
    """A result's `_meta`: its one declared key, the server's info, is written first."""
    meta = _meta(value)
    if SERVER_INFO_META_KEY in meta and next(iter(meta)) != SERVER_INFO_META_KEY:
        meta = {SERVER_INFO_META_KEY: meta[SERVER_INFO_META_KEY], **meta}
    return meta


def _priority(value: Any) -> float:
    if type(value) is not float or not 0.0 <= value <= 1.0:
        raise _Refused
    return value


def _audience(value: Any) -> list[str]:
    roles = _list(value)
    for role in roles:
        if role not in ("user", "assistant") or type(role) is not str:
            raise _Refused
    return roles


Field = Callable[[Any], Any]
"""A field's check: its value as written, or `_Refused`."""


def _object(fields: dict[str, Field], required: frozenset[str]) -> Callable[[Any], dict[str, Any]]:
    """The check of an object with these fields (in the SDK's dump order), rebuilt in that order."""

    def check(value: Any) -> dict[str, Any]:
        if type(value) is not dict or not value.keys() <= fields.keys() or not required <= value.keys():
            raise _Refused
        return {key: field(value[key]) for key, field in fields.items() if key in value}

    return check


_annotations = _object({"audience": _audience, "lastModified": _str, "priority": _priority}, frozenset())
_text_contents = _object({"_meta": _meta, "mimeType": _str, "text": _str, "uri": _str}, frozenset({"text", "uri"}))
_blob_contents = _object({"_meta": _meta, "blob": _str, "mimeType": _str, "uri": _str}, frozenset({"blob", "uri"}))


def _resource(value: Any) -> dict[str, Any]:
    # A union the SDK resolves by which of `text` and `blob` is there; with both, it is its call.
    if type(value) is not dict or ("text" in value) == ("blob" in value):
        raise _Refused
    return _text_contents(value) if "text" in value else _blob_contents(value)


_MEDIA: dict[str, Field] = {"_meta": _meta, "annotations": _annotations, "data": _str, "mimeType": _str, "type": _str}
_BLOCKS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "text": _object({"_meta": _meta, "annotations": _annotations, "text": _str, "type": _str},
                    frozenset({"text", "type"})),
    "image": _object(_MEDIA, frozenset({"data", "mimeType", "type"})),
    "audio": _object(_MEDIA, frozenset({"data", "mimeType", "type"})),
    "resource_link": _object(
        {"_meta": _meta, "annotations": _annotations, "description": _str, "mimeType": _str, "name": _str,
         "size": _int, "title": _str, "type": _str, "uri": _str},
        frozenset({"name", "type", "uri"}),
    ),
    "resource": _object({"_meta": _meta, "annotations": _annotations, "resource": _resource, "type": _str},
                        frozenset({"resource", "type"})),
}
"""Each content block the walk knows, by its `type`, with its fields in the SDK's dump order (the era's surface
model: tests/unit/test_wire_result.py checks them against it)."""


def _block(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Refused
    kind = value.get("type")
    check = _BLOCKS.get(kind) if type(kind) is str else None
    if check is None:
        raise _Refused
    return check(value)
