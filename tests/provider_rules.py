"""What each provider accepts as a tool definition, written down from its documentation as checkable rules.

These validators are deliberately independent of `mcp_gateway.bridge`: they restate the providers' rules
(name patterns, wire shapes, schema dialects, limits) so that tests can hold the converter to them, and fake
providers in end-to-end tests can reject what the real ones would reject.

    validate_tool_definition(provider, definition) -> list[str]     # violations, empty when valid
    validate_tool_definitions(provider, definitions) -> list[str]   # plus count limit and unique names; the
                                                                    # list may hold provider-hosted tools too
    internal_keys(value) -> list[str]                               # "_"-prefixed keys outside name maps
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema_specifications import REGISTRY as SPECIFICATIONS  # type: ignore[import-untyped]

from mcp_gateway.bridge.targets import Provider

__all__ = [
    "GEMINI_PARAMETER_NAME",
    "NAME_PATTERNS",
    "ROOT_REFUSED_KEYWORDS",
    "TOOL_COUNT_LIMITS",
    "hosted_name",
    "internal_keys",
    "is_hosted",
    "tool_name",
    "validate_tool_definition",
    "validate_tool_definitions",
]

NAME_PATTERNS: dict[Provider, re.Pattern[str]] = {
    # OpenAI function name: a-z, A-Z, 0-9, underscores and dashes, at most 64 characters.
    "openai": re.compile(r"[a-zA-Z0-9_-]{1,64}"),
    "openai-responses": re.compile(r"[a-zA-Z0-9_-]{1,64}"),
    # Anthropic Messages tools[].name.
    "anthropic": re.compile(r"[a-zA-Z0-9_-]{1,128}"),
    # Gemini FunctionDeclaration.name: starts with a letter or underscore; letters, digits, _ . : -; 64 max.
    "gemini": re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}"),
    # Bedrock ToolSpecification.name: [a-zA-Z0-9_-]+, length 1-64.
    "bedrock": re.compile(r"[a-zA-Z0-9_-]{1,64}"),
    # Mistral follows OpenAI's function name rule.
    "mistral": re.compile(r"[a-zA-Z0-9_-]{1,64}"),
    # Cohere v2 tool names: ^[A-Za-z_][A-Za-z0-9_]*$ (no documented maximum).
    "cohere": re.compile(r"[A-Za-z_][A-Za-z0-9_]*"),
}
# Anthropic: "tools.N.custom.input_schema.properties: Property keys should match pattern '^[a-zA-Z0-9_.-]{1,64}$'".
ANTHROPIC_PROPERTY_KEY = re.compile(r"[a-zA-Z0-9_.-]{1,64}")
# Gemini FunctionDeclaration.parameters: parameter names start with a letter or underscore and hold only letters,
# digits and underscores, 64 at most. The reference states it for the parameters, i.e. the top-level keys.
GEMINI_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
TOOL_COUNT_LIMITS: dict[Provider, int] = {"openai": 128, "openai-responses": 128, "gemini": 512}
OPENAI_DESCRIPTION_LIMIT = 1024

# OpenAI strict mode ("Supported schemas"): the keywords and string formats it accepts.
OPENAI_STRICT_KEYWORDS = frozenset(
    {
        "type", "description", "title", "properties", "required", "additionalProperties", "items", "enum", "const",
        "anyOf", "$ref", "$defs", "definitions", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
    }
)  # fmt: skip
OPENAI_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
# Gemini Schema (generativelanguage v1beta): the documented fields, types and Developer API formats.
GEMINI_KEYWORDS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
        "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
        "propertyOrdering", "default", "items", "minimum", "maximum",
    }
)  # fmt: skip
GEMINI_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
GEMINI_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"}, "integer": {"int32", "int64"}}

# Keywords refused at the root of a tool's schema although accepted below it:
# - OpenAI (Chat Completions and Responses, strict or not): "Invalid schema for function ...: schema must have
#   type 'object' and not have 'oneOf'/'anyOf'/'allOf'/'enum'/'not' at the top level".
# - Anthropic: "input_schema does not support oneOf, allOf, or anyOf at the top level"; Bedrock Converse hands
#   Claude models' tool schemas to the same validator.
# - Mistral and Cohere v2 document object parameters and say nothing of root combinators; none of these
#   providers documents accepting a root `const` either, so it is held to the same rule as a root `enum`.
# - Gemini's `parameters` name the function's parameters ("the Schema defining the type used for the
#   parameter", per parameter name), so its root must be a plain object; allOf/oneOf/not/const are not in its
#   Schema anywhere, and a root anyOf is refused here as for every other provider.
ROOT_REFUSED_KEYWORDS = ("anyOf", "oneOf", "allOf", "not", "enum", "const")

_META_SCHEMA_BASE = "https://json-schema.org/draft/2020-12/"


def _flattened_meta_schema() -> dict[str, Any]:
    """The 2020-12 meta-schema with its vocabularies merged and `$dynamicRef: #meta` read as `$ref: #`.

    For checking plain schemas (no `$dynamicAnchor` of their own) this accepts and rejects exactly what the
    published meta-schema does, about ten times faster, which keeps the property and real-spec tests quick.
    """

    def static(value: Any) -> Any:
        if isinstance(value, dict):
            return {"$ref": "#"} if value.get("$dynamicRef") == "#meta" else {k: static(v) for k, v in value.items()}
        return [static(item) for item in value] if isinstance(value, list) else value

    root = SPECIFICATIONS.contents(_META_SCHEMA_BASE + "schema")
    parts = [root, *(SPECIFICATIONS.contents(_META_SCHEMA_BASE + part["$ref"]) for part in root["allOf"])]
    flattened: dict[str, Any] = {"type": ["object", "boolean"], "properties": {}, "$defs": {}}
    for part in parts:
        for keyword in ("properties", "$defs"):
            flattened[keyword].update(static(part.get(keyword, {})))
    return flattened


_META_SCHEMA_VALIDATOR = Draft202012Validator(_flattened_meta_schema())
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_SINGLES = (
    "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties", "additionalItems",
)  # fmt: skip
_DATA_KEYWORDS = ("enum", "const", "default", "example", "examples")


def validate_tool_definition(provider: Provider, definition: dict[str, Any]) -> list[str]:
    """Every documented rule `definition` breaks for `provider`; empty when the provider would accept it."""
    if not isinstance(definition, Mapping):
        return [f"definition must be an object, got {type(definition).__name__}"]
    checks = {
        "openai": _openai_chat,
        "openai-responses": _openai_responses,
        "anthropic": _anthropic,
        "gemini": _gemini,
        "bedrock": _bedrock,
        "mistral": _chat_shape,
        "cohere": _chat_shape,
    }
    return checks[provider](provider, definition)


def validate_tool_definitions(provider: Provider, definitions: Sequence[dict[str, Any]]) -> list[str]:
    """The rules for one request's tool list: each definition, unique names, the documented count limit.

    Provider-hosted tools in the list (see `is_hosted`) are the provider's to judge; they count towards the limit
    and their names must not repeat another tool's name (Anthropic: "Tool names must be unique").
    """
    problems: list[str] = []
    limit = TOOL_COUNT_LIMITS.get(provider)
    if limit is not None and len(definitions) > limit:
        problems.append(f"{len(definitions)} tools exceed the {provider} limit of {limit}")
    names = [
        hosted_name(provider, definition) if is_hosted(provider, definition) else tool_name(provider, definition)
        for definition in definitions
    ]
    duplicates = sorted({name for name in names if name is not None and names.count(name) > 1})
    if duplicates:
        problems.append(f"duplicate tool names: {duplicates}")
    for index, definition in enumerate(definitions):
        if is_hosted(provider, definition):
            continue
        problems.extend(f"tools[{index}]: {problem}" for problem in validate_tool_definition(provider, definition))
    return problems


# Provider-defined tools that may share a request's `tools` with functions:
# - Anthropic server and client tools carry a dated type: web_search_20250305, bash_20250124, text_editor_...
# - OpenAI Responses: web_search(_preview), file_search, computer_use_preview, code_interpreter, image_generation,
#   mcp, local_shell, shell, apply_patch and custom tools; Chat Completions: custom tools.
# - Bedrock Converse's Tool union: systemTool (and cachePoint markers) beside toolSpec.
_ANTHROPIC_HOSTED_TYPE = re.compile(r"[a-z_]+_\d{8}")
_RESPONSES_HOSTED_TYPES = frozenset(
    {
        "web_search", "web_search_preview", "file_search", "computer_use_preview", "code_interpreter",
        "image_generation", "mcp", "local_shell", "shell", "apply_patch", "custom",
    }
)  # fmt: skip


def is_hosted(provider: Provider, definition: Mapping[str, Any]) -> bool:
    """Whether `definition` is one of the provider's own tools rather than a function definition."""
    kind = definition.get("type")
    if provider == "anthropic":
        return isinstance(kind, str) and _ANTHROPIC_HOSTED_TYPE.fullmatch(kind) is not None
    if provider == "openai-responses":
        return kind in _RESPONSES_HOSTED_TYPES
    if provider == "openai":
        return kind == "custom"
    if provider == "bedrock":
        return "toolSpec" not in definition and ("systemTool" in definition or "cachePoint" in definition)
    return False


def hosted_name(provider: Provider, definition: Mapping[str, Any]) -> str | None:
    """The name a hosted tool takes among the request's tools (None for the nameless ones)."""
    holder = definition.get("systemTool") if provider == "bedrock" else definition.get("custom", definition)
    name = holder.get("name") if isinstance(holder, Mapping) else None
    return name if isinstance(name, str) else None


def tool_name(provider: Provider, definition: Mapping[str, Any]) -> str | None:
    """The function name inside a definition of `provider`'s shape."""
    if provider in ("openai", "mistral", "cohere"):
        function = definition.get("function")
        return function.get("name") if isinstance(function, Mapping) else None
    if provider == "bedrock":
        spec = definition.get("toolSpec")
        return spec.get("name") if isinstance(spec, Mapping) else None
    name = definition.get("name")
    return name if isinstance(name, str) else None


def internal_keys(value: Any, path: str = "$") -> list[str]:
    """Paths of "_"-prefixed keys anywhere in `value`, except user names (property names) and data values."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("_"):
                found.append(f"{path}.{key}")
            if key in _DATA_KEYWORDS:
                continue
            if key in _SCHEMA_MAPS and isinstance(item, Mapping):
                for name, sub in item.items():
                    found.extend(internal_keys(sub, f"{path}.{key}[{name!r}]"))
            else:
                found.extend(internal_keys(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(internal_keys(item, f"{path}[{index}]"))
    return found


def _name_problems(provider: Provider, name: Any) -> list[str]:
    if not isinstance(name, str) or NAME_PATTERNS[provider].fullmatch(name) is None:
        return [f"name {name!r} does not match the {provider} pattern {NAME_PATTERNS[provider].pattern}"]
    return []


def _unexpected_keys(where: str, value: Mapping[str, Any], allowed: set[str], required: set[str]) -> list[str]:
    problems = [f"{where}: unexpected key {key!r}" for key in value if key not in allowed]
    problems += [f"{where}: missing {key!r}" for key in sorted(required) if key not in value]
    return problems


def _openai_chat(provider: Provider, definition: Mapping[str, Any]) -> list[str]:
    problems = _unexpected_keys("tool", definition, {"type", "function"}, {"type", "function"})
    if definition.get("type") != "function":
        problems.append("type must be 'function'")
    function = definition.get("function")
    if not isinstance(function, Mapping):
        return [*problems, "function must be an object"]
    problems += _unexpected_keys("function", function, {"name", "description", "parameters", "strict"}, {"name"})
    return problems + _openai_function(provider, function)


def _openai_responses(provider: Provider, definition: Mapping[str, Any]) -> list[str]:
    allowed = {"type", "name", "description", "parameters", "strict"}
    problems = _unexpected_keys("tool", definition, allowed, {"type", "name", "parameters", "strict"})
    if definition.get("type") != "function":
        problems.append("type must be 'function'")
    if not isinstance(definition.get("strict"), bool):
        problems.append("strict must be an explicit boolean")
    return problems + _openai_function(provider, definition)


def _openai_function(provider: Provider, function: Mapping[str, Any]) -> list[str]:
    problems = _name_problems(provider, function.get("name"))
    description = function.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > OPENAI_DESCRIPTION_LIMIT):
        problems.append(f"description must be a string of at most {OPENAI_DESCRIPTION_LIMIT} characters")
    parameters = function.get("parameters")
    if parameters is not None:
        problems += _json_schema_problems(parameters)
        if function.get("strict") is True:
            problems += _openai_strict_problems(parameters)
    return problems


def _openai_strict_problems(parameters: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for path, node in _schema_nodes(parameters):
        problems += [
            f"strict: {path} uses unsupported keyword {key!r}" for key in node if key not in OPENAI_STRICT_KEYWORDS
        ]
        if "format" in node and node["format"] not in OPENAI_STRICT_FORMATS:
            problems.append(f"strict: {path} uses unsupported format {node['format']!r}")
        # The openai SDK's strict-schema helper unravels a `$ref` that has siblings: strict mode takes it alone.
        if "$ref" in node and len(node) > 1:
            problems.append(f"strict: {path} has keywords beside '$ref'")
        if "object" in _types(node):
            if node.get("additionalProperties") is not False:
                problems.append(f"strict: {path} needs additionalProperties: false")
            properties = node.get("properties")
            if not isinstance(properties, Mapping) or set(node.get("required", [])) != set(properties):
                problems.append(f"strict: {path} must list every property in required")
        if (
            "$ref" not in node
            and "anyOf" not in node
            and "enum" not in node
            and "const" not in node
            and not _types(node)
        ):
            problems.append(f"strict: {path} has no type")
    return problems


def _anthropic(provider: Provider, definition: Mapping[str, Any]) -> list[str]:
    allowed = {"name", "description", "input_schema", "cache_control", "type", "strict"}
    problems = _unexpected_keys("tool", definition, allowed, {"name", "input_schema"})
    problems += _name_problems(provider, definition.get("name"))
    if definition.get("type", "custom") != "custom":
        problems.append("a custom tool's type must be 'custom' or absent")
    if "description" in definition and not isinstance(definition["description"], str):
        problems.append("description must be a string")
    schema = definition.get("input_schema")
    if not isinstance(schema, Mapping):
        return [*problems, "input_schema must be an object"]
    problems += _json_schema_problems(schema)
    problems += _key_problems(schema, ANTHROPIC_PROPERTY_KEY, "input_schema property key")
    return problems


def _bedrock(provider: Provider, definition: Mapping[str, Any]) -> list[str]:
    problems = _unexpected_keys("tool", definition, {"toolSpec"}, {"toolSpec"})
    spec = definition.get("toolSpec")
    if not isinstance(spec, Mapping):
        return [*problems, "toolSpec must be an object"]
    problems += _unexpected_keys("toolSpec", spec, {"name", "description", "inputSchema"}, {"name", "inputSchema"})
    problems += _name_problems(provider, spec.get("name"))
    description = spec.get("description")
    if not isinstance(description, str) or not description:
        problems.append("toolSpec.description must be a non-empty string")
    input_schema = spec.get("inputSchema")
    if not isinstance(input_schema, Mapping) or set(input_schema) != {"json"}:
        return [*problems, "toolSpec.inputSchema must be {'json': <schema>}"]
    return problems + _json_schema_problems(input_schema["json"])


def _chat_shape(provider: Provider, definition: Mapping[str, Any]) -> list[str]:
    problems = _unexpected_keys("tool", definition, {"type", "function"}, {"type", "function"})
    if definition.get("type") != "function":
        problems.append("type must be 'function'")
    function = definition.get("function")
    if not isinstance(function, Mapping):
        return [*problems, "function must be an object"]
    allowed = {"name", "description", "parameters"} | ({"strict"} if provider == "mistral" else set())
    problems += _unexpected_keys("function", function, allowed, {"name", "parameters"})
    problems += _name_problems(provider, function.get("name"))
    return problems + _json_schema_problems(function.get("parameters"))


def _gemini(provider: Provider, definition: Mapping[str, Any]) -> list[str]:
    allowed = {"name", "description", "parameters", "response", "behavior"}
    problems = _unexpected_keys("functionDeclaration", definition, allowed, {"name"})
    problems += _name_problems(provider, definition.get("name"))
    parameters = definition.get("parameters")
    if parameters is None:
        return problems
    if not isinstance(parameters, Mapping) or str(parameters.get("type", "")).lower() != "object":
        return [*problems, "parameters must be a schema of type object"]
    problems += _root_keyword_problems(parameters)
    problems += _key_problems(parameters, GEMINI_PARAMETER_NAME, "parameter name")
    for path, node in _gemini_nodes(parameters, "parameters"):
        problems += _gemini_node_problems(path, node)
    return problems


def _gemini_nodes(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield path, node
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            if isinstance(sub, Mapping):
                yield from _gemini_nodes(sub, f"{path}.properties[{name!r}]")
    if isinstance(node.get("items"), Mapping):
        yield from _gemini_nodes(node["items"], f"{path}.items")
    if isinstance(node.get("anyOf"), list):
        for index, sub in enumerate(node["anyOf"]):
            if isinstance(sub, Mapping):
                yield from _gemini_nodes(sub, f"{path}.anyOf[{index}]")


def _gemini_node_problems(path: str, node: Mapping[str, Any]) -> list[str]:
    problems = [f"{path}: keyword {key!r} is not in Gemini's Schema" for key in node if key not in GEMINI_KEYWORDS]
    # Vertex AI has answered "When using any_of, it must be the only field set"; a lone anyOf is always valid.
    if "anyOf" in node and len(node) > 1:
        problems.append(f"{path}: anyOf must be the only field set, found {sorted(set(node) - {'anyOf'})}")
    kind = node.get("type")
    if kind is None:
        if not isinstance(node.get("anyOf"), list) or not node["anyOf"]:
            problems.append(f"{path}: needs a type or a non-empty anyOf")
    elif not isinstance(kind, str) or kind.lower() not in GEMINI_TYPES:
        problems.append(f"{path}: type {kind!r} is not one of {sorted(GEMINI_TYPES)}")
    kind_name = kind.lower() if isinstance(kind, str) else None
    if "enum" in node:
        enum = node["enum"]
        if kind_name != "string":
            problems.append(f"{path}: enum is only allowed on string schemas")
        if not isinstance(enum, list) or not all(isinstance(value, str) for value in enum):
            problems.append(f"{path}: enum values must be strings")
        # Gemini: "enum[2]: cannot be empty".
        elif "" in enum:
            problems.append(f"{path}: enum[{enum.index('')}] cannot be empty")
    if "format" in node and node["format"] not in GEMINI_FORMATS.get(kind_name or "", set()):
        problems.append(f"{path}: format {node['format']!r} is not supported for type {kind!r}")
    if "nullable" in node and not isinstance(node["nullable"], bool):
        problems.append(f"{path}: nullable must be a boolean")
    properties = node.get("properties")
    # Gemini: "properties: should be non-empty for OBJECT type" (an absent map and an empty one are the same).
    if (properties is not None or kind_name == "object") and (not isinstance(properties, Mapping) or not properties):
        problems.append(f"{path}: properties must be a non-empty object")
    if "items" in node and not isinstance(node["items"], Mapping):
        problems.append(f"{path}: items must be one schema")
    if kind_name == "array" and "items" not in node:
        problems.append(f"{path}: array needs items")
    required = node.get("required", [])
    known = set(properties) if isinstance(properties, Mapping) else set()
    if not isinstance(required, list) or any(name not in known for name in required):
        problems.append(f"{path}: required must name declared properties")
    return problems


def _json_schema_problems(schema: Any) -> list[str]:
    """A draft 2020-12 schema (what Anthropic documents; OpenAI, Bedrock, Mistral, Cohere take JSON Schema)."""
    if not isinstance(schema, Mapping):
        return ["parameters must be a JSON Schema object"]
    problems = list(_meta_schema_errors(json.dumps(schema, sort_keys=True)))
    if schema.get("type") != "object":
        problems.append("schema root must have type 'object'")
    problems += _root_keyword_problems(schema)
    for path, node in _schema_nodes(schema):
        # OpenAI: "Invalid schema for function ...: array schema missing items".
        if "array" in _types(node) and "items" not in node:
            problems.append(f"{path}: array schema missing items")
    return problems


def _root_keyword_problems(schema: Mapping[str, Any]) -> list[str]:
    return [f"schema root must not use {keyword!r}" for keyword in ROOT_REFUSED_KEYWORDS if keyword in schema]


@functools.lru_cache(maxsize=4096)
def _meta_schema_errors(schema_json: str) -> tuple[str, ...]:
    # Checking against the 2020-12 meta-schema is slow and most providers share one schema: check each once.
    errors = _META_SCHEMA_VALIDATOR.iter_errors(json.loads(schema_json))
    return tuple(f"schema: {error.message}" for error in errors)


def _types(node: Mapping[str, Any]) -> list[str]:
    kind = node.get("type")
    return (
        [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []
    )


def _schema_nodes(node: Any, path: str = "$") -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(node, Mapping):
        return
    yield path, node
    for keyword in _SCHEMA_MAPS:
        value = node.get(keyword)
        if isinstance(value, Mapping):
            for name, sub in value.items():
                yield from _schema_nodes(sub, f"{path}.{keyword}[{name!r}]")
    for keyword in _SCHEMA_LISTS:
        value = node.get(keyword)
        if isinstance(value, list):
            for index, sub in enumerate(value):
                yield from _schema_nodes(sub, f"{path}.{keyword}[{index}]")
    for keyword in _SCHEMA_SINGLES:
        yield from _schema_nodes(node.get(keyword), f"{path}.{keyword}")


def _key_problems(schema: Mapping[str, Any], pattern: re.Pattern[str], label: str) -> list[str]:
    """Top-level property keys the provider's documented pattern rejects."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    return [f"{label} {key!r} does not match {pattern.pattern}" for key in properties if pattern.fullmatch(key) is None]
