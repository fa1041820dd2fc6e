"""MCP tools as each provider's tool definitions, with the per-request name map.

Wire shapes (one entry of `definitions` per MCP tool):

- openai (Chat Completions; also Groq, xAI, Ollama, vLLM):
  ``{"type": "function", "function": {"name", "description"?, "parameters", "strict"?}}``
- openai-responses: ``{"type": "function", "name", "description"?, "parameters", "strict": bool}`` — `strict`
  is always explicit because the Responses API defaults it to true.
- anthropic: ``{"name", "description"?, "input_schema": {"type": "object", ...}}``
- gemini: one function declaration ``{"name", "description"?, "parameters"?}``; the caller sends them as
  ``"tools": [{"functionDeclarations": definitions}]``. `parameters` is left out for a tool without arguments,
  as Gemini documents for parameterless functions.
- bedrock (Converse): ``{"toolSpec": {"name", "description", "inputSchema": {"json": schema}}}`` — Bedrock
  requires a non-empty description, so a tool without one is described by its title or its original name.
- mistral: the OpenAI Chat Completions shape (without `strict`).
- cohere (v2): ``{"type": "function", "function": {"name", "description"?, "parameters"}}``

Every target gets the same input schema clean-up (`schemas.normalize_input_schema`); rules its root stated that
no provider accepts there (a choice between argument sets, say) are appended to the description as one short
sentence each, under the argument names the provider sees. Top-level argument names the provider rejects are
renamed (`argument_keys`, with Gemini's stricter rule for Gemini), and Gemini asks for open-ended values as
JSON-encoded strings (`gemini_schema`); `ConvertedTools.upstream_arguments` undoes both for the call.

`strict=True` applies to OpenAI Chat Completions and Responses only. A tool whose schema has no faithful strict
form (see `strict_schema`) is sent with ``"strict": false`` and its ordinary schema instead of failing the request.

Provider-hosted tools (Anthropic's `bash_20250124` named `bash`, OpenAI's `web_search`, Bedrock system tools, ...)
are passed to `convert_tools` as `hosted`. They come back untouched in `ConvertedTools.hosted`, never in
`definitions` (for Gemini they are separate entries of `tools`, not function declarations), and their names are
reserved: an MCP tool that is also called `bash` is offered as `bash_2`. `ConvertedTools.request_tools()` puts
both together as the request's `tools` value.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types

from mcp_gateway.bridge.argument_keys import property_rule, restore_keys, safe_property_keys
from mcp_gateway.bridge.gemini_schema import ArgumentPath, decode_json_arguments, gemini_parameters
from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.schemas import JsonSchema, normalize_input_schema
from mcp_gateway.bridge.strict_arguments import drop_strict_nulls
from mcp_gateway.bridge.strict_schema import to_strict_schema
from mcp_gateway.bridge.targets import NAME_RULES, Provider
from mcp_gateway.names import NameMap

__all__ = [
    "DESCRIPTION_LIMITS",
    "TOOL_COUNT_LIMITS",
    "ConvertedTools",
    "ToolLimitError",
    "convert_tools",
    "hosted_tool_name",
    "is_hosted_tool",
    "tool_definition",
]

TOOL_COUNT_LIMITS: dict[Provider, int] = {
    # OpenAI rejects larger requests: "Invalid 'tools': array too long. Expected an array with maximum length
    # 128" (the `maxItems` of `tools` in openai/openai-openapi); the Responses API shares the limit.
    "openai": 128,
    "openai-responses": 128,
    # Gemini API: "tools[0].function_declarations: At most 512 function declarations can be specified."
    "gemini": 512,
}
"""Documented per-request tool limits. Anthropic, Bedrock, Mistral and Cohere document none."""

DESCRIPTION_LIMITS: dict[Provider, int] = {
    # OpenAI: "Invalid 'tools[n].function.description': string too long. Expected a string with maximum
    # length 1024".
    "openai": 1024,
    "openai-responses": 1024,
}
"""Documented description length caps (characters); longer descriptions are cut and end with an ellipsis."""

_ELLIPSIS = "…"


class ToolLimitError(ValueError):
    """More tools than the provider accepts in one request; raised before any request is built."""

    def __init__(self, provider: Provider, limit: int, count: int) -> None:
        super().__init__(
            f"{provider} accepts at most {limit} tools per request, but {count} were given; "
            "select fewer tools (one server, or an allow-list)"
        )
        self.provider = provider
        self.limit = limit
        self.count = count


@dataclass(frozen=True)
class ConvertedTools:
    """One request's tools in a provider's wire shape (see the module docstring), with the names used.

    `definitions` follow the order of the input tools, one per distinct tool name. For Gemini each entry is a
    function declaration; wrap them as ``[{"functionDeclarations": definitions}]`` in the request's `tools`
    (or use `request_tools`). `name_map` translates names in both directions: `to_target` for tool_choice and
    history, `to_original` for the provider's tool calls. It is never part of a definition.
    """

    provider: Provider
    definitions: list[dict[str, Any]]
    name_map: NameMap
    strict_schemas: Mapping[str, JsonSchema] = field(default_factory=dict)
    """Original input schemas of the tools offered in strict mode, by original name (see `upstream_arguments`)."""
    argument_keys: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """For tools whose top-level argument names were renamed: original tool name -> {provider key: original key}."""
    json_arguments: Mapping[str, tuple[ArgumentPath, ...]] = field(default_factory=dict)
    """For Gemini tools asking for open-ended values as JSON-encoded strings: original tool name -> where those
    values sit (property names under the provider's keys, None for each element of an array)."""
    hosted: list[dict[str, Any]] = field(default_factory=list)
    """The provider-hosted tools given to `convert_tools`, unchanged, in their order."""

    def request_tools(self) -> list[dict[str, Any]]:
        """The request's whole `tools` value: the converted definitions, then the hosted tools."""
        if self.provider == "gemini":
            declarations = [{"functionDeclarations": self.definitions}] if self.definitions else []
            return [*declarations, *self.hosted]
        return [*self.definitions, *self.hosted]

    def to_json(self) -> dict[str, Any]:
        """What the CLI export and the REST listing return: definitions plus everything needed to map back."""
        exported: dict[str, Any] = {
            "provider": self.provider,
            "tools": self.definitions,
            "name_map": {"forward": dict(self.name_map.forward), "reverse": dict(self.name_map.reverse)},
            "argument_keys": {tool: dict(keys) for tool, keys in self.argument_keys.items()},
        }
        if self.json_arguments:
            exported["json_arguments"] = {
                tool: [list(path) for path in paths] for tool, paths in self.json_arguments.items()
            }
        if self.hosted:
            exported["hosted"] = self.hosted
        return exported

    def upstream_arguments(self, original_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments to send upstream for a call the provider made: JSON-encoded values parsed, renamed
        argument keys restored, and strict-mode "left out" nulls removed."""
        decoded = decode_json_arguments(arguments, self.json_arguments.get(original_name, ()))
        restored = restore_keys(decoded, self.argument_keys.get(original_name, {}))
        schema = self.strict_schemas.get(original_name)
        return drop_strict_nulls(restored, schema) if schema is not None else restored


@dataclass(frozen=True)
class _ToolConversion:
    """One tool's definition and what it takes to map a call of it back."""

    definition: dict[str, Any]
    argument_keys: dict[str, str]
    json_arguments: tuple[ArgumentPath, ...]
    strict_schema: JsonSchema | None
    """The tool's own (normalized) schema when the definition is strict."""


def convert_tools(
    tools: Sequence[mcp_types.Tool],
    provider: Provider,
    *,
    strict: bool = False,
    hosted: Sequence[Mapping[str, Any]] = (),
) -> ConvertedTools:
    """Every tool in the provider's shape under a provider-safe, unique name; the first of duplicate names wins.

    `hosted` are the request's provider-hosted tools (see `is_hosted_tool`); their names are kept free. Passing
    a function definition there is a programming error and raises ValueError.
    """
    for definition in hosted:
        if not is_hosted_tool(definition, provider):
            raise ValueError(f"{definition!r} is not a hosted {provider} tool; pass MCP tools as `tools`")
    unique: dict[str, mcp_types.Tool] = {}
    for tool in tools:
        unique.setdefault(tool.name, tool)
    limit = TOOL_COUNT_LIMITS.get(provider)
    # Gemini's limit counts function declarations; elsewhere hosted tools share the one `tools` array.
    count = len(unique) + (0 if provider == "gemini" else len(hosted))
    if limit is not None and count > limit:
        raise ToolLimitError(provider, limit, count)
    reserved = [name for name in (hosted_tool_name(definition, provider) for definition in hosted) if name]
    name_map = build_name_map(unique, provider, reserved)
    definitions = []
    argument_keys: dict[str, dict[str, str]] = {}
    json_arguments: dict[str, tuple[ArgumentPath, ...]] = {}
    strict_schemas: dict[str, JsonSchema] = {}
    for original, tool in unique.items():
        converted = _convert_tool(tool, provider, name_map.to_target(original), strict)
        definitions.append(converted.definition)
        if converted.argument_keys:
            argument_keys[original] = converted.argument_keys
        if converted.json_arguments:
            json_arguments[original] = converted.json_arguments
        if converted.strict_schema is not None:
            strict_schemas[original] = converted.strict_schema
    return ConvertedTools(
        provider=provider,
        definitions=definitions,
        name_map=name_map,
        strict_schemas=strict_schemas,
        argument_keys=argument_keys,
        json_arguments=json_arguments,
        hosted=[copy.deepcopy(dict(definition)) for definition in hosted],
    )


def tool_definition(tool: mcp_types.Tool, provider: Provider, name: str, *, strict: bool = False) -> dict[str, Any]:
    """One tool in the provider's shape under `name`, which must already satisfy the provider's name rule.

    The definition is exactly the one `convert_tools` makes (argument names renamed, Gemini's JSON-encoded
    values), but the maps that turn a call back into the tool's own arguments come only with `convert_tools`:
    use this to show a definition, and `convert_tools` to offer tools that will be called.
    """
    return _convert_tool(tool, provider, name, strict).definition


def _convert_tool(tool: mcp_types.Tool, provider: Provider, name: str, strict: bool) -> _ToolConversion:
    if not NAME_RULES[provider].is_valid(name):
        raise ValueError(f"{name!r} is not a valid {provider} tool name; allocate it with build_name_map")
    tool_input = normalize_input_schema(tool.input_schema)
    # Renamed after normalizing, so that arguments merged into the root from allOf/anyOf are renamed too.
    schema, key_map = safe_property_keys(tool_input.schema, property_rule(provider))
    description = _description(tool, provider, tool_input.constraints({key: safe for safe, key in key_map.items()}))
    if provider == "gemini":
        parameters = gemini_parameters(schema)
        definition = _gemini_declaration(name, description, parameters.schema)
        return _ToolConversion(definition, key_map, parameters.json_encoded, None)
    definition = _definition(provider, name, description, schema, strict, tool.name)
    strict_schema = tool_input.schema if _is_strict(definition) else None
    return _ToolConversion(definition, key_map, (), strict_schema)


def _is_strict(definition: Mapping[str, Any]) -> bool:
    function = definition.get("function")
    flag = function.get("strict") if isinstance(function, Mapping) else definition.get("strict")
    return flag is True


def _definition(
    provider: Provider, name: str, description: str | None, schema: JsonSchema, strict: bool, original: str
) -> dict[str, Any]:
    if provider == "openai":
        function: dict[str, Any] = {"name": name, **_optional_description(description)}
        if strict:
            strict_parameters = to_strict_schema(schema)
            function["parameters"] = strict_parameters if strict_parameters is not None else schema
            function["strict"] = strict_parameters is not None
        else:
            function["parameters"] = schema
        return {"type": "function", "function": function}
    if provider == "openai-responses":
        strict_parameters = to_strict_schema(schema) if strict else None
        return {
            "type": "function",
            "name": name,
            **_optional_description(description),
            "parameters": strict_parameters if strict_parameters is not None else schema,
            "strict": strict_parameters is not None,
        }
    if provider == "anthropic":
        return {"name": name, **_optional_description(description), "input_schema": schema}
    if provider == "bedrock":
        spec = {"name": name, "description": description or original, "inputSchema": {"json": schema}}
        return {"toolSpec": spec}
    # Mistral and Cohere v2 both take the Chat Completions function shape.
    return {"type": "function", "function": {"name": name, **_optional_description(description), "parameters": schema}}


def is_hosted_tool(definition: Mapping[str, Any], provider: Provider) -> bool:
    """Whether `definition` is a provider-defined tool (web search, bash, code execution, ...), not a function.

    Hosted tools are passed through untouched: their names belong to the provider, not to the name map.
    """
    if provider == "anthropic":
        kind = definition.get("type")
        # Custom tools have no type (or "custom"); every Anthropic-defined tool carries a versioned type such as
        # web_search_20250305, bash_20250124 or text_editor_20250728.
        return isinstance(kind, str) and kind != "custom"
    if provider == "gemini":
        # A Gemini Tool is either function declarations or a built-in such as googleSearch or codeExecution.
        function_keys = ("name", "functionDeclarations", "function_declarations")
        return bool(definition) and not any(key in definition for key in function_keys)
    if provider == "bedrock":
        # Converse's Tool union: toolSpec (a function), systemTool or cachePoint.
        return "toolSpec" not in definition
    kind = definition.get("type")
    return isinstance(kind, str) and kind != "function"


def hosted_tool_name(definition: Mapping[str, Any], provider: Provider) -> str | None:
    """The name a hosted tool takes up among the request's tool names, when it has one.

    Anthropic's server tools and OpenAI Responses custom tools carry `name`; a Chat Completions custom tool
    carries it under `custom`; a Bedrock system tool under `systemTool`. Gemini's built-ins have no name.
    """
    name = definition.get("name")
    if isinstance(name, str):
        return name
    kind = definition.get("type")
    key = "systemTool" if provider == "bedrock" else kind if isinstance(kind, str) else None
    nested = definition.get(key) if key is not None else None
    if isinstance(nested, Mapping) and isinstance(nested.get("name"), str):
        return str(nested["name"])
    return None


def _description(tool: mcp_types.Tool, provider: Provider, constraints: str | None) -> str | None:
    text = tool.description if tool.description and tool.description.strip() else None
    if text is None:
        titles = (tool.title, tool.annotations.title if tool.annotations else None)
        text = next((title for title in titles if title and title.strip()), None)
    limit = DESCRIPTION_LIMITS.get(provider)
    if constraints is None:
        return _cut(text, limit) if text is not None else None
    if text is None:
        return _cut(constraints, limit)
    # The constraints stand in for schema keywords the provider refused, so the prose gives way to them first.
    room = None if limit is None else limit - len(constraints) - 1
    if room is not None and room <= len(_ELLIPSIS):
        return _cut(f"{text} {constraints}", limit)
    return f"{_cut(text, room)} {constraints}"


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def _optional_description(description: str | None) -> dict[str, str]:
    return {"description": description} if description is not None else {}


def _gemini_declaration(name: str, description: str | None, parameters: JsonSchema) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": name, **_optional_description(description)}
    if parameters.get("properties"):
        declaration["parameters"] = parameters
    return declaration
