"""tools/list pages prepared once per registry change: boundaries, cursors, visibility, sharing, invalidation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest

from mcp_gateway import tool_pages
from mcp_gateway.openapi.loader import read_spec_file
from mcp_gateway.openapi.tools import build_tools
from mcp_gateway.registry import RegisteredTool, Registry, RegistryServer, ToolFilter
from mcp_gateway.tool_pages import TOOLS_PER_PAGE, ToolPage, ToolPages
from tests.unit.test_registry import InMemoryUpstream

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _registered(count: int, schema: dict[str, Any] | None = None) -> list[RegisteredTool]:
    tools = []
    for index in range(count):
        definition = types.Tool(name=f"t{index}", description=f"tool {index}",
                                input_schema=schema if schema is not None else {"type": "object"})
        tools.append(RegisteredTool("s", f"t{index}", f"t{index}", f"s-t{index}", definition))
    return tools


def _all_pages(pages: ToolPages, admits: Any = None) -> list[ToolPage]:
    listed = [pages.page(0, admits)]
    while listed[-1].next_offset is not None:
        next_offset = listed[-1].next_offset
        assert next_offset is not None
        listed.append(pages.page(next_offset, admits))
        assert len(listed) < 1000
    return listed


def test_every_tool_once_in_order_and_pages_end_at_the_tool_limit() -> None:
    pages = ToolPages(_registered(TOOLS_PER_PAGE * 2 + 7), prefixed=True)
    listed = _all_pages(pages)
    assert [len(page.tools) for page in listed] == [TOOLS_PER_PAGE, TOOLS_PER_PAGE, 7]
    names = [tool["name"] for page in listed for tool in page.tools]
    assert names == [f"s-t{i}" for i in range(2 * TOOLS_PER_PAGE + 7)]


def test_pages_end_near_the_byte_limit_and_always_hold_one_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    big = {"type": "object", "description": "x" * 1000}
    monkeypatch.setattr(tool_pages, "PAGE_BYTES", 3500)
    listed = _all_pages(ToolPages(_registered(10, big), prefixed=False))
    assert [len(page.tools) for page in listed] == [3, 3, 3, 1]
    for page in listed:
        assert len(json.dumps(page.tools, separators=(",", ":"))) <= 3500

    monkeypatch.setattr(tool_pages, "PAGE_BYTES", 10)
    assert [len(page.tools) for page in _all_pages(ToolPages(_registered(3, big), prefixed=False))] == [1, 1, 1]


def test_wire_form_is_the_sdk_dump_with_the_endpoint_name() -> None:
    definition = types.Tool(name="orig", title="T", description="d", input_schema={"type": "object"},
                            annotations=types.ToolAnnotations(read_only_hint=True))
    registered = RegisteredTool("s", "orig", "orig_local", "s-orig_local", definition)
    (prefixed,) = ToolPages([registered], prefixed=True).page(0).tools
    (own,) = ToolPages([registered], prefixed=False).page(0).tools
    expected = definition.model_dump(by_alias=True, mode="json", exclude_none=True)
    assert prefixed == {**expected, "name": "s-orig_local"}
    assert own == {**expected, "name": "orig_local"}


def test_a_restricted_caller_pages_through_its_own_list() -> None:
    pages = ToolPages(_registered(TOOLS_PER_PAGE + 50), prefixed=True)

    def odd(tool: RegisteredTool) -> bool:
        return int(tool.server_name[1:]) % 2 == 1

    listed = _all_pages(pages, odd)
    assert [tool["name"] for page in listed for tool in page.tools] == [
        f"s-t{i}" for i in range(TOOLS_PER_PAGE + 50) if i % 2 == 1
    ]
    assert len(listed) == 1


def test_unrestricted_pages_are_made_once() -> None:
    pages = ToolPages(_registered(TOOLS_PER_PAGE + 1), prefixed=True)
    assert pages.page(0) is pages.page(0)
    assert pages.page(0, lambda tool: True) is not pages.page(0)


def test_schemas_are_shared_with_the_registry_not_copied() -> None:
    converted = build_tools(read_spec_file(SPECS / "github-api.json"))
    registered = [
        RegisteredTool("gh", tool.name, tool.name, f"gh-{tool.name}",
                       types.Tool(name=tool.name, description=tool.description, input_schema=tool.input_schema))
        for tool in converted.tools
    ]
    listed = [tool for page in _all_pages(ToolPages(registered, prefixed=True)) for tool in page.tools]
    assert len(listed) == 1223
    for wire, tool in zip(listed, registered, strict=True):
        assert wire["inputSchema"] is tool.definition.input_schema
    # Fewer, bigger pages than the 13 of 100 tools before, each under the 1 MiB the SDK client accepts as one event.
    pages = _all_pages(ToolPages(registered, prefixed=True))
    assert len(pages) <= 3
    for page in pages:
        assert len(json.dumps({"tools": page.tools}, separators=(",", ":")).encode()) < 1024 * 1024


@pytest.mark.anyio
async def test_the_registry_prepares_pages_again_after_every_change() -> None:
    upstream = InMemoryUpstream("a", ["one", "two"])
    registry = Registry([RegistryServer(upstream, "test", ToolFilter())])
    await registry.start()
    before = registry.tool_pages()
    assert registry.tool_pages() is before
    assert [tool["name"] for tool in before.page(0).tools] == ["a-one", "a-two"]

    upstream._tool_names = ["one", "two", "three"]
    registry.rebuild()

    after = registry.tool_pages()
    assert after is not before
    assert [tool["name"] for tool in after.page(0).tools] == ["a-one", "a-two", "a-three"]
    assert [tool["name"] for tool in registry.tool_pages("a").page(0).tools] == ["one", "two", "three"]


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for key, value in node.items() if key != "$ref" for ref in _references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def test_every_reference_of_every_listed_tool_resolves_within_that_tool() -> None:
    converted = build_tools(read_spec_file(SPECS / "github-api.json"))
    registered = [
        RegisteredTool("gh", tool.name, tool.name, f"gh-{tool.name}",
                       types.Tool(name=tool.name, description=tool.description, input_schema=tool.input_schema))
        for tool in converted.tools
    ]
    # As a client receives them: each page through JSON, so nothing is shared between tools any more.
    listed = [tool for page in _all_pages(ToolPages(registered, prefixed=True))
              for tool in json.loads(json.dumps({"tools": page.tools}))["tools"]]
    checked = 0
    for tool in listed:
        definitions = tool["inputSchema"].get("$defs", {})
        for ref in _references(tool["inputSchema"]):
            assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in definitions, (tool["name"], ref)
            checked += 1
    assert checked > 100


def test_encoded_answers_are_kept_only_within_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tool_pages, "ENCODED_ANSWER_BYTES", 10)
    monkeypatch.setattr(tool_pages, "LISTINGS_ENCODED", 0)
    pages = ToolPages(_registered(1), prefixed=False)
    pages.keep_encoded("first", b"123456")
    pages.keep_encoded("too much", b"12345")
    pages.keep_encoded("fits", b"1234")
    pages.keep_encoded("first", b"123456")  # kept once, counted once
    assert pages.encoded_answers == {"first": b"123456", "fits": b"1234"}


def test_a_registry_whose_listing_passes_the_minimum_budget_keeps_two_complete_listings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tool_pages, "ENCODED_ANSWER_BYTES", 10)
    pages = ToolPages(_registered(50), prefixed=False)
    listing = json.dumps({"tools": [tool for page in _all_pages(pages) for tool in page.tools]},
                         separators=(",", ":")).encode()
    assert len(listing) > 10
    pages.keep_encoded("one era", listing)
    pages.keep_encoded("the other era", listing)
    pages.keep_encoded("a third", listing)
    assert set(pages.encoded_answers) == {"one era", "the other era"}
