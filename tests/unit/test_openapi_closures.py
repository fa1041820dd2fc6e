"""Reference closures: complete, shared by every node of a cycle, and safe on deep graphs."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from mcp_gateway.openapi.closures import close_over


def graph(edges: Mapping[str, list[str]]) -> dict[str, frozenset[str]]:
    return {node: frozenset(targets) for node, targets in edges.items()}


def test_a_closure_includes_the_root_and_everything_it_reaches() -> None:
    edges = graph({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": [], "e": []})

    assert close_over("a", edges.__getitem__, {}) == {"a", "b", "c", "d"}


def test_every_node_of_a_cycle_shares_one_closure_object() -> None:
    edges = graph({"a": ["b"], "b": ["c"], "c": ["a", "leaf"], "leaf": [], "self": ["self"]})
    closed: dict[str, frozenset[str]] = {}

    close_over("a", edges.__getitem__, closed)

    assert closed["a"] is closed["b"] is closed["c"]
    assert closed["a"] == {"a", "b", "c", "leaf"}
    assert closed["leaf"] == {"leaf"}
    assert close_over("self", edges.__getitem__, closed) == {"self"}


def test_known_closures_are_reused_without_walking_again() -> None:
    walked: list[str] = []
    edges = graph({"a": ["b"], "b": []})

    def recording(node: str) -> frozenset[str]:
        walked.append(node)
        return edges[node]

    closed: dict[str, frozenset[str]] = {}
    close_over("a", recording, closed)
    walked.clear()

    assert close_over("b", recording, closed) == {"b"}
    assert walked == []


def test_deep_reference_chains_do_not_overflow_the_stack() -> None:
    depth = 2_500  # well past Python's default recursion limit of 1,000
    edges = {f"n{index}": frozenset({f"n{index + 1}"}) for index in range(depth)} | {f"n{depth}": frozenset()}

    assert len(close_over("n0", edges.__getitem__, {})) == depth + 1


def test_an_error_while_walking_propagates_and_leaves_only_complete_closures() -> None:
    edges = graph({"a": ["b", "broken"], "b": []})

    def lookup(node: str) -> frozenset[str]:
        if node == "broken":
            raise LookupError(node)
        return edges[node]

    closed: dict[str, frozenset[str]] = {}
    with pytest.raises(LookupError):
        close_over("a", lookup, closed)

    # Depending on which edge is walked first, "b" may have been completed; "a" never was.
    assert closed in ({}, {"b": frozenset({"b"})})
