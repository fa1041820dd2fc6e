"""Tool arguments checked against inputSchema: what is reported, what is let through, and schemas that cannot be
enforced."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mcp_gateway.argument_validation import MAX_REPORTED_ERRORS, ArgumentValidators, describe_problems

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
