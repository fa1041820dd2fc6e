"""Reading an Anthropic Messages request (`POST /v1/messages`) into what the tool loop takes.

The loop keeps its conversation in the OpenAI Chat shape (see `mcp_gateway.llm.loop`), so this module turns the
Anthropic request into that shape; the provider clients turn it into whatever their provider speaks, Anthropic
included. What maps where:

- `system` (a string or text blocks) becomes a system message, and so does a `system` message in the conversation
  (Claude Code sends them); `messages` become user, assistant and tool messages:
  `tool_result` blocks become tool messages (before the rest of their user turn, where Anthropic requires them),
  `tool_use` blocks tool calls, images data or plain URLs (an OpenAI model gets the images of a tool result in
  the user message after it: its tool messages hold text only), `thinking` blocks the bridge's `thinking_blocks`.
  A previous answer of this door sent back as it came (`mcp_tool_use` and `mcp_tool_result` blocks in an
  assistant turn) becomes the calls and tool results it stands for.
- `tools` without a type (or `"custom"`) are the caller's own: the model may call them, the gateway never runs them.
  Anthropic's server tools (`web_search_…`, `bash_…`) pass to Anthropic untouched.
- The MCP connector: `mcp_servers: [{"type": "url", "url", "name", "authorization_token", "tool_configuration":
  {"enabled", "allowed_tools"}}]`, or the newer form where `tools` holds `{"type": "mcp_toolset", "mcp_server_name",
  "default_config": {"enabled"}, "configs": {tool: {"enabled"}}}` per server. `url` names an MCP endpoint of this
  gateway, written as an `mcp` tool's `server_url` is (see `mcp_gateway.llm.toolset`); the connector has no
  approvals, so the gateway runs every call. `authorization_token` is the caller's credential for that server, sent
  only to it (as `x-mcp-{server}-authorization` would be); a copy of the gateway key itself is never forwarded.
- `tool_choice` `auto | any | tool | none` and `disable_parallel_tool_use`; `max_tokens` (required, as Anthropic
  requires it), `stop_sequences`, `temperature`, `top_p`, `top_k`, `metadata` and `thinking` become the provider's
  equivalents (Anthropic-only fields reach Anthropic models only).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types

from mcp_gateway.auth.principal import Principal
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.models import ProviderConfig
from mcp_gateway.llm.toolset import McpTool, RequestTools, expand_mcp_tool
from mcp_gateway.registry import Registry

logger = logging.getLogger(__name__)

Json = dict[str, Any]

# Fields only Anthropic understands, dropped (with a debug line) for other providers.
_ANTHROPIC_ONLY = ("top_k", "thinking", "service_tier")
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


@dataclass(frozen=True)
class MessagesTools:
    tools: RequestTools
    tool_choice: str | Json | None
    parallel_tool_calls: bool | None
    credentials: dict[str, str]
    """Per gateway server, the caller's own credential for it, from the connector's authorization_token."""


def _fail(message: str, param: str | None = None) -> RequestError:
    return RequestError(400, message, param=param)


# --- the conversation ---------------------------------------------------------------------------------------------


def conversation(system: object, messages: object, *, media_in_tool_results: bool = True) -> list[Json]:
    """The Anthropic `system` and `messages` as an OpenAI Chat conversation. Without `media_in_tool_results`, the
    images a tool result holds (Claude Code's Read of a picture, say) follow it in a user message instead."""
    converted: list[Json] = []
    if system is not None:
        converted.append({"role": "system", "content": _system_text(system)})
    if not isinstance(messages, list) or not messages:
        raise _fail("messages: a non-empty list of messages is required", "messages")
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, Mapping):
            raise _fail(f"{where}: must be an object", where)
        role, content = message.get("role"), message.get("content")
        if role == "system":
            # Mid-conversation system messages (Claude Code sends them, under a beta): where they stand.
            converted.append({"role": "system", "content": _system_text(content, f"{where}.content")})
            continue
        blocks = _blocks(content, f"{where}.content")
        if role == "user":
            converted.extend(_user_turn(blocks, where, media_in_tool_results))
        elif role == "assistant":
            converted.extend(_assistant_turn(blocks, where))
        else:
            raise _fail(f"{where}.role: Input should be 'user', 'assistant' or 'system'", f"{where}.role")
    return converted


def _blocks(content: object, where: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(block, Mapping) and "type" in block for block in content):
        raise _fail(f"{where}: must be a string or a list of content blocks with a type", where)
    return content


def _system_text(system: object, where: str = "system") -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list) and all(isinstance(block, Mapping) and block.get("type") == "text"
                                        and isinstance(block.get("text"), str) for block in system):
        return "\n\n".join(block["text"] for block in system)
    raise _fail(f"{where}: must be a string or a list of text blocks", where)


def _image_part(block: Mapping[str, Any], where: str) -> Json:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, Mapping) else None
    if kind == "base64" and isinstance(source, Mapping):
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif kind == "url" and isinstance(source, Mapping) and isinstance(source.get("url"), str):
        url = source["url"]
    else:
        raise _fail(f"{where}.source: an image needs a base64 or url source", f"{where}.source")
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: Mapping[str, Any], where: str) -> Json:
    source = block.get("source")
    if isinstance(source, Mapping) and source.get("type") == "base64":
        data_url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        return {"type": "file", "file": {"file_data": data_url, "filename": str(block.get("title") or "document")}}
    if isinstance(source, Mapping) and source.get("type") == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    # Other sources (url, content, file) have no OpenAI equivalent: Anthropic takes the block as written.
    return dict(block)


def _user_part(block: Mapping[str, Any], where: str) -> Json:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise _fail(f"{where}.text: must be a string", f"{where}.text")
        return {"type": "text", "text": text}
    if kind == "image":
        return _image_part(block, where)
    if kind == "document":
        return _document_part(block, where)
    return dict(block)


def _tool_result(block: Mapping[str, Any], where: str) -> Json:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise _fail(f"{where}.tool_use_id: Field required", f"{where}.tool_use_id")
    content = block.get("content")
    result: str | list[Json]
    if content is None or isinstance(content, str):
        result = content or ""
    else:
        parts = [_user_part(part, f"{where}.content.{i}") for i, part in enumerate(_blocks(content, where))]
        texts = [part["text"] for part in parts if part.get("type") == "text"]
        result = "".join(texts) if len(texts) == len(parts) else parts
    message: Json = {"role": "tool", "tool_call_id": call_id, "content": result}
    if block.get("is_error") is True:
        message["is_error"] = True
    return message


def _user_turn(blocks: list[Mapping[str, Any]], where: str, media_in_tool_results: bool) -> list[Json]:
    results: list[Json] = []
    parts: list[Json] = []
    for index, block in enumerate(blocks):
        if block.get("type") == "tool_result":
            results.append(_tool_result(block, f"{where}.content.{index}"))
        else:
            parts.append(_user_part(block, f"{where}.content.{index}"))
    if not media_in_tool_results:
        parts = [*_media_out_of(results), *parts]
    if not parts:
        return results
    if all(part.get("type") == "text" for part in parts):
        return [*results, {"role": "user", "content": "".join(part["text"] for part in parts)}]
    return [*results, {"role": "user", "content": parts}]


def _media_out_of(results: list[Json]) -> list[Json]:
    """Images and documents of tool results, taken out (the results keep their text) to follow them in the user
    turn, for providers whose tool messages carry text only (OpenAI's Chat Completions)."""
    moved: list[Json] = []
    for result in results:
        content = result["content"]
        if isinstance(content, str):
            continue
        texts = [part["text"] for part in content if part.get("type") == "text"]
        media = [part for part in content if part.get("type") != "text"]
        result["content"] = "".join(texts) or "(the result is the media in the next user message)"
        moved += [{"type": "text", "text": f"[media returned by tool call {result['tool_call_id']}]"}, *media]
    return moved


class _AssistantTurn:
    """An assistant turn's blocks as assistant messages and the tool results between them: a turn of this door's
    answers holds several model rounds, each closed by the `mcp_tool_result` blocks of its calls."""

    def __init__(self) -> None:
        self.messages: list[Json] = []
        self.texts: list[str] = []
        self.parts: list[Json] = []
        self.calls: list[Json] = []
        self.thinking: list[Json] = []

    def add(self, block: Mapping[str, Any], where: str) -> None:
        kind = block.get("type")
        if kind == "mcp_tool_result":
            self._close_round()
            self.messages.append(_tool_result(block, where))
            return
        if kind == "text" and isinstance(block.get("text"), str):
            self.texts.append(block["text"])
        elif kind in ("tool_use", "mcp_tool_use"):
            call_id, name, arguments = block.get("id"), block.get("name"), block.get("input", {})
            if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(arguments, Mapping):
                raise _fail(f"{where}: a {kind} block needs an id, a name and an input object", where)
            self.calls.append({"id": call_id, "type": "function",
                               "function": {"name": name, "arguments": _json(arguments)}})
        elif kind in ("thinking", "redacted_thinking"):
            self.thinking.append(dict(block))
        else:
            self.parts.append(dict(block))

    def _close_round(self) -> None:
        if not (self.texts or self.parts or self.calls or self.thinking):
            return
        text = "".join(self.texts)
        content: str | list[Json] | None = text or None
        if self.parts:
            content = [*([{"type": "text", "text": text}] if text else []), *self.parts]
        message: Json = {"role": "assistant", "content": content}
        if self.calls:
            message["tool_calls"] = self.calls
        if self.thinking:
            message["thinking_blocks"] = self.thinking
        self.messages.append(message)
        self.texts, self.parts, self.calls, self.thinking = [], [], [], []

    def finish(self) -> list[Json]:
        self._close_round()
        return self.messages


def _assistant_turn(blocks: list[Mapping[str, Any]], where: str) -> list[Json]:
    turn = _AssistantTurn()
    for index, block in enumerate(blocks):
        turn.add(block, f"{where}.content.{index}")
    return turn.finish()


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- tools and the MCP connector ----------------------------------------------------------------------------------


def _caller_tool(entry: Mapping[str, Any], where: str) -> mcp_types.Tool:
    name, schema, description = entry.get("name"), entry.get("input_schema"), entry.get("description")
    if not isinstance(name, str) or not name:
        raise _fail(f"{where}.name: Field required", f"{where}.name")
    if not isinstance(schema, Mapping):
        raise _fail(f"{where}.input_schema: Field required (a JSON Schema object)", f"{where}.input_schema")
    return mcp_types.Tool(name=name, description=description if isinstance(description, str) else None,
                          input_schema=dict(schema))


def _connectors(servers: object) -> list[tuple[Json, str]]:
    """`mcp_servers` as (entry, where), each checked for the fields Anthropic requires."""
    if servers is None:
        return []
    if not isinstance(servers, list):
        raise _fail("mcp_servers: must be a list", "mcp_servers")
    seen: set[str] = set()
    checked = []
    for index, entry in enumerate(servers):
        where = f"mcp_servers.{index}"
        if not isinstance(entry, Mapping) or entry.get("type") != "url":
            raise _fail(f"{where}.type: Input should be 'url'", f"{where}.type")
        name, url = entry.get("name"), entry.get("url")
        if not isinstance(name, str) or not name:
            raise _fail(f"{where}.name: Field required", f"{where}.name")
        if not isinstance(url, str) or not url:
            raise _fail(f"{where}.url: Field required", f"{where}.url")
        if name in seen:
            raise _fail(f"{where}.name: MCP server name {name!r} is used more than once", f"{where}.name")
        seen.add(name)
        checked.append((dict(entry), where))
    return checked


def _toolsets(tools: list[Mapping[str, Any]], names: Collection[str]) -> dict[str, tuple[Mapping[str, Any], str]]:
    """The `mcp_toolset` entries of `tools` by the server they configure."""
    toolsets: dict[str, tuple[Mapping[str, Any], str]] = {}
    for index, entry in enumerate(tools):
        if entry.get("type") != "mcp_toolset":
            continue
        where = f"tools.{index}"
        server = entry.get("mcp_server_name")
        if server not in names:
            raise _fail(f"{where}.mcp_server_name: {server!r} names no server of mcp_servers",
                        f"{where}.mcp_server_name")
        if server in toolsets:
            raise _fail(f"{where}: more than one mcp_toolset for MCP server {server!r}", where)
        toolsets[str(server)] = (entry, where)
    return toolsets


def _enabled(config: object, default: bool, where: str) -> bool:
    if config is None:
        return default
    enabled = config.get("enabled", default) if isinstance(config, Mapping) else None
    if not isinstance(enabled, bool):
        raise _fail(f"{where}.enabled: must be a boolean", f"{where}.enabled")
    return enabled


def _connector_tools(entry: Json, where: str, toolset: tuple[Mapping[str, Any], str] | None, registry: Registry,
                     principal: Principal, own_origins: Collection[str]) -> list[McpTool]:
    """The tools one connector offers, under the names its URL's endpoint lists."""
    configuration = entry.get("tool_configuration")
    if configuration is not None and not isinstance(configuration, Mapping):
        raise _fail(f"{where}.tool_configuration: must be an object", f"{where}.tool_configuration")
    configuration = configuration or {}
    if not _enabled(configuration, True, f"{where}.tool_configuration"):
        return []
    as_mcp_tool: Json = {"type": "mcp", "server_label": entry["name"], "server_url": entry["url"],
                         "require_approval": "never", "allowed_tools": configuration.get("allowed_tools")}
    try:
        tools = expand_mcp_tool(as_mcp_tool, where, registry, principal, own_origins)
    except RequestError as error:
        # The toolset module names the fields of an `mcp` tool; the caller wrote the connector's.
        message = error.message.replace(f"{where}.server_url", f"{where}.url").replace(
            f"{where}.allowed_tools", f"{where}.tool_configuration.allowed_tools")
        raise RequestError(error.status, message, param=where, code=error.code) from error
    if toolset is None:
        return tools
    settings, toolset_where = toolset
    default = _enabled(settings.get("default_config"), True, f"{toolset_where}.default_config")
    configs = settings.get("configs") or {}
    if not isinstance(configs, Mapping):
        raise _fail(f"{toolset_where}.configs: must be an object of tool names", f"{toolset_where}.configs")
    offered = {tool.name for tool in tools}
    for name in configs:
        if name not in offered:
            raise _fail(f"{toolset_where}.configs: {name!r} is no tool of MCP server {entry['name']!r}",
                        f"{toolset_where}.configs")
    return [tool for tool in tools
            if _enabled(configs.get(tool.name), default, f"{toolset_where}.configs.{tool.name}")]


def read_tools(body: Mapping[str, Any], registry: Registry, principal: Principal, own_origins: Collection[str],
               presented_key: str | None) -> MessagesTools:
    """The request's tools, connector servers expanded; the tool choice in the OpenAI shape."""
    tools = body.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(entry, Mapping) for entry in tools):
        raise _fail("tools: must be a list of tool objects", "tools")
    connectors = _connectors(body.get("mcp_servers"))
    toolsets = _toolsets(tools, {entry["name"] for entry, _ in connectors})
    mcp: dict[str, McpTool] = {}
    functions: list[mcp_types.Tool] = []
    hosted: list[Json] = []
    taken: dict[str, str] = {}
    credentials: dict[str, str] = {}

    def claim(name: str, where: str) -> None:
        if name in taken:
            raise _fail(f"tool name {name!r} of {where} is also offered by {taken[name]}; leave one out with "
                        "allowed_tools (or an mcp_toolset config)", where)
        taken[name] = where

    for entry, where in connectors:
        toolset = toolsets.get(entry["name"])
        if toolsets and toolset is None:
            continue  # In the newer form a server offers tools only through its mcp_toolset.
        offered = _connector_tools(entry, where, toolset, registry, principal, own_origins)
        for tool in offered:
            claim(tool.name, where)
            mcp[tool.name] = tool
        credentials.update(_credential(entry, where, offered, presented_key))
    for index, entry in enumerate(tools):
        where, kind = f"tools.{index}", entry.get("type")
        if kind == "mcp_toolset":
            continue
        if kind in (None, "custom"):
            function = _caller_tool(entry, where)
            claim(function.name, where)
            functions.append(function)
        else:
            hosted.append(dict(entry))
    choice, parallel = _tool_choice(body.get("tool_choice"))
    # No definitions "as written" for OpenAI: these were written for Anthropic (descriptions past OpenAI's 1024
    # characters, say), so every provider gets the bridge's conversion.
    return MessagesTools(RequestTools(mcp, functions, {}, hosted), choice, parallel, credentials)


def _credential(entry: Json, where: str, tools: Collection[McpTool], presented_key: str | None) -> dict[str, str]:
    """The connector's authorization_token as the credential of the one server whose tools it offers. A copy of the
    gateway key the request came with is never forwarded; a token for several servers is refused, since a credential
    meant for one server must never reach another."""
    token = entry.get("authorization_token")
    if token is None:
        return {}
    if not isinstance(token, str) or not token:
        raise _fail(f"{where}.authorization_token: must be a non-empty string", f"{where}.authorization_token")
    if presented_key is not None and hmac.compare_digest(token.encode(), presented_key.encode()):
        return {}
    servers = {tool.registered.server for tool in tools}
    if not servers:
        return {}
    if len(servers) != 1:
        raise _fail(f"{where}.authorization_token: a token for every server of this gateway is ambiguous; name one "
                    "server in the url (/mcp/{server}) or send the gateway key as x-api-key",
                    f"{where}.authorization_token")
    # Anthropic sends the token as a bearer token; the upstream gets the same Authorization header.
    return {servers.pop(): f"Bearer {token}"}


def _tool_choice(choice: object) -> tuple[str | Json | None, bool | None]:
    if choice is None:
        return None, None
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if not isinstance(choice, Mapping) or kind not in (*_TOOL_CHOICES, "tool"):
        raise _fail("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", "tool_choice")
    disable = choice.get("disable_parallel_tool_use")
    parallel = None if disable is None else not bool(disable)
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise _fail("tool_choice.name: Field required", "tool_choice.name")
        return {"type": "function", "function": {"name": name}}, parallel
    return _TOOL_CHOICES[str(kind)], parallel


# --- the other request fields -------------------------------------------------------------------------------------


def provider_params(body: Mapping[str, Any], provider: ProviderConfig) -> Json:
    """Sampling and limit fields in the OpenAI shape the provider clients map, for `provider`."""
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _fail("max_tokens: Field required (a positive integer)", "max_tokens")
    # Real OpenAI models answer max_tokens with a 400 on reasoning models; compatible servers know max_tokens.
    limit = "max_completion_tokens" if provider.name == "openai" else "max_tokens"
    params: Json = {limit: max_tokens}
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            params[name] = body[name]
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
            raise _fail("stop_sequences: must be a list of strings", "stop_sequences")
        if stops:
            params["stop"] = stops
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise _fail("metadata: must be an object", "metadata")
    anthropic = provider.protocol == "anthropic"
    if metadata:
        if anthropic:
            params["metadata"] = dict(metadata)
        elif isinstance(metadata.get("user_id"), str):
            params["user"] = metadata["user_id"]
    for name in _ANTHROPIC_ONLY:
        if body.get(name) is None:
            continue
        if anthropic:
            params[name] = body[name]
        else:
            logger.debug("%s models have no equivalent of request field '%s'; not sent", provider.protocol, name)
    return params
