"""Swagger 2.0 -> OpenAPI 3.0.3, so one code path turns every document into tools. Pure.

- `in: body` becomes `requestBody` with one content entry per `consumes` media type (`*/*` included);
  `in: formData` parameters become an object schema sent as `multipart/form-data` when a parameter is a
  `file` or `consumes` asks only for multipart, else `application/x-www-form-urlencoded`.
- Non-body parameters move their type keywords into `schema`; `collectionFormat` becomes style/explode.
- `host` + `basePath` + `schemes` become `servers` (https when no scheme is given: OpenAPI would use the
  scheme the spec was fetched with, which a file does not have).
- `#/definitions`, `#/parameters`, `#/responses` move under `#/components`, and every reference follows;
  `securityDefinitions` become `securitySchemes`.
Parameters are inlined into each operation (path-level ones merged, operation-level winning), because a
body or form parameter declared on the path or in `#/parameters` becomes part of each operation's body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["is_swagger2", "upgrade_swagger2"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_SCHEMA_FIELDS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
)
_REFERENCE_PREFIXES = (
    ("#/definitions/", "#/components/schemas/"),
    ("#/parameters/", "#/components/parameters/"),
    ("#/responses/", "#/components/responses/"),
)
# collectionFormat -> (style, explode). tsv has no OpenAPI 3 counterpart; comma-separated is closest.
_COLLECTION_STYLES: Mapping[str, tuple[str, bool]] = {
    "csv": ("form", False),
    "tsv": ("form", False),
    "ssv": ("spaceDelimited", False),
    "pipes": ("pipeDelimited", False),
    "multi": ("form", True),
}
_OAUTH_FLOWS = {
    "implicit": ("implicit", ("authorizationUrl",)),
    "password": ("password", ("tokenUrl",)),
    "application": ("clientCredentials", ("tokenUrl",)),
    "accessCode": ("authorizationCode", ("authorizationUrl", "tokenUrl")),
}


def is_swagger2(document: Mapping[str, Any]) -> bool:
    return str(document.get("swagger", "")).startswith("2")


def _rewrite_references(node: Any) -> Any:
    """A copy of `node` with Swagger 2.0 reference targets moved to their OpenAPI 3 places."""
    if isinstance(node, list):
        return [_rewrite_references(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    rewritten: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            for old, new in _REFERENCE_PREFIXES:
                if value.startswith(old):
                    value = new + value[len(old) :]
                    break
            rewritten[key] = value
        elif key == "x-nullable":
            # The common 2.0 extension for what 3.0 spells `nullable`.
            rewritten["nullable"] = value
        else:
            rewritten[key] = _rewrite_references(value)
    return rewritten


def _items_schema(items: Any) -> Any:
    """A 2.0 Items Object (or non-body parameter) -> a Schema Object."""
    if not isinstance(items, Mapping):
        return {}
    if items.get("type") == "file":
        return {"type": "string", "format": "binary"}
    schema = {key: items[key] for key in _SCHEMA_FIELDS if key in items}
    if "items" in schema:
        schema["items"] = _items_schema(schema["items"])
    return schema


def _style(parameter: Mapping[str, Any]) -> tuple[str, bool] | None:
    if parameter.get("type") != "array":
        return None
    style, explode = _COLLECTION_STYLES.get(str(parameter.get("collectionFormat", "csv")), ("form", False))
    if parameter.get("in") in ("path", "header"):
        # Both 2.0 and 3.0 default to comma-separated here; 3.0 calls it `simple`.
        return ("simple", False) if style == "form" and not explode else (style, explode)
    return style, explode


def _parameter(parameter: Mapping[str, Any]) -> dict[str, Any]:
    """A non-body 2.0 parameter -> a 3.0 Parameter Object."""
    converted: dict[str, Any] = {
        key: value
        for key, value in parameter.items()
        if key in ("name", "in", "description", "required", "allowEmptyValue", "deprecated") or key.startswith("x-")
    }
    converted["schema"] = _items_schema(parameter)
    styled = _style(parameter)
    if styled is not None:
        converted["style"], converted["explode"] = styled
    return converted


def _merged_raw_parameters(
    path_level: Any, operation_level: Any, global_parameters: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    merged: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    listed = [entries for entries in (path_level, operation_level) if isinstance(entries, list)]
    for raw in [parameter for entries in listed for parameter in entries]:
        parameter = raw
        if isinstance(raw, Mapping) and isinstance(raw.get("$ref"), str) and raw["$ref"].startswith("#/parameters/"):
            parameter = global_parameters.get(raw["$ref"][len("#/parameters/") :], raw)
        if not isinstance(parameter, Mapping):
            continue
        identity = (parameter.get("name"), parameter.get("in")) if "$ref" not in parameter else (parameter["$ref"],)
        merged[identity] = parameter
    return list(merged.values())


def _form_body(parameters: list[Mapping[str, Any]], consumes: list[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    encoding: dict[str, Any] = {}
    for parameter in parameters:
        name = str(parameter.get("name"))
        schema = _items_schema(parameter)
        if isinstance(parameter.get("description"), str):
            schema["description"] = parameter["description"]
        properties[name] = schema
        if parameter.get("required") is True:
            required.append(name)
        styled = _style(parameter)
        if styled is not None:
            encoding[name] = {"style": styled[0], "explode": styled[1]}
    has_file = any(parameter.get("type") == "file" for parameter in parameters)
    multipart = has_file or (_MULTIPART in consumes and _FORM not in consumes)
    body_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        body_schema["required"] = required
    media: dict[str, Any] = {"schema": body_schema}
    if encoding:
        media["encoding"] = encoding
    return {"content": {_MULTIPART if multipart else _FORM: media}, "required": bool(required)}


def _json_body(parameter: Mapping[str, Any], consumes: list[str]) -> dict[str, Any]:
    schema = _rewrite_references(parameter.get("schema", {}))
    body: dict[str, Any] = {
        "content": {media_type: {"schema": schema} for media_type in consumes or [_JSON]},
        "required": parameter.get("required") is True,
    }
    if isinstance(parameter.get("description"), str):
        body["description"] = parameter["description"]
    return body


def _response(response: Any, produces: list[str]) -> Any:
    if not isinstance(response, Mapping) or "$ref" in response:
        return _rewrite_references(response)
    converted: dict[str, Any] = {"description": str(response.get("description", ""))}
    if "schema" in response:
        schema = _rewrite_references(response["schema"])
        converted["content"] = {media_type: {"schema": schema} for media_type in produces or [_JSON]}
    headers = response.get("headers")
    if isinstance(headers, Mapping):
        converted["headers"] = {
            name: {"description": header.get("description", ""), "schema": _items_schema(header)}
            for name, header in headers.items()
            if isinstance(header, Mapping)
        }
    return converted


def _responses(responses: Any, produces: list[str]) -> dict[str, Any]:
    if not isinstance(responses, Mapping):
        return {}
    return {str(code): _response(response, produces) for code, response in responses.items()}


def _media_types(value: Any, fallback: list[str]) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else fallback


def _operation(
    operation: Mapping[str, Any],
    path_parameters: Any,
    document: Mapping[str, Any],
    global_parameters: Mapping[str, Any],
) -> dict[str, Any]:
    consumes = _media_types(operation.get("consumes"), _media_types(document.get("consumes"), [_JSON]))
    produces = _media_types(operation.get("produces"), _media_types(document.get("produces"), [_JSON]))
    converted: dict[str, Any] = {
        key: _rewrite_references(value)
        for key, value in operation.items()
        if key not in ("parameters", "responses", "consumes", "produces", "schemes")
    }
    raw_parameters = _merged_raw_parameters(path_parameters, operation.get("parameters"), global_parameters)
    parameters: list[Any] = []
    form: list[Mapping[str, Any]] = []
    for parameter in raw_parameters:
        location = parameter.get("in")
        if "$ref" in parameter:
            parameters.append(_rewrite_references(parameter))
        elif location == "body":
            converted["requestBody"] = _json_body(parameter, consumes)
        elif location == "formData":
            form.append(parameter)
        else:
            parameters.append(_parameter(parameter))
    if form and "requestBody" not in converted:
        converted["requestBody"] = _form_body(form, consumes)
    if parameters:
        converted["parameters"] = parameters
    converted["responses"] = _responses(operation.get("responses"), produces)
    return converted


def _servers(document: Mapping[str, Any]) -> list[dict[str, str]]:
    base_path = str(document.get("basePath", ""))
    host = document.get("host")
    if not isinstance(host, str) or not host:
        return [{"url": base_path}] if base_path else []
    schemes = _media_types(document.get("schemes"), ["https"])
    return [{"url": f"{scheme}://{host}{base_path}"} for scheme in schemes]


def _security_scheme(definition: Any) -> Any:
    if not isinstance(definition, Mapping):
        return definition
    kind = definition.get("type")
    scheme: dict[str, Any]
    if kind == "basic":
        scheme = {"type": "http", "scheme": "basic"}
    elif kind == "apiKey":
        scheme = {"type": "apiKey", "name": definition.get("name"), "in": definition.get("in")}
    elif kind == "oauth2":
        flow_name, url_fields = _OAUTH_FLOWS.get(str(definition.get("flow")), ("implicit", ("authorizationUrl",)))
        flow = {field: definition.get(field) for field in url_fields}
        flow["scopes"] = definition.get("scopes", {})
        scheme = {"type": "oauth2", "flows": {flow_name: flow}}
    else:
        return dict(definition)
    if "description" in definition:
        scheme["description"] = definition["description"]
    return scheme


def _components(document: Mapping[str, Any]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    definitions = document.get("definitions")
    if isinstance(definitions, Mapping):
        components["schemas"] = _rewrite_references(definitions)
    parameters = document.get("parameters")
    if isinstance(parameters, Mapping):
        components["parameters"] = {
            name: _parameter(parameter)
            for name, parameter in parameters.items()
            if isinstance(parameter, Mapping) and parameter.get("in") not in ("body", "formData")
        }
    responses = document.get("responses")
    if isinstance(responses, Mapping):
        produces = _media_types(document.get("produces"), [_JSON])
        components["responses"] = {name: _response(response, produces) for name, response in responses.items()}
    security = document.get("securityDefinitions")
    if isinstance(security, Mapping):
        components["securitySchemes"] = {name: _security_scheme(scheme) for name, scheme in security.items()}
    return components


def upgrade_swagger2(document: Mapping[str, Any]) -> dict[str, Any]:
    """A new OpenAPI 3.0.3 document equivalent to a Swagger 2.0 one; `document` is not changed."""
    upgraded: dict[str, Any] = {"openapi": "3.0.3"}
    for key, value in document.items():
        if key in ("info", "tags", "externalDocs", "security") or key.startswith("x-"):
            upgraded[key] = value
    servers = _servers(document)
    if servers:
        upgraded["servers"] = servers
    global_parameters = document.get("parameters")
    if not isinstance(global_parameters, Mapping):
        global_parameters = {}
    paths: dict[str, Any] = {}
    raw_paths = document.get("paths")
    for path, item in raw_paths.items() if isinstance(raw_paths, Mapping) else []:
        if not isinstance(item, Mapping):
            paths[path] = item
            continue
        path_parameters = item.get("parameters")
        converted_item = {key: value for key, value in item.items() if key not in _METHODS and key != "parameters"}
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, Mapping):
                converted_item[method] = _operation(operation, path_parameters, document, global_parameters)
            elif operation is not None:
                converted_item[method] = operation
        paths[path] = converted_item
    upgraded["paths"] = paths
    components = _components(document)
    if components:
        upgraded["components"] = components
    return upgraded
