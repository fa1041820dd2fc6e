"""What registering a spec would produce, as JSON-ready data (REST) and as a table (CLI).

Both read the `OpenAPITools` that `build_tools` returns, the same value registration uses, so preview
and registration cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_gateway.openapi.model import BodyBinding, OpenAPITools, ToolSpec

__all__ = ["format_preview", "preview", "schema_type"]

_DEFS_PREFIX = "#/$defs/"


def schema_type(schema: Any) -> str:
    """A short human-readable type: `string`, `integer[]`, `string|null`, `Pet` for a reference."""
    if not isinstance(schema, Mapping):
        return "any"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref[len(_DEFS_PREFIX) :] if ref.startswith(_DEFS_PREFIX) else ref
    declared = schema.get("type")
    if isinstance(declared, list):
        return "|".join(str(item) for item in declared)
    if declared == "array":
        return f"{schema_type(schema.get('items'))}[]"
    if isinstance(declared, str):
        return declared
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return "|".join(schema_type(option) for option in options)
    if "allOf" in schema:
        return "allOf"
    return "object" if "properties" in schema else "any"


def _argument_type(tool: ToolSpec, argument: str) -> str:
    properties = tool.input_schema.get("properties", {})
    return schema_type(properties.get(argument))


def _required_arguments(tool: ToolSpec) -> frozenset[str]:
    return frozenset(tool.input_schema.get("required", ()))


def _body(tool: ToolSpec, body: BodyBinding) -> dict[str, Any]:
    required = _required_arguments(tool)
    pairs = [(body.argument, None)] if body.argument is not None else list(body.properties)
    return {
        "mediaType": body.media_type,
        "required": body.required,
        "arguments": [
            {"argument": key, "name": name, "required": key in required, "type": _argument_type(tool, key)}
            for key, name in pairs
        ],
    }


def _tool(tool: ToolSpec) -> dict[str, Any]:
    binding = tool.binding
    return {
        "name": tool.name,
        "method": binding.method,
        "path": binding.path,
        "operationId": tool.operation_id,
        "description": tool.description,
        "parameters": [
            {
                "argument": parameter.argument,
                "name": parameter.name,
                "in": parameter.location,
                "required": parameter.required,
                "type": _argument_type(tool, parameter.argument),
            }
            for parameter in binding.parameters
        ],
        "body": _body(tool, binding.body) if binding.body is not None else None,
    }


def preview(tools: OpenAPITools) -> dict[str, Any]:
    return {
        "title": tools.title,
        "servers": list(tools.servers),
        "operations": tools.operation_count,
        "tools": [_tool(tool) for tool in tools.tools],
        "skipped": [
            {
                "method": skipped.method,
                "path": skipped.path,
                "operationId": skipped.operation_id,
                "reason": skipped.reason,
            }
            for skipped in tools.skipped
        ],
    }


def _argument_summary(tool: ToolSpec) -> str:
    required = _required_arguments(tool)
    keys = [parameter.argument for parameter in tool.binding.parameters]
    body = tool.binding.body
    if body is not None:
        keys.extend([body.argument] if body.argument is not None else [key for key, _ in body.properties])
    return ", ".join(f"{key}*" if key in required else key for key in keys) or "-"


def format_preview(tools: OpenAPITools) -> str:
    """A plain-text table: name, METHOD, path, arguments (`*` marks required), then skipped operations."""
    rows = [(tool.name, tool.binding.method, tool.binding.path, _argument_summary(tool)) for tool in tools.tools]
    header = ("NAME", "METHOD", "PATH", "ARGUMENTS (* required)")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(3)]
    lines = [
        f"{tools.title or 'Untitled API'}: {len(tools.tools)} tools from {tools.operation_count} operations",
        f"servers: {', '.join(tools.servers) or '(none; relative to the spec location)'}",
        "",
    ]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    if tools.skipped:
        lines.extend(["", f"skipped {len(tools.skipped)} operations:"])
        lines.extend(f"  {skipped.reason}" for skipped in tools.skipped)
    return "\n".join(lines)
