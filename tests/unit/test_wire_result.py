"""A relayed result kept as the upstream's wire dict (upstreams/wire_result.py) is written byte for byte as the
SDK's passes write it (server/tool_call_wire.py's `_shaped` over the SDK client's parse), for a table of real
results and for generated ones; whatever the walk cannot vouch for is left to those passes.

Both sides run the gateway's own code on the same upstream answer, parsed from JSON as the lean call parses it:
the full path is `parsed_result` (the era's surface check and the SDK's model, what the lean call did before the
walk existed) then `_shaped`; the kept path is `kept_wire` then `_shaped`. Bytes are compared, key order included.
"""

from __future__ import annotations

import json
import math
from typing import Any

import mcp_types as types
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mcp.server.lowlevel import Server
from mcp_types import _v2026_07_28 as surface
from pydantic import BaseModel

from mcp_gateway.server.tool_call_wire import _encoded_result, _shaped
from mcp_gateway.upstreams.wire_result import _BLOCKS, WIRE_VERSION, WireResult, kept_wire, parsed_result

SERVER: Server[Any] = Server("gateway")
INFO = {"io.modelcontextprotocol/serverInfo": {"name": "upstream", "version": "1.0"}}


def from_upstream(result: Any) -> Any:
    """`result` as the lean call receives it: the JSON-RPC answer's `result`, parsed from the upstream's bytes."""
    text = json.dumps({"jsonrpc": "2.0", "id": 1, "result": result})
    message = types.jsonrpc_message_adapter.validate_json(text, by_name=False)
    assert isinstance(message, types.JSONRPCResponse)
    return message.result


def full_path(raw: dict[str, Any]) -> bytes | None:
    """What the gateway writes for `raw` through the SDK's passes; None when they refuse it or it asks for input."""
    try:
        model: BaseModel = parsed_result(raw, WIRE_VERSION)
    except ValueError:  # pydantic's ValidationError
        return None
    if isinstance(model, types.InputRequiredResult):
        return None
    return _encoded_result(7, _shaped(SERVER, WIRE_VERSION, model))


def kept_path(raw: dict[str, Any]) -> bytes | None:
    kept = kept_wire(raw, WIRE_VERSION)
    return None if kept is None else _encoded_result(7, _shaped(SERVER, WIRE_VERSION, kept))


def text(value: str, **more: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **more}


ANNOTATIONS = {"audience": ["user", "assistant"], "priority": 0.5, "lastModified": "2026-01-12T15:00:58Z"}
KEPT = {
    "text": {"content": [text("héllo \u2603 \"quoted\"")], "isError": False, "resultType": "complete", "_meta": INFO},
    "text, no isError, no _meta": {"content": [text("x")], "resultType": "complete"},
    "empty content": {"content": [], "resultType": "complete"},
    "image": {"content": [{"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}],
              "resultType": "complete"},
    "audio": {"content": [{"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav", "annotations": ANNOTATIONS}],
              "resultType": "complete"},
    "resource link": {"content": [{"type": "resource_link", "uri": "file:///a.txt", "name": "a", "title": "A",
                                   "description": "the a", "mimeType": "text/plain", "size": 12,
                                   "_meta": {"com.example/k": [1, None]}}], "resultType": "complete"},
    "embedded text resource": {"content": [{"type": "resource", "resource": {"uri": "mem://1", "text": "t",
                                                                           "mimeType": "text/plain"}}],
                               "resultType": "complete"},
    "embedded blob resource": {"content": [{"type": "resource", "resource": {"uri": "mem://2", "blob": "AAE=",
                                                                           "_meta": {"k": 1}},
                                            "annotations": {"priority": 1.0}}], "resultType": "complete"},
    "structured content": {"content": [text('{"n": 1}')], "structuredContent": {"n": 1, "x": None, "f": 1.5,
                                                                               "deep": [{"a": [True, -0.0]}]},
                           "resultType": "complete"},
    "structured content, not an object": {"content": [], "structuredContent": [1, "two"], "resultType": "complete"},
    "isError": {"content": [text("upstream said 500")], "isError": True, "resultType": "complete"},
    "_meta of the result, server info not first": {"content": [text("x")], "resultType": "complete",
                                                   "_meta": {"com.example/trace": "t1", **INFO}},
    "keys in another order": {"resultType": "complete", "isError": False, "content": [{"text": "x", "type": "text"}],
                              "_meta": {"a": 1}},
    "several blocks": {"content": [text("a"), {"type": "image", "data": "AA==", "mimeType": "image/gif"},
                                   text("b", _meta={"k": "v"})], "resultType": "complete"},
}
REFUSED = {
    "an unknown field at the top": {"content": [text("x")], "resultType": "complete", "extra": 1},
    "an unknown field in a block": {"content": [text("x", extra=1)], "resultType": "complete"},
    "no resultType": {"content": [text("x")], "isError": False},
    "input required": {"resultType": "input_required", "inputRequests": {}},
    "another resultType": {"content": [], "resultType": "task"},
    "structuredContent null": {"content": [], "structuredContent": None, "resultType": "complete"},
    "NaN in structured content": {"content": [], "structuredContent": {"x": math.nan}, "resultType": "complete"},
    "infinity in _meta": {"content": [], "_meta": {"x": [math.inf]}, "resultType": "complete"},
    "null at the top of _meta": {"content": [], "_meta": {"x": None}, "resultType": "complete"},
    "an int priority": {"content": [text("x", annotations={"priority": 1})], "resultType": "complete"},
    "a float size": {"content": [{"type": "resource_link", "uri": "u", "name": "n", "size": 3.0}],
                     "resultType": "complete"},
    "icons": {"content": [{"type": "resource_link", "uri": "u", "name": "n", "icons": [{"src": "i.png"}]}],
              "resultType": "complete"},
    "a resource with text and blob": {"content": [{"type": "resource", "resource": {"uri": "u", "text": "t",
                                                                                  "blob": "AA=="}}],
                                      "resultType": "complete"},
    "an unknown block type": {"content": [{"type": "video", "url": "u"}], "resultType": "complete"},
    "a block without its text": {"content": [{"type": "text"}], "resultType": "complete"},
    "isError as a string": {"content": [], "isError": "true", "resultType": "complete"},
    "no content": {"resultType": "complete"},
}


@pytest.mark.parametrize("result", list(KEPT.values()), ids=list(KEPT))
def test_a_usual_result_is_kept_and_written_as_the_sdk_writes_it(result: dict[str, Any]) -> None:
    raw = from_upstream(result)
    kept = kept_path(raw)
    assert kept is not None
    assert kept == full_path(from_upstream(result))


@pytest.mark.parametrize("result", list(REFUSED.values()), ids=list(REFUSED))
def test_an_unusual_result_is_left_to_the_sdks_passes(result: dict[str, Any]) -> None:
    assert kept_wire(from_upstream(result), WIRE_VERSION) is None


def test_a_result_of_another_era_is_left_to_the_sdks_passes() -> None:
    assert kept_wire(from_upstream(KEPT["text"]), "2025-11-25") is None


def test_a_kept_result_written_for_a_client_of_another_era_is_shaped_by_the_sdk() -> None:
    kept = kept_wire(from_upstream(KEPT["structured content"]), WIRE_VERSION)
    assert kept is not None
    elsewhere = WireResult(kept.wire, "2099-01-01")
    assert _shaped(SERVER, WIRE_VERSION, elsewhere) == _shaped(SERVER, WIRE_VERSION, kept.model())


def test_the_walk_knows_the_fields_of_the_eras_result_in_the_sdks_order() -> None:
    # An SDK upgrade that adds, drops or reorders a field fails here before the walk writes a field the SDK would
    # drop, or in another order.
    def aliases(model: type[BaseModel]) -> list[str]:
        return [field.alias or name for name, field in model.model_fields.items()]

    assert aliases(surface.CallToolResult) == ["_meta", "content", "isError", "resultType", "structuredContent"]
    models = {"text": surface.TextContent, "image": surface.ImageContent, "audio": surface.AudioContent,
              "resource_link": surface.ResourceLink, "resource": surface.EmbeddedResource}
    assert set(_BLOCKS) == set(models)
    known = {"text": text("x", annotations={}, _meta={}), "image": {"type": "image", "data": "", "mimeType": "",
                                                                     "annotations": {}, "_meta": {}},
             "resource": {"type": "resource", "resource": {"uri": "u", "text": "t"}, "annotations": {}, "_meta": {}},
             "resource_link": {"type": "resource_link", "uri": "u", "name": "n", "title": "t", "description": "d",
                               "mimeType": "m", "size": 1, "annotations": {}, "_meta": {}}}
    known["audio"] = {**known["image"], "type": "audio"}
    for kind, model in models.items():
        written = list(_BLOCKS[kind](known[kind]))
        assert written == [alias for alias in aliases(model) if alias != "icons"]
    assert aliases(surface.Annotations) == ["audience", "lastModified", "priority"]
    assert aliases(surface.TextResourceContents) == ["_meta", "mimeType", "text", "uri"]
    assert aliases(surface.BlobResourceContents) == ["_meta", "blob", "mimeType", "uri"]
    assert aliases(surface.ResultMetaObject) == ["io.modelcontextprotocol/serverInfo"]
    assert aliases(surface.MetaObject) == []


# Generated results: every field of every object present with a good value, absent, or holding any JSON value;
# now and then a field no era declares; keys in any order.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def shaped_object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        built: dict[str, Any] = {}
        for key, good in fields.items():
            how = draw(st.sampled_from(["good"] * 36 + ["absent"] * 3 + ["any"]))
            if how == "good":
                built[key] = draw(good)
            elif how == "any":
                built[key] = draw(JSON)
        if draw(st.integers(0, 30)) == 0:
            built[draw(st.text(max_size=6))] = draw(JSON)
        order = draw(st.permutations(list(built)))
        return {key: built[key] for key in order}

    return build()


STRINGS = st.text(max_size=10)
META = st.dictionaries(st.text(max_size=12), JSON.filter(lambda value: value is not None), max_size=3) | st.just(INFO)
ANNOTATED = shaped_object({"audience": st.lists(st.sampled_from(["user", "assistant"]), max_size=2),
                           "priority": st.floats(0.0, 1.0), "lastModified": STRINGS})
COMMON = {"_meta": META, "annotations": ANNOTATED}
BLOCKS = st.one_of(
    shaped_object({"type": st.just("text"), "text": STRINGS, **COMMON}),
    shaped_object({"type": st.sampled_from(["image", "audio"]), "data": STRINGS, "mimeType": STRINGS, **COMMON}),
    shaped_object({"type": st.just("resource_link"), "uri": STRINGS, "name": STRINGS, "title": STRINGS,
                   "description": STRINGS, "mimeType": STRINGS, "size": st.integers(0, 2**40), **COMMON}),
    shaped_object({"type": st.just("resource"), **COMMON, "resource": st.sampled_from(["text", "blob"]).flatmap(
        lambda kind: shaped_object({"uri": STRINGS, "mimeType": STRINGS, "_meta": META, kind: STRINGS}))}),
)
RESULTS = shaped_object({"content": st.lists(BLOCKS, max_size=3), "structuredContent": JSON,
                         "isError": st.booleans(), "_meta": META, "resultType": st.just("complete")})


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RESULTS)
def test_a_generated_result_kept_is_written_as_the_sdk_writes_it(result: dict[str, Any]) -> None:
    raw = from_upstream(result)
    kept = kept_path(raw)
    event("kept" if kept is not None else "left to the SDK")
    if kept is not None:
        assert kept == full_path(from_upstream(result))
