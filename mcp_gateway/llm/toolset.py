"""A request's tools: `{"type": "mcp"}` entries expanded into the registry tools they stand for, next to the
caller's own function tools.

An mcp tool has the shape OpenAI's Responses API uses:

    {"type": "mcp", "server_label": "github", "server_url": "mcp_gateway/mcp/github",
     "allowed_tools": ["repos_get"], "require_approval": "never"}

`server_url` names a server of this gateway: `mcp_gateway/mcp/{server}`, `/mcp/{server}`, or the gateway's own
absolute URL; without `/{server}` it means every server. Without `server_url`, `server_label` names the server.
Tools carry the names that endpoint lists (`repos_get` under `/mcp/github`, `github-repos_get` under `/mcp`), and
`allowed_tools` selects among those names (shell-style globs allowed). `require_approval` is "always" (the default,
as in OpenAI's API), "never", or `{"never": {"tool_names": [...]}}` / `{"always": {"tool_names": [...]}}`.
Only servers and tools the request's principal may see are expanded; the gateway never fetches any other URL.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import mcp_types

from mcp_gateway.auth.principal import Principal
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.registry import RegisteredTool, Registry

SYMBOLIC_PREFIX = "mcp_gateway/"


@dataclass(frozen=True)
class McpTool:
    """A registry tool offered to the model under `name`, the name its endpoint lists."""

    name: str
    registered: RegisteredTool
    needs_approval: bool
    label: str

    def as_tool(self) -> mcp_types.Tool:
        return self.registered.definition.model_copy(update={"name": self.name})


@dataclass(frozen=True)
class RequestTools:
    """Everything a request offers the model, under the names the caller and the model use."""

    mcp: Mapping[str, McpTool]
    functions: Sequence[mcp_types.Tool]
    """The caller's own function tools: the model may call them, the gateway never runs them."""
    function_definitions: Mapping[str, Mapping[str, Any]]
    """The caller's function tools as written (OpenAI's shape), by name: what OpenAI-protocol providers get."""
    hosted: Sequence[Mapping[str, Any]]
    """Provider-hosted tools (OpenAI `custom`, `web_search`, ...), passed through untouched."""

    def offered(self) -> list[mcp_types.Tool]:
        return [*(tool.as_tool() for tool in self.mcp.values()), *self.functions]


def _approval(value: object, where: str) -> tuple[bool, frozenset[str]]:
    """(the default, the names that go the other way)."""
    if value is None or value == "always":
        return True, frozenset()
    if value == "never":
        return False, frozenset()
    if isinstance(value, Mapping) and set(value) <= {"always", "never"}:
        names: dict[str, frozenset[str]] = {}
        for key in ("always", "never"):
            entry = value.get(key) or {}
            listed = entry.get("tool_names", []) if isinstance(entry, Mapping) else None
            if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
                raise RequestError(400, f"{where}.{key}.tool_names must be a list of tool names", param=where)
            names[key] = frozenset(listed)
        # Listed "never" tools run freely and everything else needs approval, unless only "always" is listed.
        if names["never"]:
            return True, names["never"] - names["always"]
        return False, names["always"]
    raise RequestError(
        400, f"{where} must be 'always', 'never', or {{'never': {{'tool_names': [...]}}}}", param=where
    )


def _server_of(entry: Mapping[str, Any], where: str, own_origins: Collection[str]) -> str | None:
    """The server an mcp tool names (None: every server); a 400 for a URL that is not this gateway."""
    url = entry.get("server_url")
    if url is None:
        label = entry.get("server_label")
        if not isinstance(label, str) or not label:
            raise RequestError(400, f"{where} needs a server_url (or a server_label naming a server)", param=where)
        return label
    if not isinstance(url, str) or not url:
        raise RequestError(400, f"{where}.server_url must be a non-empty string", param=f"{where}.server_url")
    path = url
    if url.startswith(SYMBOLIC_PREFIX):
        path = "/" + url.removeprefix(SYMBOLIC_PREFIX)
    elif "://" in url:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}".lower() not in own_origins:
            raise RequestError(
                400,
                f"{where}.server_url {url!r} is not this gateway; remote MCP servers are not fetched (add them to "
                "servers.json instead)",
                param=f"{where}.server_url",
            )
        path = parts.path
    segments = [segment for segment in path.split("/") if segment]
    if not segments or segments[0] != "mcp" or len(segments) > 2:
        raise RequestError(
            400,
            f"{where}.server_url {url!r} is not an MCP endpoint of this gateway; use mcp_gateway/mcp/{{server}}, "
            "/mcp/{server} or this gateway's URL",
            param=f"{where}.server_url",
        )
    return segments[1] if len(segments) == 2 else None


def _allowed(entry: Mapping[str, Any], where: str) -> tuple[str, ...] | None:
    allowed = entry.get("allowed_tools")
    if isinstance(allowed, Mapping):
        allowed = allowed.get("tool_names")
    if allowed is None:
        return None
    if not isinstance(allowed, list) or not all(isinstance(name, str) for name in allowed):
        raise RequestError(400, f"{where}.allowed_tools must be a list of tool names", param=f"{where}.allowed_tools")
    return tuple(allowed)


def expand_mcp_tool(
    entry: Mapping[str, Any], where: str, registry: Registry, principal: Principal, own_origins: Collection[str]
) -> list[McpTool]:
    server = _server_of(entry, where, own_origins)
    if server is not None and (not registry.has_server(server) or not principal.sees_server(server)):
        known = [name for name in registry.server_names() if principal.sees_server(name)]
        raise RequestError(400, f"{where}: unknown server {server!r}; this gateway serves: {', '.join(known)}",
                           param=f"{where}.server_url")
    candidates = [
        tool for tool in registry.registered(server)
        if principal.sees_tool(tool.server, tool.server_name)
    ]
    if not candidates:
        if server is None:
            raise RequestError(503, f"{where}: no server of this gateway has tools this caller may use",
                               code="mcp_server_unavailable")
        health = next(status.health for status in registry.servers() if status.name == server)
        detail = f": {health.detail}" if health.detail else ""
        raise RequestError(
            503, f"{where}: server {server!r} has no tools to offer (it is {health.state}{detail})",
            code="mcp_server_unavailable",
        )
    named = [(tool.server_name if server is not None else tool.gateway_name, tool) for tool in candidates]
    allowed = _allowed(entry, where)
    if allowed is not None:
        for pattern in allowed:
            if not any(fnmatch.fnmatchcase(name, pattern) for name, _ in named):
                raise RequestError(
                    400, f"{where}.allowed_tools: {pattern!r} matches no tool of "
                    f"{'server ' + repr(server) if server else 'this gateway'}",
                    param=f"{where}.allowed_tools",
                )
        named = [(name, tool) for name, tool in named if any(fnmatch.fnmatchcase(name, p) for p in allowed)]
    default, exceptions = _approval(entry.get("require_approval"), f"{where}.require_approval")
    label = entry.get("server_label") if isinstance(entry.get("server_label"), str) else server or "mcp_gateway"
    return [McpTool(name, tool, default != (name in exceptions), str(label)) for name, tool in named]


def _function_tool(entry: Mapping[str, Any], where: str) -> mcp_types.Tool:
    function = entry.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str) or not function["name"]:
        raise RequestError(400, f"{where}.function.name is required", param=f"{where}.function")
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise RequestError(400, f"{where}.function.parameters must be a JSON Schema object", param=where)
    schema = dict(parameters) if parameters else {"type": "object", "properties": {}}
    description = function.get("description")
    return mcp_types.Tool(
        name=function["name"],
        description=description if isinstance(description, str) else None,
        input_schema=schema,
    )


@dataclass(frozen=True)
class UnavailableServer:
    """An mcp tool whose server cannot offer tools now (down, or nothing this caller may use)."""

    label: str
    message: str


def read_tools(
    tools: object, registry: Registry, principal: Principal, own_origins: Collection[str],
    *, unavailable: list[UnavailableServer] | None = None,
) -> RequestTools:
    """The request's `tools` read and expanded; RequestError names the entry at fault. With `unavailable`, an mcp
    tool whose server cannot offer tools is noted there and left out instead of failing the request (the 503)."""
    if tools is None:
        return RequestTools({}, [], {}, [])
    if not isinstance(tools, list):
        raise RequestError(400, "tools must be an array", param="tools")
    mcp: dict[str, McpTool] = {}
    functions: list[mcp_types.Tool] = []
    function_definitions: dict[str, Mapping[str, Any]] = {}
    hosted: list[Mapping[str, Any]] = []
    taken: dict[str, str] = {}

    def claim(name: str, where: str) -> None:
        if name in taken:
            raise RequestError(400, f"tool name {name!r} of {where} is also offered by {taken[name]}; narrow one of "
                               "them with allowed_tools", param=where)
        taken[name] = where

    for index, entry in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(entry, Mapping):
            raise RequestError(400, f"{where} must be an object", param=where)
        kind = entry.get("type")
        if kind == "mcp":
            try:
                expanded = expand_mcp_tool(entry, where, registry, principal, own_origins)
            except RequestError as error:
                if unavailable is None or error.status != 503:
                    raise
                label = entry.get("server_label")
                unavailable.append(UnavailableServer(label if isinstance(label, str) else "mcp_gateway", error.message))
                continue
            for tool in expanded:
                claim(tool.name, where)
                mcp[tool.name] = tool
        elif kind == "function":
            function = _function_tool(entry, where)
            claim(function.name, where)
            functions.append(function)
            function_definitions[function.name] = entry
        else:
            hosted.append(entry)
    return RequestTools(mcp, functions, function_definitions, hosted)


def mcp_tool_credentials(tools: object, expanded: RequestTools) -> dict[str, str]:
    """The `Authorization` header of each mcp tool, as the caller's credential for the servers it reaches (used by
    servers configured with `forwardUserAuthorization`, as the `x-mcp-{server}-authorization` header is)."""
    credentials: dict[str, str] = {}
    for index, entry in enumerate(tools if isinstance(tools, list) else []):
        if not isinstance(entry, Mapping) or entry.get("type") != "mcp" or entry.get("headers") is None:
            continue
        where = f"tools[{index}].headers"
        headers = entry["headers"]
        if not isinstance(headers, Mapping) or not all(isinstance(value, str) for value in headers.values()):
            raise RequestError(400, f"{where} must be an object of strings", param=where)
        others = sorted(str(name) for name in headers if str(name).lower() != "authorization")
        if others:
            raise RequestError(
                400, f"{where}: {', '.join(others)} cannot be sent; the gateway's servers take only Authorization, "
                "as the caller's own credential for servers that forward it", param=where,
            )
        label = entry.get("server_label")
        if not isinstance(label, str) or not label:
            raise RequestError(400, f"tools[{index}] has headers, so it needs a server_label", param=where)
        for value in headers.values():
            for tool in expanded.mcp.values():
                if tool.label == label:
                    credentials[tool.registered.server.lower()] = value
    return credentials
