"""`tools/list` pages of one endpoint, prepared once per registry change instead of rebuilt on every request.

Each tool's wire form (the JSON object a client receives) is made once, when the endpoint is first listed after
a change; the pages an unrestricted caller gets are then kept whole. The input schema in a wire form is the
registry's own object, not a copy: tools that share `$defs` (schemas.py) keep sharing them, so a registry of
11,000 tools whose schemas total 88 MB on the wire costs memory in proportion to the spec, not to the listing.
Wire forms are shared between requests and must be treated as read-only.

A page ends after `TOOLS_PER_PAGE` tools or once it holds about `PAGE_BYTES` of JSON, whichever comes first,
and always holds at least one tool (so one tool bigger than that is a page of its own, never left out). Cursors
are offsets into the list the caller sees, as before: a caller whose key hides some tools pages through its own
list, built per request from the same wire forms.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_gateway.registry import RegisteredTool

__all__ = ["ENCODED_ANSWER_BYTES", "LISTINGS_ENCODED", "PAGE_BYTES", "TOOLS_PER_PAGE", "ToolPage", "ToolPages"]

TOOLS_PER_PAGE = 500
PAGE_BYTES = 1000 * 1024
"""At most this many bytes of tool JSON per page (as measured here, which matches the SDK's encoding byte for
byte on the GitHub spec): each request costs the same fixed overhead in the SDK, so few large pages list faster
than many small ones; but the official SDK client refuses a server-sent event over 1 MiB, so a page leaves
24 KiB for the JSON-RPC envelope and the event's framing."""

ENCODED_ANSWER_BYTES = 64 * 1024 * 1024
"""At least this many bytes of encoded answers per endpoint, and room for two complete listings when they are
bigger (`LISTINGS_ENCODED`). Unlike the answers themselves (which share the registry's schemas), bytes cost their
full size: a full listing of the GitHub spec is 1.7 MB per protocol version, Microsoft Graph's 88 MB. Pages past
the budget are encoded at each request instead (5-10 ms of CPU per 1 MB page, measured): with a fixed 64 MB, a
third of every Graph listing was encoded again at each request."""
LISTINGS_ENCODED = 2.2
"""Complete listings an endpoint keeps as bytes, at most: one per wire era (each encodes differently), with some
room for JSON escapes and envelopes. Memory in proportion to the registry, bounded."""

_DEFS = "$defs"


@dataclass(frozen=True)
class ToolPage:
    tools: list[dict[str, Any]]
    """Wire forms, read-only (they share schema objects with the registry)."""
    next_offset: int | None
    """Where the next page starts, or None on the last page."""


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8", "replace"))


class ToolPages:
    """The wire forms and pages of one endpoint's tools, in registry order."""

    def __init__(self, tools: Sequence[RegisteredTool], *, prefixed: bool) -> None:
        self._tools = list(tools)
        defs_sizes: dict[int, int] = {}
        self._wire: list[dict[str, Any]] = []
        self._sizes: list[int] = []
        for registered in self._tools:
            wire, size = _wire_form(registered, prefixed, defs_sizes)
            self._wire.append(wire)
            self._sizes.append(size)
        self._pages: dict[int, ToolPage] = {}
        self.answers: dict[Hashable, dict[str, Any]] = {}
        """Whole `tools/list` answers in wire form, by whatever decides them (server/tool_list_answers.py);
        dropped with the pages."""
        self.encoded_answers: dict[Hashable, bytes] = {}
        """The same answers as JSON bytes, made when first sent that way (server/tool_list_wire.py), while they
        fit the budget (`keep_encoded`)."""
        self._encoded_bytes = 0
        self._encoded_budget = max(ENCODED_ANSWER_BYTES, int(LISTINGS_ENCODED * sum(self._sizes)))

    def keep_encoded(self, key: Hashable, encoded: bytes) -> None:
        """Keep an answer's bytes, unless that would pass the budget: then it is encoded again when asked for."""
        if key in self.encoded_answers or self._encoded_bytes + len(encoded) > self._encoded_budget:
            return
        self.encoded_answers[key] = encoded
        self._encoded_bytes += len(encoded)

    def __len__(self) -> int:
        return len(self._tools)

    def page(self, offset: int, admits: Callable[[RegisteredTool], bool] | None = None) -> ToolPage:
        """The page starting at `offset` of the tools `admits` lets through (all when None)."""
        if admits is None:
            known = self._pages.get(offset)
            if known is None:
                known = self._pages[offset] = _paginate(range(len(self._tools)), offset, self._wire, self._sizes)
            return known
        seen = [index for index, tool in enumerate(self._tools) if admits(tool)]
        return _paginate(seen, offset, self._wire, self._sizes)


def _paginate(indices: Sequence[int], offset: int, wire: list[dict[str, Any]], sizes: list[int]) -> ToolPage:
    tools: list[dict[str, Any]] = []
    size = 0
    position = offset
    while position < len(indices) and len(tools) < TOOLS_PER_PAGE:
        tool_size = sizes[indices[position]]
        if tools and size + tool_size > PAGE_BYTES:
            break
        tools.append(wire[indices[position]])
        size += tool_size
        position += 1
    return ToolPage(tools, position if position < len(indices) else None)


def _wire_form(registered: RegisteredTool, prefixed: bool, defs_sizes: dict[int, int]) -> tuple[dict[str, Any], int]:
    """A tool as `tools/list` sends it, and about how many bytes of JSON that is."""
    definition = registered.definition
    wire: dict[str, Any] = definition.model_dump(by_alias=True, mode="json", exclude_none=True,
                                                 exclude={"input_schema"})
    wire["name"] = registered.gateway_name if prefixed else registered.server_name
    schema = definition.input_schema
    wire["inputSchema"] = schema
    definitions = schema.get(_DEFS)
    size = _json_size(wire) if definitions is None else _json_size({**wire, "inputSchema": {
        key: value for key, value in schema.items() if key != _DEFS}})
    if definitions is not None:
        # Shared `$defs` objects are measured once, not once per tool that carries them.
        defs_size = defs_sizes.get(id(definitions))
        if defs_size is None:
            defs_size = defs_sizes[id(definitions)] = _json_size(definitions)
        size += defs_size + len(_DEFS) + 4
    return wire, size
