"""The aggregated `/mcp` endpoint's prompts, resources, completion and logging: every MCP upstream's, routed.

- Prompts are named like tools, `{server}-{prompt}`, through names.py (config order, then each upstream's
  order), and `prompts/get` goes to the server that listed the prompt under its own name.
- Resources and templates keep their URIs. A URI goes to the first server (in config order) that lists it; else
  to the first whose template matches it; else to the first server offering resources that can read it. So a URI
  two servers both list is always the first one's.
- `completion/complete` follows its reference: a prompt's gateway name, or a template's URI.
- `logging/setLevel` sets the level on every upstream that logs (each on this client's own session).
- Lists are re-paged by the gateway (upstream pages are followed to the end and cached until that server says
  its list changed, or recovers); capabilities are the union of the upstreams'.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from mcp_gateway import names
from mcp_gateway.auth.principal import caller_of
from mcp_gateway.registry import Registry
from mcp_gateway.server.relay import send
from mcp_gateway.upstreams.mcp import McpUpstream

Context = ServerRequestContext[Any, Any]
Handler = Callable[[Context, BaseModel], Awaitable[dict[str, Any]]]

_LIST_PAGES_LIMIT = 1000
_RESOURCE_NOT_FOUND = -32002


@dataclass(frozen=True)
class RoutedPrompt:
    gateway_name: str
    server: str
    definition: dict[str, Any]


def mcp_upstreams(registry: Registry, offering: str | None = None) -> list[McpUpstream]:
    """The connected MCP upstreams in config order, optionally only those offering a capability."""
    found = []
    for server in registry.server_names():
        upstream = registry.upstream(server)
        if not isinstance(upstream, McpUpstream) or upstream.capabilities is None:
            continue
        if offering is None or getattr(upstream.capabilities, offering) is not None:
            found.append(upstream)
    return found


def union_capabilities(registry: Registry) -> types.ServerCapabilities:
    """What /mcp advertises: tools always (the registry's), the rest when at least one upstream offers it."""
    offered = [upstream.capabilities for upstream in mcp_upstreams(registry) if upstream.capabilities is not None]
    resources = [capabilities.resources for capabilities in offered if capabilities.resources is not None]
    return types.ServerCapabilities(
        tools=types.ToolsCapability(list_changed=True),
        prompts=types.PromptsCapability(list_changed=True) if any(c.prompts for c in offered) else None,
        resources=types.ResourcesCapability(subscribe=any(r.subscribe for r in resources), list_changed=True)
        if resources
        else None,
        logging=types.LoggingCapability() if any(c.logging is not None for c in offered) else None,
        completions=types.CompletionsCapability() if any(c.completions is not None for c in offered) else None,
    )


def uri_template_pattern(template: str) -> re.Pattern[str]:
    """A URI template (RFC 6570 simple and reserved expansion) as a regular expression for matching URIs."""
    parts = re.split(r"(\{[^}]*\})", template)
    pattern = ""
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            pattern += ".+" if part[1:2] in ("+", "#") else "[^/?#]+"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


class Aggregate:
    """Prompts, resources and templates of every MCP upstream, under gateway-wide names and routes."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._relay = send
        self._lists: dict[tuple[str, str], list[dict[str, Any]]] = {}
        registry.on_change(self._forget)

    def _forget(self, server: str, kind: str) -> None:
        for key in [key for key in self._lists if key[0] == server]:
            self._lists.pop(key)

    def upstreams(self, offering: str | None = None, ctx: Any = None) -> list[McpUpstream]:
        """The MCP upstreams offering a capability; with `ctx`, only those its caller may see: a server hidden
        from a key lends it no prompts, resources or routes."""
        found = mcp_upstreams(self._registry, offering)
        caller = caller_of(ctx)
        return found if caller.unrestricted else [upstream for upstream in found if caller.sees_server(upstream.name)]

    async def _list(
        self, ctx: ServerRequestContext[Any, Any], upstream: McpUpstream, method: str, key: str
    ) -> list[dict[str, Any]]:
        cached = self._lists.get((upstream.name, method))
        if cached is not None:
            return cached
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(_LIST_PAGES_LIMIT):
            page = await self._relay(ctx, upstream, method, {"cursor": cursor} if cursor else None)
            items.extend(page.get(key) or [])
            cursor = page.get("nextCursor")
            if not cursor:
                break
        self._lists[(upstream.name, method)] = items
        return items

    async def prompts(self, ctx: ServerRequestContext[Any, Any]) -> list[RoutedPrompt]:
        upstreams = self.upstreams("prompts", ctx)
        prefixes = names.allocate_names(self._registry.server_names(), names.MCP)
        collected: list[tuple[str, dict[str, Any], str]] = []
        for upstream in upstreams:
            listed = await self._list(ctx, upstream, "prompts/list", "prompts")
            local = names.allocate_names([str(prompt.get("name", "")) for prompt in listed], names.MCP)
            collected += [(upstream.name, prompt, local[str(prompt.get("name", ""))]) for prompt in listed]
        gateway_names = names.allocate_each(
            [f"{prefixes[server]}-{local_name}" for server, _, local_name in collected], names.MCP
        )
        return [
            RoutedPrompt(gateway_name, server, prompt)
            for (server, prompt, _), gateway_name in zip(collected, gateway_names, strict=True)
        ]

    async def prompt_route(self, ctx: ServerRequestContext[Any, Any], gateway_name: str) -> tuple[McpUpstream, str]:
        for routed in await self.prompts(ctx):
            if routed.gateway_name == gateway_name:
                upstream = self._registry.upstream(routed.server)
                assert isinstance(upstream, McpUpstream), "prompts are listed from MCP upstreams only"
                return upstream, str(routed.definition.get("name"))
        raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {gateway_name}")

    async def resources(self, ctx: ServerRequestContext[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Every resource once, by URI: a URI two servers list is the first server's."""
        return await self._by_key(ctx, "resources/list", "resources", "uri")

    async def templates(self, ctx: ServerRequestContext[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
        return await self._by_key(ctx, "resources/templates/list", "resourceTemplates", "uriTemplate")

    async def _by_key(
        self, ctx: ServerRequestContext[Any, Any], method: str, key: str, identity: str
    ) -> list[tuple[str, dict[str, Any]]]:
        found: dict[Any, tuple[str, dict[str, Any]]] = {}
        for upstream in self.upstreams("resources", ctx):
            for item in await self._list(ctx, upstream, method, key):
                found.setdefault(item.get(identity), (upstream.name, item))
        return list(found.values())

    async def resource_routes(self, ctx: ServerRequestContext[Any, Any], uri: str) -> list[McpUpstream]:
        """Where a URI may be read, best first: the server listing it, the first whose template matches, then
        every other server offering resources (config order)."""
        candidates = self.upstreams("resources", ctx)
        by_name = {upstream.name: upstream for upstream in candidates}
        first: list[McpUpstream] = []
        for server, resource in await self.resources(ctx):
            if resource.get("uri") == uri:
                first.append(by_name[server])
                break
        if not first:
            for server, template in await self.templates(ctx):
                if uri_template_pattern(str(template.get("uriTemplate", ""))).fullmatch(uri):
                    first.append(by_name[server])
                    break
        return first + [upstream for upstream in candidates if upstream not in first]

    async def template_route(self, ctx: ServerRequestContext[Any, Any], uri_template: str) -> McpUpstream | None:
        for server, template in await self.templates(ctx):
            if template.get("uriTemplate") == uri_template:
                upstream = self._registry.upstream(server)
                return upstream if isinstance(upstream, McpUpstream) else None
        return None

    async def read_first(
        self, ctx: ServerRequestContext[Any, Any], method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Send a URI-addressed request along the URI's routes; the first server that knows the URI answers."""
        uri = str(params.get("uri", ""))
        routes = await self.resource_routes(ctx, uri)
        if method in ("resources/subscribe", "resources/unsubscribe"):
            routes = [
                upstream for upstream in routes
                if upstream.capabilities is not None and upstream.capabilities.resources is not None
                and upstream.capabilities.resources.subscribe
            ]
        last: MCPError | None = None
        for upstream in routes:
            try:
                return await self._relay(ctx, upstream, method, params)
            except MCPError as error:
                last = error
        if last is not None:
            raise last
        raise MCPError(_RESOURCE_NOT_FOUND, f"Resource not found: {uri}")


class AggregatedHandlers:
    """The low-level handlers of `/mcp` for what is not tools, over an `Aggregate`."""

    def __init__(
        self,
        registry: Registry,
        page_size: int,
        encode_cursor: Callable[[int], str],
        decode_cursor: Callable[[str | None], int],
        for_era: Callable[[Context, dict[str, Any]], dict[str, Any]],
    ) -> None:
        self._aggregate = Aggregate(registry)
        self._page_size = page_size
        self._encode_cursor = encode_cursor
        self._decode_cursor = decode_cursor
        self._for_era = for_era
        self._handlers: dict[str, Callable[[Context, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "prompts/list": self._list_prompts,
            "prompts/get": self._get_prompt,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._by_uri,
            "resources/subscribe": self._by_uri,
            "resources/unsubscribe": self._by_uri,
            "completion/complete": self._complete,
            "logging/setLevel": self._set_level,
        }

    def handler(self, method: str) -> Handler:
        inner = self._handlers[method]
        capability = {"prompts": "prompts", "resources": "resources", "completion": "completions"}.get(
            method.split("/", 1)[0], "logging"
        )

        async def handle(ctx: Context, params: BaseModel) -> dict[str, Any]:
            if not self._aggregate.upstreams(capability, ctx):
                raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data=method)
            return self._for_era(ctx, await inner(ctx, dict(ctx.params or {})))

        return handle

    def _page(self, items: Sequence[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
        offset = self._decode_cursor(params.get("cursor"))
        end = offset + self._page_size
        result: dict[str, Any] = {key: list(items[offset:end])}
        if end < len(items):
            result["nextCursor"] = self._encode_cursor(end)
        return result

    async def _list_prompts(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        prompts = [{**routed.definition, "name": routed.gateway_name} for routed in await self._aggregate.prompts(ctx)]
        return self._page(prompts, params, "prompts")

    async def _get_prompt(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        upstream, name = await self._aggregate.prompt_route(ctx, str(params.get("name", "")))
        return await send(ctx, upstream, "prompts/get", {**params, "name": name})

    async def _list_resources(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        return self._page([item for _, item in await self._aggregate.resources(ctx)], params, "resources")

    async def _list_templates(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        templates = [item for _, item in await self._aggregate.templates(ctx)]
        return self._page(templates, params, "resourceTemplates")

    async def _by_uri(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        return await self._aggregate.read_first(ctx, ctx.method, params)

    async def _complete(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        ref = dict(params.get("ref") or {})
        if ref.get("type") == "ref/prompt":
            upstream, name = await self._aggregate.prompt_route(ctx, str(ref.get("name", "")))
            return await send(ctx, upstream, "completion/complete", {**params, "ref": {**ref, "name": name}})
        template_upstream = await self._aggregate.template_route(ctx, str(ref.get("uri", "")))
        if template_upstream is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown reference: {ref.get('uri') or ref.get('name')}")
        return await send(ctx, template_upstream, "completion/complete", params)

    async def _set_level(self, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        for upstream in self._aggregate.upstreams("logging", ctx):
            await send(ctx, upstream, "logging/setLevel", params)
        return {}
