"""Lenient validation of the parts of an operation a tool is made of, with openapi-pydantic.

Only what a call needs is validated (parameters, request body, servers): a malformed response or
example never makes an operation uncallable. Each part is checked against the models of the document's
OpenAPI version first; a 3.0 document that borrows 3.1 syntax (`type: 'null'`, type arrays, numeric
`exclusiveMinimum`) is then checked against the 3.1 models, which also accept the 3.0 spellings, so a
part is only rejected when even the most lenient reading fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openapi_pydantic.v3 import v3_0, v3_1
from pydantic import BaseModel, ValidationError

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


class PartValidator:
    """Validates operation parts for one document version; returns a reason string or None."""

    def __init__(self, openapi_version: str) -> None:
        self._is_31 = openapi_version.startswith("3.1")

    def parameter_error(self, parameter: Any) -> str | None:
        return self._first_error((v3_0.Parameter, v3_1.Parameter), parameter)

    def request_body_error(self, request_body: Any) -> str | None:
        return self._first_error((v3_0.RequestBody, v3_1.RequestBody), request_body)

    def server_error(self, server: Any) -> str | None:
        return self._first_error((v3_0.Server, v3_1.Server), server)

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
