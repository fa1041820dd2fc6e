"""An OpenAPI document -> MCP tool definitions with HTTP bindings. Pure: no I/O, the input is never changed.

One tool per operation, paths in document order and methods in `HTTP_METHODS` order. An operation that
cannot become a tool is reported as skipped, with its reason, and the rest of the document still loads.
Webhooks (3.1) are requests the API makes, not calls a client can make, so they are neither tools nor
skipped. Swagger 2.0 documents are upgraded to OpenAPI 3.0 first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_gateway import names
from mcp_gateway.openapi.loader import SpecLoadError
from mcp_gateway.openapi.model import HTTP_METHODS, OpenAPITools, SkippedOperation, ToolSpec
from mcp_gateway.openapi.operations import OperationBuilder, PreparedTool, operation_id_of
from mcp_gateway.openapi.parameters import InvalidOperation
from mcp_gateway.openapi.refs import RefIndex, UnresolvableRef
from mcp_gateway.openapi.schemas import SchemaConverter
from mcp_gateway.openapi.servers import server_urls
from mcp_gateway.openapi.swagger2 import is_swagger2, upgrade_swagger2
from mcp_gateway.openapi.validation import PartValidator

__all__ = ["WHOLE_PATH_ITEM", "build_tools"]

WHOLE_PATH_ITEM = "*"
"""`SkippedOperation.method` when a whole path item is unusable and its operations cannot be listed."""
_DOCUMENT = "<spec>"
"""The source named in SpecLoadError: conversion sees a parsed document, not where it came from."""


def _skip_reason(method: str, path: str, operation_id: str | None, cause: Exception) -> str:
    named = f" (operationId {operation_id!r})" if operation_id else ""
    return f"{method} {path}{named}: {_describe(cause)}"


def _describe(cause: Exception) -> str:
    if isinstance(cause, InvalidOperation | UnresolvableRef):
        return str(cause)
    if isinstance(cause, RecursionError):
        return "RecursionError: nested or self-referencing too deeply to convert"
    # An error no check anticipated: its type tells a maintainer where to look; its text may quote
    # arbitrary spec content, so it is left out.
    return f"cannot convert ({type(cause).__name__})"


def _collect(
    document: Mapping[str, Any], refs: RefIndex, builder: OperationBuilder
) -> tuple[list[PreparedTool], list[SkippedOperation]]:
    prepared: list[PreparedTool] = []
    skipped: list[SkippedOperation] = []
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        return prepared, skipped
    for raw_path, raw_item in paths.items():
        path = str(raw_path)
        try:
            path_item = refs.follow(raw_item)
            if not isinstance(path_item, Mapping):
                raise InvalidOperation("path item is not an object")
        except Exception as error:  # as broad as the per-operation catch below, for the same reason
            reason = _skip_reason(WHOLE_PATH_ITEM, path, None, error)
            skipped.append(SkippedOperation(WHOLE_PATH_ITEM, path, None, reason))
            continue
        for method in HTTP_METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            operation_id = operation_id_of(operation)
            try:
                if not isinstance(operation, Mapping):
                    raise InvalidOperation("operation is not an object")
                prepared.append(builder.build(path, method, path_item, operation))
            # Deliberately broad: specs are untrusted and loaded leniently, so whatever one operation
            # trips over (including RecursionError from a pathological schema) skips that operation
            # only, with its reason, instead of failing every other tool of the document.
            except Exception as error:
                reason = _skip_reason(method.upper(), path, operation_id, error)
                skipped.append(SkippedOperation(method.upper(), path, operation_id, reason))
    return prepared, skipped


def build_tools(document: Mapping[str, Any]) -> OpenAPITools:
    """Raises SpecLoadError when the document as a whole cannot be converted; bad operations are skipped."""
    if "openapi" not in document and "swagger" not in document:
        # Anything JSON-shaped would otherwise "convert" into zero tools and look like an empty API.
        raise SpecLoadError(_DOCUMENT, "not an OpenAPI document: it has neither an 'openapi' nor a 'swagger' field")
    _check_shape(document)
    try:
        return _build_tools(document)
    # Deliberately broad, like the per-operation catch in `_collect`: what remains here is shared by every
    # operation (the Swagger 2.0 upgrade, component names, document servers), so an unexpected error in
    # an untrusted document becomes a load error naming its type, never a crash of the caller.
    except RecursionError as error:
        raise SpecLoadError(_DOCUMENT, "nested or self-referencing too deeply to convert (RecursionError)") from error
    except Exception as error:
        raise SpecLoadError(_DOCUMENT, f"cannot convert the document ({type(error).__name__})") from error


def _check_shape(document: Mapping[str, Any]) -> None:
    """Refuse what would otherwise load as zero tools without a word: a version we do not read, or `paths`
    that is not an object."""
    if "openapi" in document:
        version = str(document["openapi"])
        if not version.startswith("3."):
            raise SpecLoadError(_DOCUMENT, f"unsupported version openapi: {version[:40]!r} (3.x or Swagger 2.0)")
    elif not is_swagger2(document):
        version = str(document["swagger"])
        raise SpecLoadError(_DOCUMENT, f"unsupported version swagger: {version[:40]!r} (2.0 or OpenAPI 3.x)")
    paths = document.get("paths")
    if paths is not None and not isinstance(paths, Mapping):
        raise SpecLoadError(_DOCUMENT, f"'paths' must be an object, not {type(paths).__name__}")


def _build_tools(document: Mapping[str, Any]) -> OpenAPITools:
    spec = upgrade_swagger2(document) if is_swagger2(document) else document
    refs = RefIndex(spec)
    builder = OperationBuilder(refs, SchemaConverter(refs, spec), PartValidator(str(spec.get("openapi", ""))))
    prepared, skipped = _collect(spec, refs, builder)
    # Per operation, not per string: a spec that repeats an operationId still has two operations.
    tool_names = names.allocate_each([tool.source_name for tool in prepared], names.MCP)
    info = spec.get("info")
    title = info.get("title") if isinstance(info, Mapping) else None
    return OpenAPITools(
        title=str(title) if title is not None else "",
        servers=server_urls(spec.get("servers")),
        tools=tuple(
            ToolSpec(
                name=name,
                source_name=tool.source_name,
                description=tool.description,
                input_schema=tool.input_schema,
                binding=tool.binding,
                operation_id=tool.operation_id,
            )
            for name, tool in zip(tool_names, prepared, strict=True)
        ),
        skipped=tuple(skipped),
    )
