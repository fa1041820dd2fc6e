"""The naming rules every caller relies on: valid, unique, deterministic, valid names first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mcp_gateway import names
from mcp_gateway.names import ANTHROPIC, COHERE, GEMINI, MCP, OPENAI, NameMap, allocate_names, sanitize

ALL_RULES = [names.MCP, names.OPENAI, names.ANTHROPIC, names.GEMINI, names.BEDROCK, names.MISTRAL, names.COHERE]


def test_valid_names_are_kept_and_case_is_preserved() -> None:
    assert allocate_names(["getUser", "List-Repos_2"], MCP) == {"getUser": "getUser", "List-Repos_2": "List-Repos_2"}


def test_invalid_characters_become_underscores() -> None:
    assert sanitize("repos/get-content", MCP) == "repos_get-content"
    assert sanitize("Find pets (by tag).", MCP) == "Find_pets__by_tag__"


def test_already_valid_name_keeps_priority_over_a_sanitized_one_in_either_order() -> None:
    assert allocate_names(["foo/bar", "foo_bar"], OPENAI) == {"foo/bar": "foo_bar_2", "foo_bar": "foo_bar"}
    assert allocate_names(["foo_bar", "foo/bar"], OPENAI) == {"foo_bar": "foo_bar", "foo/bar": "foo_bar_2"}


def test_duplicates_are_mapped_once() -> None:
    assert allocate_names(["a b", "a b", "a_b"], MCP) == {"a b": "a_b_2", "a_b": "a_b"}


def test_collisions_count_up_in_input_order() -> None:
    assert allocate_names(["x.y", "x y", "x/y"], OPENAI) == {"x.y": "x_y", "x y": "x_y_2", "x/y": "x_y_3"}


def test_long_names_are_cut_with_a_stable_hash_so_shared_prefixes_stay_apart() -> None:
    first, second = "a" * 70 + "one", "a" * 70 + "two"
    out = allocate_names([first, second], OPENAI)
    assert len(out[first]) == 64 and len(out[second]) == 64
    assert out[first] != out[second]
    assert out == allocate_names([first, second], OPENAI)


def test_suffix_stays_within_the_cap() -> None:
    long_valid = "b" * 64
    out = allocate_names([long_valid, long_valid[:63] + "!"], OPENAI)
    assert out[long_valid] == long_valid
    assert all(len(v) <= 64 for v in out.values())


def test_gemini_and_cohere_first_character_rules() -> None:
    assert sanitize("1password", GEMINI) == "_1password"
    assert GEMINI.is_valid("ns.tool:v1")
    assert sanitize("my-tool", COHERE) == "my_tool"
    assert sanitize("", ANTHROPIC) == "_"


def test_reserved_names_are_avoided() -> None:
    assert allocate_names(["a"], MCP, reserved=["a"]) == {"a": "a_2"}


def test_name_map_round_trip_and_rewritten_entries() -> None:
    name_map = NameMap.build(["repos/get", "ok_name"], OPENAI)
    assert name_map.to_target("repos/get") == "repos_get"
    assert name_map.to_original("repos_get") == "repos/get"
    assert name_map.rewritten == {"repos_get": "repos/get"}


@given(st.lists(st.text(max_size=150), max_size=30), st.sampled_from(ALL_RULES))
def test_allocation_properties(originals: list[str], rule: names.NameRule) -> None:
    out = allocate_names(originals, rule)
    assert set(out) == set(originals)
    assert all(rule.is_valid(name) for name in out.values())
    assert len(set(out.values())) == len(out)
    assert out == allocate_names(originals, rule)
    for original, name in out.items():
        if rule.is_valid(original):
            assert name == original
    reverse = NameMap.build(originals, rule).reverse
    assert all(reverse[out[o]] == o for o in out)


def test_allocate_each_gives_repeats_their_own_names() -> None:
    assert names.allocate_each(["a-b", "x", "a-b", "a-b_2", "a-b"], MCP) == ["a-b", "x", "a-b_3", "a-b_2", "a-b_4"]


@given(st.lists(st.sampled_from(["a", "a b", "a_b", "b/c", "x" * 130]), max_size=12), st.sampled_from(ALL_RULES))
def test_allocate_each_is_unique_per_position(originals: list[str], rule: names.NameRule) -> None:
    out = names.allocate_each(originals, rule)
    assert len(out) == len(originals) == len(set(out))
    assert all(rule.is_valid(name) for name in out)
