"""One OpenAPI operation -> everything a tool needs except its name (names are allocated per spec)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp_gateway.openapi.argument_keys import WHOLE_BODY, allocate_argument_keys
from mcp_gateway.openapi.model import BodyBinding, HttpBinding, ParameterBinding
from mcp_gateway.openapi.parameters import (
    InvalidOperation,
    OperationParameter,
    merged_parameters,
    read_parameter,
    undeclared_path_parameters,
)
from mcp_gateway.openapi.refs import RefIndex, UnresolvableRef, is_reference
from mcp_gateway.openapi.request_body import BodyPlan, flattenable, plan_body
from mcp_gateway.openapi.schemas import SchemaConverter
from mcp_gateway.openapi.servers import server_urls
from mcp_gateway.openapi.validation import PartValidator

__all__ = ["OperationBuilder", "PreparedTool", "describe_operation", "operation_id_of"]

_PARAMETER_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}


@dataclass(frozen=True)
class PreparedTool:
    source_name: str
    operation_id: str | None
    description: str
    input_schema: dict[str, Any]
    binding: HttpBinding


@dataclass(frozen=True)
class _Argument:
    location: str
    wire_name: str
    schema: Any
    """Converted JSON Schema of the argument."""
    refs: frozenset[str]
    """Document references the schema points at, for the tool's `$defs`."""
    required: bool


def _with_annotations(schema: Any, description: str | None, deprecated: bool = False) -> Any:
    if schema is True:
        # A boolean schema (3.1) `true` accepts anything, which an empty object also says; argument
        # schemas stay objects for consumers that expect them to be.
        schema = {}
    if not description and not deprecated:
        return schema
    annotated = dict(schema) if isinstance(schema, Mapping) else {}
    if description:
        annotated["description"] = description
    if deprecated:
        annotated["deprecated"] = True
    return annotated


def operation_id_of(operation: Any) -> str | None:
    """The operationId as text (YAML may have made it a number); None when absent or empty."""
    raw = operation.get("operationId") if isinstance(operation, Mapping) else None
    return str(raw) if raw is not None and str(raw) else None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def describe_operation(method: str, path: str, operation: Mapping[str, Any]) -> str:
    """Summary, then description, else `METHOD /path`; deprecated operations say so first."""
    summary, description = _text(operation.get("summary")), _text(operation.get("description"))
    parts = [summary] if summary else []
    if description and description != summary:
        parts.append(description)
    text = "\n\n".join(parts) or f"{method.upper()} {path}"
    return f"[Deprecated] {text}" if operation.get("deprecated") is True else text


class OperationBuilder:
    """Builds prepared tools for one document; shares its reference index and schema memo."""

    def __init__(self, refs: RefIndex, converter: SchemaConverter, validator: PartValidator) -> None:
        self._refs = refs
        self._converter = converter
        self._validator = validator

    def build(self, path: str, method: str, path_item: Mapping[str, Any], operation: Mapping[str, Any]) -> PreparedTool:
        """Raises InvalidOperation or UnresolvableRef when the operation cannot become a tool."""
        parameters = self._parameters(path, path_item, operation)
        body = self._body(operation)
        servers = self._servers(operation.get("servers", path_item.get("servers")))
        arguments = [self._parameter_argument(parameter) for parameter in parameters]
        body_arguments, whole_body = self._body_arguments(body) if body is not None else ([], False)
        arguments.extend(body_arguments)
        keys = allocate_argument_keys([(argument.location, argument.wire_name) for argument in arguments])
        keyed = list(zip(keys, arguments, strict=True))

        operation_id = operation_id_of(operation)
        return PreparedTool(
            source_name=operation_id or f"{method}_{path}",
            operation_id=operation_id,
            description=describe_operation(method, path, operation),
            input_schema=self._input_schema(keyed),
            binding=HttpBinding(
                method=method.upper(),
                path=path,
                parameters=tuple(
                    _parameter_binding(key, parameter)
                    for (key, _), parameter in zip(keyed[: len(parameters)], parameters, strict=True)
                ),
                body=_body_binding(body, keyed[len(parameters) :], whole_body) if body is not None else None,
                servers=servers,
            ),
        )

    def _parameters(
        self, path: str, path_item: Mapping[str, Any], operation: Mapping[str, Any]
    ) -> list[OperationParameter]:
        declared: list[OperationParameter] = []
        raw = merged_parameters(path_item.get("parameters"), operation.get("parameters"), self._refs)
        for position, parameter in enumerate(raw):
            error = self._validator.parameter_error(parameter)
            if error is not None:
                name = parameter.get("name") if isinstance(parameter, Mapping) else None
                label = repr(name) if isinstance(name, str) else f"#{position + 1}"
                raise InvalidOperation(f"invalid parameter {label}: {error}")
            typed = read_parameter(parameter)
            if typed is None or self._omitted(typed.schema, typed.required, f"parameter {typed.name!r}"):
                continue
            declared.append(typed)
        declared.extend(undeclared_path_parameters(path, declared))
        return sorted(declared, key=lambda parameter: _PARAMETER_ORDER[parameter.location])

    def _body(self, operation: Mapping[str, Any]) -> BodyPlan | None:
        raw = operation.get("requestBody")
        if raw is None:
            return None
        request_body = self._refs.follow(raw)
        error = self._validator.request_body_error(request_body)
        if error is not None:
            raise InvalidOperation(f"invalid requestBody: {error}")
        plan = plan_body(request_body)
        if plan is None or self._omitted(plan.schema, plan.required, "requestBody"):
            return None
        return plan

    def _servers(self, raw: Any) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise InvalidOperation("servers must be a list")
        for server in raw:
            error = self._validator.server_error(server)
            if error is not None:
                raise InvalidOperation(f"invalid server: {error}")
        return server_urls(raw)

    def _parameter_argument(self, parameter: OperationParameter) -> _Argument:
        schema, refs = self._converter.convert(parameter.schema)
        return _Argument(
            location=parameter.location,
            wire_name=parameter.name,
            schema=_with_annotations(schema, parameter.description, parameter.deprecated),
            refs=refs,
            required=parameter.required,
        )

    def _body_arguments(self, body: BodyPlan) -> tuple[list[_Argument], bool]:
        """The body's object properties as arguments, or one `body` argument (then the flag is True)."""
        # Only a top-level reference is followed to decide on flattening; the properties' own
        # references stay references into `$defs`.
        spread = flattenable(self._refs.follow(body.schema))
        if spread is None:
            schema, refs = self._converter.convert(body.schema)
            whole = _Argument("body", WHOLE_BODY, _with_annotations(schema, body.description), refs, body.required)
            return [whole], True
        properties, required = spread
        arguments = []
        for name, property_schema in properties.items():
            if self._omitted(property_schema, name in required, f"body property {name!r}"):
                continue
            schema, refs = self._converter.convert(property_schema)
            arguments.append(
                _Argument("body", str(name), _with_annotations(schema, None), refs, body.required and name in required)
            )
        return arguments, False

    def _omitted(self, schema: Any, required: bool, what: str) -> bool:
        """True when a value's schema is `false` (3.1: no value is valid) so the only valid call leaves it out.

        Raises InvalidOperation when it is also required: no call could ever be valid.
        """
        if schema is not False and not is_reference(schema):
            return False  # the common case, decided without a lookup
        try:
            accepts_nothing = self._refs.follow(schema) is False
        except UnresolvableRef:
            return False  # not decidable here; the schema converter reports the broken reference
        if not accepts_nothing:
            return False
        if required:
            raise InvalidOperation(f"{what} is required but its schema is false, so no value is valid")
        return True

    def _input_schema(self, keyed: list[tuple[str, _Argument]]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        references: set[str] = set()
        for key, argument in keyed:
            properties[key] = argument.schema
            references |= argument.refs
            if argument.required:
                required.append(key)
        input_schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            input_schema["required"] = required
        definitions = self._converter.definitions(references)
        if definitions:
            input_schema["$defs"] = definitions
        return input_schema


def _parameter_binding(key: str, parameter: OperationParameter) -> ParameterBinding:
    return ParameterBinding(
        argument=key,
        name=parameter.name,
        location=parameter.location,
        required=parameter.required,
        style=parameter.style,
        explode=parameter.explode,
        allow_reserved=parameter.allow_reserved,
        content_type=parameter.content_type,
    )


def _body_binding(body: BodyPlan, keyed: list[tuple[str, _Argument]], whole: bool) -> BodyBinding:
    return BodyBinding(
        media_type=body.media_type,
        required=body.required,
        argument=keyed[0][0] if whole else None,
        properties=() if whole else tuple((key, argument.wire_name) for key, argument in keyed),
        encoding=body.encoding,
    )
