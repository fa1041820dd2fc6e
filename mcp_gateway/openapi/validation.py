"""Lenient validation of the parts of an operation a tool is made of, with openapi-pydantic.

Only what a call needs is validated (parameters, request body, servers): a malformed response or
example never makes an operation uncallable. Each part is checked against the models of the document's
OpenAPI version first; a 3.0 document that borrows 3.1 syntax (`type: 'null'`, type arrays, numeric
`exclusiveMinimum`) is then checked against the 3.1 models, which also accept the 3.0 spellings, so a
part is only rejected when even the most lenient reading fails.

OpenAPI 3.1 allows a boolean wherever a schema goes (`true` accepts any value, `false` none), which the
openapi-pydantic models do not; a part that fails is validated again with each boolean schema spelt as
its object equivalent. What `false` means for the operation is decided where the tool is built (operations.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openapi_pydantic.v3 import v3_0, v3_1
from pydantic import BaseModel, ValidationError

from mcp_gateway.schema_keywords import LIST_SUBSCHEMA_KEYWORDS, MAP_SUBSCHEMA_KEYWORDS, SINGLE_SUBSCHEMA_KEYWORDS

__all__ = ["PartValidator"]

# Union members show up in pydantic error locations as class names; they are noise in a reason.
_UNION_TAGS = frozenset({"Reference", "Schema", "Parameter", "RequestBody", "MediaType", "Server", "Example"})


def _describe(error: ValidationError) -> str:
    details = error.errors()
    # A failed `X | Reference` union reports the Reference branch too ("$ref: Field required"); the
    # other branch says what is actually wrong.
    meaningful = [detail for detail in details if "Reference" not in detail["loc"]] or details
    first = meaningful[0]
    location = ".".join(str(part) for part in first["loc"] if part not in _UNION_TAGS)
    return f"{location}: {first['msg']}" if location else str(first["msg"])


def _object_schema(schema: Any) -> Any:
    """`schema` with every boolean (sub)schema spelt as an object; unchanged parts are the originals."""
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    if not isinstance(schema, Mapping):
        return schema
    replaced: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword in SINGLE_SUBSCHEMA_KEYWORDS or keyword in LIST_SUBSCHEMA_KEYWORDS:
            new_value = _each(value, _object_schema) if isinstance(value, list) else _object_schema(value)
        elif keyword in MAP_SUBSCHEMA_KEYWORDS and isinstance(value, Mapping):
            new_value = _each_value(value, _object_schema)
        else:
            continue
        if new_value is not value:
            replaced[keyword] = new_value
    return {**schema, **replaced} if replaced else schema


def _each(items: list[Any], change: Callable[[Any], Any]) -> list[Any]:
    changed = [change(item) for item in items]
    return items if all(new is old for new, old in zip(changed, items, strict=True)) else changed


def _each_value(mapping: Mapping[str, Any], change: Callable[[Any], Any]) -> Mapping[str, Any]:
    changed = {key: change(value) for key, value in mapping.items()}
    return mapping if all(changed[key] is value for key, value in mapping.items()) else changed


def _with_object_schemas(part: Any) -> Any:
    """A parameter or request body with its schemas (`schema`, `content.*.schema`) made object schemas."""
    if not isinstance(part, Mapping):
        return part
    replaced: dict[str, Any] = {}
    if "schema" in part:
        schema = _object_schema(part["schema"])
        if schema is not part["schema"]:
            replaced["schema"] = schema
    content = part.get("content")
    if isinstance(content, Mapping):
        media_types = _each_value(content, _with_object_schemas)
        if media_types is not content:
            replaced["content"] = media_types
    return {**part, **replaced} if replaced else part


class PartValidator:
    """Validates operation parts for one document version; returns a reason string or None."""

    def __init__(self, openapi_version: str) -> None:
        self._is_31 = openapi_version.startswith("3.1")
        self._checked: dict[int, tuple[Any, str | None]] = {}
        """Verdicts on parts met before (a parameter every operation of a path shares, or one reached through
        `$ref` by hundreds), by identity; the part is kept with its verdict so its id cannot be reused."""

    def parameter_error(self, parameter: Any) -> str | None:
        return self._remembered(parameter, (v3_0.Parameter, v3_1.Parameter))

    def request_body_error(self, request_body: Any) -> str | None:
        return self._remembered(request_body, (v3_0.RequestBody, v3_1.RequestBody))

    def _remembered(self, part: Any, models: tuple[type[BaseModel], type[BaseModel]]) -> str | None:
        known = self._checked.get(id(part))
        if known is not None and known[0] is part:
            return known[1]
        error = self._schema_tolerant_error(models, part)
        self._checked[id(part)] = (part, error)
        return error

    def server_error(self, server: Any) -> str | None:
        return self._first_error((v3_0.Server, v3_1.Server), server)

    def _schema_tolerant_error(self, models: tuple[type[BaseModel], type[BaseModel]], part: Any) -> str | None:
        error = self._first_error(models, part)
        if error is None:
            return None
        # Only a part that failed is searched for boolean schemas: nearly every part passes at once.
        with_object_schemas = _with_object_schemas(part)
        return error if with_object_schemas is part else self._first_error(models, with_object_schemas)

    def _first_error(self, models: tuple[type[BaseModel], type[BaseModel]], value: Any) -> str | None:
        legacy, current = models
        candidates: Sequence[type[BaseModel]] = (current,) if self._is_31 else (legacy, current)
        reason: str | None = None
        for model in candidates:
            try:
                model.model_validate(value)
            except ValidationError as error:
                # The last (most lenient) model's complaint is the one that decided.
                reason = _describe(error)
            else:
                return None
        return reason
