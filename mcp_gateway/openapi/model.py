"""What one OpenAPI operation becomes: a tool definition plus the HTTP binding that calls it.

These are the seam between spec -> tools (pure) and tools -> HTTP requests (I/O). Nothing here refers to
a particular spec library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Location = Literal["path", "query", "header", "cookie"]
HTTP_METHODS: tuple[str, ...] = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
"""The fixed method order used everywhere operations are enumerated."""

ToolKeep = Callable[[str], bool]
"""Which converted tools, by allocated name, a server holds (its tool filter); the others are named only."""


@dataclass(frozen=True)
class ParameterBinding:
    """One path/query/header/cookie parameter: which tool argument feeds it and how it is serialized."""

    argument: str
    """Key of this parameter in the tool's input schema (may differ from `name` on clashes or odd names)."""
    name: str
    """The parameter's name on the wire."""
    location: Location
    required: bool = False
    style: str | None = None
    """OpenAPI style; None means the default for the location (simple for path/header, form otherwise)."""
    explode: bool | None = None
    """None means the default for the style (true for form, false otherwise)."""
    allow_reserved: bool = False
    content_type: str | None = None
    """Set when the parameter is described by `content` instead of `schema`: the value is serialized as this
    media type (e.g. JSON text for application/json) and sent as one string, not by style/explode."""


@dataclass(frozen=True)
class FieldEncoding:
    """Per-property encoding of a form or multipart body (OpenAPI Encoding Object)."""

    content_type: str | None = None
    style: str | None = None
    explode: bool | None = None


@dataclass(frozen=True)
class BodyBinding:
    """How the request body is assembled from tool arguments.

    Either the body's top-level object properties are flattened into tool arguments (`properties`, pairs of
    argument key and body property name), or the whole body is one argument (`argument`).
    """

    media_type: str
    required: bool = False
    argument: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    encoding: Mapping[str, FieldEncoding] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpBinding:
    method: str
    """Upper-case HTTP method."""
    path: str
    """Path template as written in the spec, e.g. ``/repos/{owner}/{repo}``."""
    parameters: tuple[ParameterBinding, ...] = ()
    body: BodyBinding | None = None
    servers: tuple[str, ...] = ()
    """Operation- or path-level server URLs, which take precedence over the document's servers."""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    """Allocated MCP tool name, unique within its spec (mcp_gateway.names.MCP rule)."""
    source_name: str
    """operationId, or ``{method}_{path}`` when the operation has none; what `name` was allocated from."""
    description: str
    input_schema: dict[str, Any]
    binding: HttpBinding
    operation_id: str | None = None


@dataclass(frozen=True)
class SkippedOperation:
    """An operation that could not become a tool, and why. The rest of the spec still loads."""

    method: str
    path: str
    operation_id: str | None
    reason: str


@dataclass(frozen=True)
class OpenAPITools:
    title: str
    servers: tuple[str, ...]
    """Document-level server URLs with variables filled in from their defaults."""
    tools: tuple[ToolSpec, ...]
    skipped: tuple[SkippedOperation, ...] = ()
    withheld: tuple[str, ...] = ()
    """Names of tools that were converted but are not held (`keeping`): counted and known by name only, so a
    server that holds a few tools of a large spec neither keeps the rest in memory nor names them differently."""

    @property
    def operation_count(self) -> int:
        return len(self.tools) + len(self.withheld) + len(self.skipped)

    @property
    def converted_count(self) -> int:
        """Operations that became tools, held or not."""
        return len(self.tools) + len(self.withheld)

    def keeping(self, keep: ToolKeep | None) -> OpenAPITools:
        """These tools with only those `keep` admits held (all of them for None); the rest become `withheld`."""
        if keep is None:
            return self
        kept = [keep(tool.name) for tool in self.tools]
        if all(kept):
            return self
        held = tuple(tool for tool, is_kept in zip(self.tools, kept, strict=True) if is_kept)
        dropped = tuple(tool.name for tool, is_kept in zip(self.tools, kept, strict=True) if not is_kept)
        return replace(self, tools=held, withheld=self.withheld + dropped)
