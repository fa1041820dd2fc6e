"""Tool arguments checked against inputSchema: what is reported, what is let through, and schemas that cannot be
enforced."""

from __future__ import annotations

import logging
from typing import Any

import jsonschema
import jsonschema.validators
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from mcp_gateway.argument_validation import MAX_REPORTED_ERRORS, ArgumentValidators, describe_problems, precheck_for

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1},
        "color": {"enum": ["red", "green"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "owner": {"$ref": "#/$defs/Owner"},
    },
    "required": ["name"],
    "$defs": {"Owner": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
}


def problems(arguments: dict[str, Any], schema: dict[str, Any] = SCHEMA) -> list[str]:
    return ArgumentValidators().problems("tool", schema, arguments)


def test_fitting_arguments_have_no_problems() -> None:
    assert problems({"name": "a", "limit": 3, "color": "red", "tags": ["x"], "owner": {"id": 1}}) == []


def test_each_bad_argument_is_named_with_its_path() -> None:
    found = problems({"name": 5, "limit": 0, "color": "blue", "tags": ["x", 2], "owner": {}})
    assert found == [
        "'color': 'blue' is not one of ['red', 'green']",
        "'limit': 0 is less than the minimum of 1",
        "'name': 5 is not of type 'string'",
        "'owner': 'id' is a required property",
        "'tags[1]': 2 is not of type 'string'",
    ]


def test_null_means_left_out_so_a_required_null_is_missing() -> None:
    assert problems({"name": "a", "limit": None}) == []
    assert problems({"name": None}) == ["'name' is a required property"]


def test_long_values_are_cut_in_the_message_and_the_count_is_bounded() -> None:
    [message] = problems({"name": "x" * 10_000, "limit": "y" * 10_000})
    assert len(message) < 300
    many = {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(30)}}
    found = problems({f"p{i}": "no" for i in range(30)}, many)
    assert len(found) == MAX_REPORTED_ERRORS
    ending = "(and possibly more). Nothing was sent; fix the arguments and call again."
    assert describe_problems("tool", found).endswith(ending)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "no-such-type"}}},
        {"type": "object", "properties": {"a": {"$ref": "https://example.com/elsewhere.json"}}},
    ],
    ids=["unknown-type", "remote-ref"],
)
def test_a_schema_that_cannot_be_enforced_lets_calls_through_and_is_logged_once(
    schema: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    validators = ArgumentValidators()
    with caplog.at_level(logging.WARNING):
        assert validators.problems("odd", schema, {"a": 1}) == []
        assert validators.problems("odd", schema, {"a": 2}) == []
    assert [record.getMessage() for record in caplog.records] == [
        "tool 'odd': its inputSchema cannot be enforced; arguments are passed unchecked"
    ]


def test_validators_are_compiled_once_per_tool_until_cleared() -> None:
    validators = ArgumentValidators()
    assert validators.problems("t", SCHEMA, {"name": 1}) != []
    # Same name, different schema: the cached validator stands until the registry is rebuilt and clears it.
    assert validators.problems("t", {"type": "object"}, {"name": 1}) != []
    validators.clear()
    assert validators.problems("t", {"type": "object"}, {"name": 1}) == []


# The precheck: a shortcut that may only ever accept what jsonschema accepts.

_PROPERTY_SCHEMAS = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])},
        optional={"description": st.text(max_size=5), "format": st.sampled_from(["date", "email", "int32"]),
                  "default": st.integers(), "minimum": st.integers(-3, 3), "maxLength": st.integers(0, 3)},
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer"]),
         "enum": st.lists(st.one_of(st.sampled_from(["a", "b", "1"]), st.integers(0, 2), st.booleans()), max_size=3)},
    ),
)
_NAMES = st.sampled_from(["a", "b", "c", "d"])
_SCHEMAS = st.fixed_dictionaries(
    {"type": st.just("object"), "properties": st.dictionaries(_NAMES, _PROPERTY_SCHEMAS, max_size=4)},
    optional={"required": st.lists(_NAMES, max_size=3, unique=True), "additionalProperties": st.booleans(),
              "$schema": st.sampled_from(["https://json-schema.org/draft/2020-12/schema",
                                          "http://json-schema.org/draft-07/schema#",
                                          "http://json-schema.org/draft-04/schema#"])},
)
_VALUES = st.one_of(
    st.text(max_size=3), st.sampled_from(["a", "b", "1"]), st.integers(-5, 5), st.booleans(),
    st.floats(allow_nan=True), st.just(1.0), st.lists(st.integers(), max_size=2),
    st.dictionaries(_NAMES, st.integers()),
)


@given(schema=_SCHEMAS, arguments=st.dictionaries(_NAMES, _VALUES, max_size=4))
@settings(max_examples=400, deadline=None)
def test_the_precheck_never_accepts_what_jsonschema_rejects(schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    precheck = precheck_for(schema)
    accepted = precheck is not None and precheck(arguments)
    event(f"precheck {'accepted' if accepted else 'declined' if precheck is not None else 'not built'}")
    if accepted:
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        assert list(validator_class(schema).iter_errors(arguments)) == []


def test_the_precheck_serves_flat_schemas_and_leaves_the_rest_to_jsonschema() -> None:
    flat = {
        "type": "object",
        "properties": {"item_id": {"type": "string", "description": "id"}, "limit": {"type": "integer"},
                       "state": {"type": "string", "enum": ["open", "closed"]}},
        "required": ["item_id"],
    }
    precheck = precheck_for(flat)
    assert precheck is not None
    assert precheck({"item_id": "1", "limit": 5, "state": "open", "extra": [1]})
    assert not precheck({"limit": 5})  # required missing
    assert not precheck({"item_id": "1", "limit": True})  # a bool is no integer
    assert not precheck({"item_id": "1", "state": "merged"})
    assert precheck_for(SCHEMA) is None  # arrays, references, bounds: jsonschema's to judge
    # What the precheck declines still gets jsonschema's answer.
    assert ArgumentValidators().problems("tool", flat, {"item_id": "1", "limit": 1.0}) == []
    assert ArgumentValidators().problems("tool", flat, {"item_id": "1", "limit": "x"}) == [
        "'limit': 'x' is not of type 'integer'"
    ]
