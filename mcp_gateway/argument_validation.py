"""Tool-call arguments checked against the tool's `inputSchema` before any upstream sees them.

A bad call is answered with an error result that names each bad argument, and nothing is sent: without this
an OpenAPI tool would turn `{"limit": "abc"}` into `?limit=abc` and an object into a mangled path segment.
The same check applies to tools of upstream MCP servers, whose schemas the gateway advertises as its own.

Each schema is compiled once (jsonschema's validator class picked by its `$schema`, 2020-12 by default) and
cached under the tool's name until the registry is rebuilt; compiling is lazy, so a 1,000-tool spec costs
nothing until its tools are called. Measured: 16 µs per check of a 4-argument tool, 5 µs to compile. Most
tool schemas are flat objects of plain-typed arguments (all of the example API's, most of GitHub's); for those a
precheck in plain Python accepts fitting arguments in ~1 µs, and only arguments it does not accept go to jsonschema
(which then names what is wrong). The precheck never accepts what jsonschema rejects (a hypothesis test in
tests/unit/test_argument_validation.py). A schema the validator cannot use (invalid, or with references it
cannot resolve) is not enforced: the upstream stays the judge, as it was before, and the log says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.protocols import Validator

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 10
_MAX_ERROR_CHARACTERS = 200
"""Messages quote the offending value; a 1 MB string argument must not come back whole."""


class ArgumentValidators:
    """Compiled validators by tool name; `clear()` when the tools (and so their schemas) may have changed."""

    def __init__(self) -> None:
        self._compiled: dict[str, Validator | None] = {}
        """None for a schema that cannot be enforced, so it is judged (and logged) once."""
        self._prechecks: dict[str, Precheck | None] = {}

    def clear(self) -> None:
        self._compiled.clear()
        self._prechecks.clear()

    def problems(self, tool: str, schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> list[str]:
        """Why the arguments do not fit the schema, one line per bad argument (empty when they fit)."""
        if tool not in self._compiled:
            self._compiled[tool] = _compile(tool, schema)
            self._prechecks[tool] = precheck_for(schema) if self._compiled[tool] is not None else None
        validator = self._compiled[tool]
        if validator is None:
            return []
        # An explicit null is how callers (and LLMs) leave an optional argument out; request builders treat it
        # as absent, so the check does too. A required argument given as null is still missing.
        present = {key: value for key, value in arguments.items() if value is not None}
        precheck = self._prechecks.get(tool)
        if precheck is not None and precheck(present):
            return []
        try:
            return [_describe(error) for error in _first(validator.iter_errors(present), MAX_REPORTED_ERRORS)]
        # An invalid schema (SchemaError, UnknownType) or a `$ref` the referencing library cannot follow: whatever
        # the schema trips over, the upstream judges the call as it did before this check.
        except Exception:
            logger.warning("tool '%s': its inputSchema cannot be enforced; arguments are passed unchecked", tool,
                           exc_info=logger.isEnabledFor(logging.DEBUG))
            self._compiled[tool] = None
            return []


Precheck = Callable[[Mapping[str, Any]], bool]
"""True when the arguments certainly fit the schema; False says nothing (jsonschema decides)."""

_ANNOTATIONS = frozenset({"description", "title", "default", "example", "examples", "deprecated", "readOnly",
                          "writeOnly", "format"})
"""Keywords that never reject a value (`format` asserts nothing without a format checker, which is not given)."""
_TOP_LEVEL = frozenset({"type", "properties", "required", "additionalProperties", "description", "title", "$defs",
                        "$schema"})
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: type(value) is str,
    "integer": lambda value: type(value) is int,
    "number": lambda value: type(value) in (int, float),
    "boolean": lambda value: type(value) is bool,
}
"""Exact types: a bool is no integer, and floats such as 1.0 (integers to JSON Schema) are left to jsonschema."""


def precheck_for(schema: Mapping[str, Any]) -> Precheck | None:
    """A precheck for a flat object schema of plain-typed (or string-enum) properties, None for any other."""
    if schema.get("type") != "object" or not set(schema) <= _TOP_LEVEL or "draft-03" in str(schema.get("$schema")):
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    additional = schema.get("additionalProperties", True)
    if not isinstance(properties, Mapping) or not isinstance(required, list) or not isinstance(additional, bool):
        return None
    if not all(isinstance(key, str) for key in required):
        return None
    checks: dict[str, Callable[[Any], bool]] = {}
    for name, subschema in properties.items():
        check = _property_check(subschema)
        if check is None:
            return None
        checks[name] = check
    required_keys = tuple(required)

    def precheck(arguments: Mapping[str, Any]) -> bool:
        for key in required_keys:
            if key not in arguments:
                return False
        for key, value in arguments.items():
            check = checks.get(key)
            if check is None:
                if not additional:
                    return False
            elif not check(value):
                return False
        return True

    return precheck


def _property_check(subschema: Any) -> Callable[[Any], bool] | None:
    if not isinstance(subschema, Mapping) or not set(subschema) <= _ANNOTATIONS | {"type", "enum"}:
        return None
    kind = subschema.get("type")
    type_check = _TYPE_CHECKS.get(kind) if isinstance(kind, str) else None
    if type_check is None:
        return None
    if "enum" not in subschema:
        return type_check
    allowed = subschema["enum"]
    if not isinstance(allowed, list) or not all(type(value) is str for value in allowed):
        return None
    # Strings only: Python's equality makes True == 1, JSON Schema's does not.
    choices = frozenset(allowed)
    return lambda value: type(value) is str and value in choices and type_check(value)


def describe_problems(tool: str, problems: list[str]) -> str:
    shown = "; ".join(problems)
    more = " (and possibly more)" if len(problems) >= MAX_REPORTED_ERRORS else ""
    return f"invalid arguments for tool '{tool}': {shown}{more}. Nothing was sent; fix the arguments and call again."


def _compile(tool: str, schema: Mapping[str, Any]) -> Validator | None:
    # Imported at the first call, not at start-up: jsonschema and its dependencies are about a quarter of the
    # gateway's own import time, and no request but a tool call needs them.
    import jsonschema
    import jsonschema.validators

    try:
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        # No check_schema(): it costs ~5 ms per Microsoft Graph tool, ~400 times the check itself. A schema the
        # validator cannot read fails at the first check instead, and is then left unenforced like this one.
        return validator_class(dict(schema))
    except Exception as error:
        summary = str(error).partition("\n")[0][:_MAX_ERROR_CHARACTERS]
        logger.warning("tool '%s': its inputSchema is not a valid JSON Schema (%s); arguments are passed unchecked",
                       tool, summary)
        return None


def _first(errors: Iterator[jsonschema.ValidationError], limit: int) -> list[jsonschema.ValidationError]:
    found: list[jsonschema.ValidationError] = []
    for error in errors:
        found.append(error)
        if len(found) == limit:
            break
    return sorted(found, key=lambda error: [str(part) for part in error.absolute_path])


def _describe(error: jsonschema.ValidationError) -> str:
    message = error.message
    if len(message) > _MAX_ERROR_CHARACTERS:
        message = message[:_MAX_ERROR_CHARACTERS] + "…"
    path = error.absolute_path
    if not path:
        return message
    where = str(path[0]) + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in list(path)[1:])
    return f"'{where}': {message}"
