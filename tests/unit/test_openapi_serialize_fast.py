"""The serializer's shortcuts for the usual values write exactly what the general way writes: plain text is its own
percent-encoding, booleans and ints are spelled as JSON spells them, and a scalar query value is one pair in every
style that allows one."""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_gateway.openapi.serialize import (
    ValueShapeError,
    encode_key,
    encode_query_value,
    encode_strict,
    expand_pairs,
    expand_path,
    to_text,
)

_RESERVED_KEPT = ":/?[]@!$'()*+,;="
_KEY_SAFE = "[]$:@!'()*,;/?"
texts = st.text() | st.text(alphabet="AZaz09_.~-%/ é&=#+")


@given(texts)
def test_encoding_text_is_quote(text: str) -> None:
    assert encode_strict(text) == quote(text, safe="")
    assert encode_query_value(text) == quote(text, safe="")
    assert encode_query_value(text, allow_reserved=True) == quote(text, safe=_RESERVED_KEPT)
    assert encode_key(text) == quote(text, safe=_KEY_SAFE)


@given(st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_scalars_are_spelled_as_json(value: Any) -> None:
    assert to_text(value) == json.dumps(value)


@pytest.mark.parametrize("style", [None, "form", "spaceDelimited", "pipeDelimited"])
@pytest.mark.parametrize("explode", [None, True, False])
@given(name=texts, value=st.none() | st.booleans() | st.integers() | st.floats() | texts)
def test_a_scalar_is_one_pair_in_every_pair_style(style: str | None, explode: bool | None, name: str,
                                                  value: Any) -> None:
    encode = partial(encode_query_value, allow_reserved=False)
    expected = [(encode_key(name), encode(to_text(value)))]
    assert expand_pairs(name, value, style, explode, encode_value=encode) == expected


def test_a_scalar_in_deep_object_style_is_still_refused() -> None:
    with pytest.raises(ValueShapeError):
        expand_pairs("filter", "x", "deepObject", True, encode_value=encode_query_value)


@pytest.mark.parametrize("explode", [None, True, False])
@given(value=st.none() | st.booleans() | st.integers() | st.floats() | texts)
def test_a_scalar_path_value_in_simple_style_is_its_strict_encoding(explode: bool | None, value: Any) -> None:
    assert expand_path("id", value, None, explode) == expand_path("id", value, "simple", explode)
    assert expand_path("id", value, "simple", explode) == quote(to_text(value), safe="")
