"""`tool_choice` from the OpenAI Chat Completions form to each provider's, with tool names forward-mapped.

Accepted input: "auto", "none", "required" (and "any", Anthropic's and Mistral's word for it), the named form
``{"type": "function", "function": {"name": X}}``, and leniently ``{"type": "function", "name": X}``,
``{"type": "tool", "name": X}``, ``{"name": X}`` and Anthropic's ``{"type": "auto" | "any" | "none"}`` (with
its optional ``disable_parallel_tool_use``). Also OpenAI's richer forms:

- ``{"type": "allowed_tools", "allowed_tools": {"mode": "auto" | "required", "tools": [...]}}`` (Chat
  Completions) or ``{"type": "allowed_tools", "mode": ..., "tools": [...]}`` (Responses): the model may only
  call the listed tools. Function names inside are forward-mapped; other entries pass through.
- a hosted-tool choice such as ``{"type": "web_search_preview"}``, ``{"type": "file_search"}`` or
  ``{"type": "mcp", "server_label": ...}``, and a custom-tool choice ``{"type": "custom", ...}``. These name
  tools that only OpenAI has, so they pass through for OpenAI and the Responses API (a custom choice in the
  target API's form) and are refused, with a clear message, for every other provider.

Output per provider (None means "leave the field out of the request"):

- openai: the same shape; openai-responses: the strings, ``{"type": "function", "name": X}``, or the flat
  Responses `allowed_tools` form.
- anthropic: ``{"type": "auto" | "any" | "none"}`` or ``{"type": "tool", "name": X}``, with
  ``disable_parallel_tool_use`` when the choice carries it or `parallel_tool_calls=False` is passed (Anthropic
  has no `parallel_tool_calls` field; `tool_choice` is where it lives).
- gemini: a `toolConfig`: ``{"functionCallingConfig": {"mode": "AUTO" | "ANY" | "NONE"}}``; a named tool is
  ``ANY`` with ``allowedFunctionNames: [X]``, and so is a "required" `allowed_tools` list.
- bedrock: a `toolChoice`: ``{"auto": {}}``, ``{"any": {}}`` or ``{"tool": {"name": X}}``. Converse has no
  "none"; build the whole `toolConfig` with `bedrock_tool_config`, which knows when tools may be left out.
- mistral: "auto", "none", "any", or ``{"type": "function", "function": {"name": X}}``.
- cohere (v2): "REQUIRED" or "NONE"; "auto" is Cohere's default and is left out. Cohere cannot pin one tool,
  so a named choice becomes "REQUIRED" and the request must offer only that tool (`offered_definitions`).

Providers without an allow-list (all but OpenAI, and Gemini for "required") get the allow-list's mode, and
`offered_definitions` leaves the other tools out of the request. Names of tools outside the map (a
provider-hosted tool, say) pass through unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mcp_gateway.bridge.targets import Provider
from mcp_gateway.names import NameMap

__all__ = [
    "ToolChoice",
    "bedrock_tool_config",
    "forbids_tool_calls",
    "has_bedrock_tool_blocks",
    "map_tool_choice",
    "offered_definitions",
    "parallel_tool_calls_of",
    "parse_tool_choice",
    "read_tool_choice",
]

Mode = Literal["auto", "none", "required", "named"]
_MODE_WORDS: dict[str, Mode] = {"auto": "auto", "none": "none", "required": "required", "any": "required"}
# Types of the named forms this module understands; any other `type` is an OpenAI hosted tool.
_KNOWN_TYPES = frozenset({"function", "tool", "allowed_tools", "custom", *_MODE_WORDS})
_OPENAI: frozenset[Provider] = frozenset({"openai", "openai-responses"})


@dataclass(frozen=True)
class ToolChoice:
    """A `tool_choice` in any accepted form, read into one shape (see the module docstring)."""

    mode: Mode
    """For `allowed_tools`, the list's own mode ("auto" or "required"); "named" for a hosted or custom tool."""
    name: str | None = None
    """The named function tool, under the caller's name."""
    allowed: tuple[Mapping[str, Any], ...] | None = None
    """The entries of an `allowed_tools` choice, as given."""
    openai_only: Mapping[str, Any] | None = None
    """A hosted or custom tool choice, which only OpenAI and the Responses API can express."""
    disable_parallel_tool_use: bool | None = None
    """Anthropic's flag, when the choice carries it."""

    @property
    def allowed_names(self) -> tuple[str, ...]:
        """The caller's names of the function tools an `allowed_tools` choice lists."""
        names = (_entry_function_name(entry) for entry in self.allowed or ())
        return tuple(name for name in names if name is not None)


def read_tool_choice(choice: str | Mapping[str, Any]) -> ToolChoice:
    """Any accepted form of `tool_choice`; ValueError naming `tool_choice` for anything unrecognised."""
    if isinstance(choice, str):
        mode = _MODE_WORDS.get(choice.lower())
        if mode is None:
            raise ValueError(f"unknown tool_choice {choice!r}; expected auto, none, required or a named tool")
        return ToolChoice(mode)
    kind = choice.get("type")
    flag = choice.get("disable_parallel_tool_use")
    disable_parallel = flag if isinstance(flag, bool) else None
    if kind == "allowed_tools":
        return _read_allowed_tools(choice)
    if kind == "custom" or (isinstance(kind, str) and kind.lower() not in _KNOWN_TYPES):
        return ToolChoice("named", openai_only=copy.deepcopy(dict(choice)))
    function = choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
    if isinstance(name, str) and name:
        return ToolChoice("named", name=name, disable_parallel_tool_use=disable_parallel)
    if isinstance(kind, str) and kind.lower() in _MODE_WORDS:
        return ToolChoice(_MODE_WORDS[kind.lower()], disable_parallel_tool_use=disable_parallel)
    raise ValueError(f"unrecognised tool_choice {dict(choice)!r}; a named choice needs the tool's name")


def _read_allowed_tools(choice: Mapping[str, Any]) -> ToolChoice:
    # Chat Completions nests the list under `allowed_tools`; the Responses API puts it on the choice itself.
    nested = choice.get("allowed_tools")
    body = nested if isinstance(nested, Mapping) else choice
    mode, tools = body.get("mode"), body.get("tools")
    if mode not in ("auto", "required") or not isinstance(tools, Sequence) or isinstance(tools, str) or not tools:
        raise ValueError(
            f"unrecognised tool_choice {dict(choice)!r}; allowed_tools needs a mode (auto or required) and tools"
        )
    entries = tuple(copy.deepcopy(dict(entry)) for entry in tools if isinstance(entry, Mapping))
    return ToolChoice("auto" if mode == "auto" else "required", allowed=entries)


def _entry_function_name(entry: Mapping[str, Any]) -> str | None:
    if entry.get("type", "function") != "function":
        return None
    function = entry.get("function")
    name = function.get("name") if isinstance(function, Mapping) else entry.get("name")
    return name if isinstance(name, str) and name else None


def parse_tool_choice(choice: str | Mapping[str, Any]) -> tuple[Mode, str | None]:
    """The mode and (for a named choice) the original tool name; ValueError for anything unrecognised.

    An `allowed_tools` choice reads as its mode; use `read_tool_choice` for the listed tools. A hosted or
    custom tool choice has no mode or function name, so it is refused here.
    """
    read = read_tool_choice(choice)
    if read.openai_only is not None:
        raise ValueError(f"tool_choice {dict(read.openai_only)!r} names an OpenAI hosted or custom tool")
    return read.mode, read.name


def forbids_tool_calls(choice: str | Mapping[str, Any] | None) -> bool:
    """True for a "none" choice. Bedrock has no "none": see `bedrock_tool_config` for what to send then."""
    return choice is not None and read_tool_choice(choice).mode == "none"


def parallel_tool_calls_of(choice: str | Mapping[str, Any] | None) -> bool | None:
    """`parallel_tool_calls` for OpenAI and Mistral requests from an Anthropic-style choice: False when it sets
    ``disable_parallel_tool_use``, None (leave the field out) otherwise."""
    if choice is None:
        return None
    return False if read_tool_choice(choice).disable_parallel_tool_use else None


def map_tool_choice(
    choice: str | Mapping[str, Any] | None,
    provider: Provider,
    name_map: NameMap,
    *,
    parallel_tool_calls: bool | None = None,
) -> Any:
    """`choice` in the provider's form with tool names forward-mapped; None when the field is left out.

    `parallel_tool_calls` is the caller's OpenAI request field: False becomes Anthropic's
    ``disable_parallel_tool_use`` (even without a choice, as ``{"type": "auto", ...}``). Other providers take
    it as a request field of their own (OpenAI, Mistral) or have no such control, so it is ignored for them.
    """
    if choice is None:
        if provider == "anthropic" and parallel_tool_calls is False:
            return {"type": "auto", "disable_parallel_tool_use": True}
        return None
    read = read_tool_choice(choice)
    if read.openai_only is not None:
        return _openai_only(read.openai_only, provider)
    if read.allowed is not None:
        return _allowed_tools(read, provider, name_map, parallel_tool_calls)
    name = name_map.to_target(read.name) if read.name is not None else None
    return _simple(read.mode, name, provider, _disable_parallel(read, parallel_tool_calls))


def _disable_parallel(read: ToolChoice, parallel_tool_calls: bool | None) -> bool | None:
    if read.disable_parallel_tool_use is not None:
        return read.disable_parallel_tool_use
    return True if parallel_tool_calls is False else None


def _simple(mode: Mode, name: str | None, provider: Provider, disable_parallel: bool | None) -> Any:
    if provider == "openai":
        return {"type": "function", "function": {"name": name}} if name else mode
    if provider == "openai-responses":
        return {"type": "function", "name": name} if name else mode
    if provider == "anthropic":
        if mode == "none":
            # Anthropic's "none" takes no other field.
            return {"type": "none"}
        anthropic: dict[str, Any] = (
            {"type": "tool", "name": name} if name else {"type": "any" if mode == "required" else "auto"}
        )
        if disable_parallel is not None:
            anthropic["disable_parallel_tool_use"] = disable_parallel
        return anthropic
    if provider == "gemini":
        if name:
            return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
        return {"functionCallingConfig": {"mode": "ANY" if mode == "required" else mode.upper()}}
    if provider == "bedrock":
        if name:
            return {"tool": {"name": name}}
        return None if mode == "none" else {"any": {}} if mode == "required" else {"auto": {}}
    if provider == "mistral":
        if name:
            return {"type": "function", "function": {"name": name}}
        return "any" if mode == "required" else mode
    # Cohere v2: named choices are REQUIRED plus `offered_definitions`.
    if mode == "auto":
        return None
    return "NONE" if mode == "none" else "REQUIRED"


def _openai_only(choice: Mapping[str, Any], provider: Provider) -> dict[str, Any]:
    if provider not in _OPENAI:
        raise ValueError(
            f"tool_choice {dict(choice)!r} names an OpenAI hosted or custom tool, which {provider} does not have"
        )
    passed = copy.deepcopy(dict(choice))
    if passed.get("type") != "custom":
        return passed
    # Custom tools are not MCP tools, so their names stay; only the shape differs between the two APIs.
    nested = passed.get("custom")
    name = nested.get("name") if isinstance(nested, Mapping) else passed.get("name")
    return {"type": "custom", "custom": {"name": name}} if provider == "openai" else {"type": "custom", "name": name}


def _allowed_tools(read: ToolChoice, provider: Provider, name_map: NameMap, parallel_tool_calls: bool | None) -> Any:
    entries = read.allowed or ()
    if provider in _OPENAI:
        tools = [_allowed_entry(entry, provider, name_map) for entry in entries]
        if provider == "openai":
            return {"type": "allowed_tools", "allowed_tools": {"mode": read.mode, "tools": tools}}
        return {"type": "allowed_tools", "mode": read.mode, "tools": tools}
    foreign = [dict(entry) for entry in entries if _entry_function_name(entry) is None]
    if foreign:
        raise ValueError(f"allowed_tools entries {foreign!r} name OpenAI hosted tools, which {provider} does not have")
    names = [name_map.to_target(name) for name in read.allowed_names]
    if provider == "gemini" and read.mode == "required":
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": names}}
    # One required tool is exactly a named choice; otherwise the mode, with the others left out of the request.
    single = names[0] if read.mode == "required" and len(names) == 1 else None
    return _simple("named" if single else read.mode, single, provider, _disable_parallel(read, parallel_tool_calls))


def _allowed_entry(entry: Mapping[str, Any], provider: Provider, name_map: NameMap) -> dict[str, Any]:
    original = _entry_function_name(entry)
    if original is None:
        return copy.deepcopy(dict(entry))
    name = name_map.to_target(original)
    return (
        {"type": "function", "function": {"name": name}} if provider == "openai" else {"type": "function", "name": name}
    )


def offered_definitions(
    definitions: Sequence[Mapping[str, Any]],
    choice: str | Mapping[str, Any] | None,
    provider: Provider,
    name_map: NameMap,
) -> list[Mapping[str, Any]]:
    """The tool definitions to send with `choice`: all of them, unless the provider cannot restrict the model to
    the tools the choice names, in which case only those (a named choice for Cohere; an `allowed_tools` list for
    every provider but OpenAI). Definitions are returned as given, never copied or changed; entries without a
    name (a Bedrock cachePoint, a Gemini built-in) are always kept.
    """
    if choice is None or provider in _OPENAI:
        return list(definitions)
    read = read_tool_choice(choice)
    if read.allowed is not None:
        originals: tuple[str, ...] = read.allowed_names
    elif provider == "cohere" and read.name is not None:
        originals = (read.name,)
    else:
        return list(definitions)
    keep = {name_map.to_target(original) for original in originals}
    return [definition for definition in definitions if _definition_name(definition, provider) in (*keep, None)]


def _definition_name(definition: Mapping[str, Any], provider: Provider) -> str | None:
    if provider == "bedrock":
        spec = definition.get("toolSpec") or definition.get("systemTool")
        name = spec.get("name") if isinstance(spec, Mapping) else None
    else:
        function = definition.get("function")
        name = function.get("name") if isinstance(function, Mapping) else definition.get("name")
    return name if isinstance(name, str) else None


def has_bedrock_tool_blocks(messages: Sequence[Mapping[str, Any]]) -> bool:
    """Whether Converse messages carry a toolUse or toolResult block (then `toolConfig` is mandatory)."""
    return any(
        isinstance(block, Mapping) and ("toolUse" in block or "toolResult" in block)
        for message in messages
        for block in (message.get("content") or [])
    )


def bedrock_tool_config(
    definitions: Sequence[Mapping[str, Any]],
    choice: str | Mapping[str, Any] | None,
    name_map: NameMap,
    *,
    history_has_tools: bool,
) -> dict[str, Any] | None:
    """The Converse `toolConfig` for a request, or None when the request must leave it out.

    Converse has no "none". Without tool blocks in the history, "none" is enforced by sending no tools. With
    them, Bedrock refuses a request without `toolConfig` ("The toolConfig field must be defined when using
    toolUse and toolResult content blocks", Converse API reference), so the tools are sent without a
    `toolChoice` and "none" is NOT enforced: the model may still call a tool. `history_has_tools` is
    `has_bedrock_tool_blocks` of the converted messages. ValueError when the history has tool blocks but no
    tool is offered, since Bedrock requires at least one tool in `toolConfig.tools`.
    """
    offered = offered_definitions(definitions, choice, "bedrock", name_map)
    forbidden = forbids_tool_calls(choice)
    if forbidden and not history_has_tools:
        return None
    if not offered:
        if history_has_tools:
            raise ValueError(
                "Bedrock requires toolConfig with at least one tool when the conversation has toolUse or "
                "toolResult blocks; offer the tools the conversation called"
            )
        return None
    config: dict[str, Any] = {"tools": [copy.deepcopy(dict(definition)) for definition in offered]}
    tool_choice = None if forbidden else map_tool_choice(choice, "bedrock", name_map)
    if tool_choice is not None:
        config["toolChoice"] = tool_choice
    return config
