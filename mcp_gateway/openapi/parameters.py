"""An operation's parameters: path-level and operation-level merged, references resolved.

Validation happens between `merged_parameters` (raw, resolved dicts) and `read_parameter` (typed), so
`read_parameter` may rely on `name` and `in` being well-formed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from mcp_gateway.openapi.model import Location
from mcp_gateway.openapi.refs import RefIndex

__all__ = [
    "InvalidOperation",
    "OperationParameter",
    "merged_parameters",
    "read_parameter",
    "undeclared_path_parameters",
]

# OpenAPI: header parameters with these names "SHALL be ignored"; the request itself sets them.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_TEMPLATE_VARIABLE = re.compile(r"\{([^{}]+)\}")
# RFC 9110 section 5.1: a header name is a token; no other name can be sent.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STRING_SCHEMA: Mapping[str, Any] = {"type": "string"}


class InvalidOperation(Exception):
    """The operation cannot become a tool; the message is the reason."""


@dataclass(frozen=True)
class OperationParameter:
    name: str
    location: Location
    required: bool
    schema: Any
    """The parameter's schema as written in the document (not yet converted)."""
    description: str | None = None
    deprecated: bool = False
    style: str | None = None
    explode: bool | None = None
    allow_reserved: bool = False
    content_type: str | None = None


def _content_type_of(parameter: Mapping[str, Any]) -> str | None:
    content = parameter.get("content")
    if "schema" in parameter or not isinstance(content, Mapping) or not content:
        return None
    return str(next(iter(content)))


def _resolved_list(raw: Any, refs: RefIndex, level: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidOperation(f"{level} parameters must be a list, not {type(raw).__name__}")
    return [refs.follow(item) for item in raw]


def _identity(parameter: Any, position: int) -> tuple[Any, ...]:
    if isinstance(parameter, Mapping):
        return (parameter.get("name"), parameter.get("in"))
    return ("#invalid", position)


def merged_parameters(path_level: Any, operation_level: Any, refs: RefIndex) -> list[Any]:
    """Path-level parameters overridden by operation-level ones with the same (name, in); refs followed."""
    merged: dict[tuple[Any, ...], Any] = {}
    for position, parameter in enumerate(_resolved_list(path_level, refs, "path-level")):
        merged[_identity(parameter, position)] = parameter
    offset = len(merged)
    for position, parameter in enumerate(_resolved_list(operation_level, refs, "operation")):
        merged[_identity(parameter, offset + position)] = parameter
    return list(merged.values())


def _schema_of(parameter: Mapping[str, Any]) -> Any:
    if "schema" in parameter:
        return parameter["schema"]
    content = parameter.get("content")
    if isinstance(content, Mapping):
        for media in content.values():
            if isinstance(media, Mapping) and "schema" in media:
                return media["schema"]
    # Without a schema the value still travels as text on the wire.
    return _STRING_SCHEMA


def read_parameter(parameter: Mapping[str, Any]) -> OperationParameter | None:
    """A validated parameter as typed data; None for header parameters OpenAPI says to ignore.

    Raises InvalidOperation for a header parameter whose name no HTTP request can carry.
    """
    name = str(parameter["name"])
    location = cast(Location, parameter["in"])
    if location == "header" and name.lower() in _IGNORED_HEADERS:
        return None
    if location == "header" and not _HEADER_NAME.fullmatch(name):
        raise InvalidOperation(f"header parameter {name!r} is not a valid HTTP header name (RFC 9110 token)")
    style = parameter.get("style")
    explode = parameter.get("explode")
    description = parameter.get("description")
    return OperationParameter(
        name=name,
        location=location,
        # Path parameters are always required, whatever the document says.
        required=location == "path" or parameter.get("required") is True,
        schema=_schema_of(parameter),
        description=description if isinstance(description, str) and description else None,
        deprecated=parameter.get("deprecated") is True,
        style=style if isinstance(style, str) else None,
        explode=explode if isinstance(explode, bool) else None,
        allow_reserved=parameter.get("allowReserved") is True,
        content_type=_content_type_of(parameter),
    )


def undeclared_path_parameters(path: str, declared: list[OperationParameter]) -> list[OperationParameter]:
    """Template variables with no declared parameter become required string path parameters.

    Specs forget to declare them; the call cannot be made without a value, so asking for one is the
    lenient reading.
    """
    known = {parameter.name for parameter in declared if parameter.location == "path"}
    missing = [name for name in dict.fromkeys(_TEMPLATE_VARIABLE.findall(path)) if name not in known]
    return [OperationParameter(name=name, location="path", required=True, schema=_STRING_SCHEMA) for name in missing]
