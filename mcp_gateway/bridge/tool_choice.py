"""`tool_choice` from the OpenAI Chat Completions form to each provider's, with the tool name forward-mapped.

Accepted input: "auto", "none", "required" (and "any", Anthropic's and Mistral's word for it), the named form
``{"type": "function", "function": {"name": X}}``, and leniently ``{"type": "function", "name": X}``,
``{"type": "tool", "name": X}``, ``{"name": X}`` and Anthropic's ``{"type": "auto" | "any" | "none"}``.

Output per provider (None means "leave the field out of the request"):

- openai: the same shape; openai-responses: the strings, or ``{"type": "function", "name": X}``.
- anthropic: ``{"type": "auto" | "any" | "none"}`` or ``{"type": "tool", "name": X}``.
- gemini: a `toolConfig`: ``{"functionCallingConfig": {"mode": "AUTO" | "ANY" | "NONE"}}``; a named tool is
  ``ANY`` with ``allowedFunctionNames: [X]``.
- bedrock: a `toolChoice`: ``{"auto": {}}``, ``{"any": {}}`` or ``{"tool": {"name": X}}``. Converse has no
  "none": for "none" this returns None and the request must also leave out `toolConfig` altogether (see
  `forbids_tool_calls`), since tools without a choice let the model call them.
- mistral: "auto", "none", "any", or ``{"type": "function", "function": {"name": X}}``.
- cohere (v2): "REQUIRED" or "NONE"; "auto" is Cohere's default and is left out. Cohere cannot pin one tool,
  so a named choice becomes "REQUIRED" and the request should offer only that tool.

Names of tools outside the map (a provider-hosted tool, say) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from mcp_gateway.bridge.targets import Provider
from mcp_gateway.names import NameMap

__all__ = ["forbids_tool_calls", "map_tool_choice", "parse_tool_choice"]

Mode = Literal["auto", "none", "required", "named"]
_MODE_WORDS: dict[str, Mode] = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def parse_tool_choice(choice: str | Mapping[str, Any]) -> tuple[Mode, str | None]:
    """The mode and (for a named choice) the original tool name; ValueError for anything unrecognised."""
    if isinstance(choice, str):
        mode = _MODE_WORDS.get(choice.lower())
        if mode is None:
            raise ValueError(f"unknown tool_choice {choice!r}; expected auto, none, required or a named tool")
        return mode, None
    function = choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
    if isinstance(name, str) and name:
        return "named", name
    kind = choice.get("type")
    if isinstance(kind, str) and kind.lower() in _MODE_WORDS:
        return _MODE_WORDS[kind.lower()], None
    raise ValueError(f"unrecognised tool_choice {dict(choice)!r}; a named choice needs the tool's name")


def forbids_tool_calls(choice: str | Mapping[str, Any] | None) -> bool:
    """True for a "none" choice: providers without a "none" mode (Bedrock) must then be sent no tools at all."""
    return choice is not None and parse_tool_choice(choice)[0] == "none"


def map_tool_choice(choice: str | Mapping[str, Any] | None, provider: Provider, name_map: NameMap) -> Any:
    """`choice` in the provider's form with the tool name forward-mapped; None when the field is left out."""
    if choice is None:
        return None
    mode, original = parse_tool_choice(choice)
    name = name_map.to_target(original) if original is not None else None
    if provider == "openai":
        return {"type": "function", "function": {"name": name}} if name else mode
    if provider == "openai-responses":
        return {"type": "function", "name": name} if name else mode
    if provider == "anthropic":
        if name:
            return {"type": "tool", "name": name}
        return {"type": "any" if mode == "required" else mode}
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
    # Cohere v2
    if mode == "auto":
        return None
    return "NONE" if mode == "none" else "REQUIRED"
