"""An upstream backed by an OpenAPI spec: its operations are the tools, calls are HTTP requests."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import anyio.to_thread
import mcp_types as types

from mcp_gateway.auth.client_credentials import ClientCredentialsAuth, TokenCaches
from mcp_gateway.auth.outbound import CredentialSource, ForwardedAuthorization, OAuth2ClientCredentials, OutboundAuth
from mcp_gateway.auth.user_credentials import forwarded_credential
from mcp_gateway.config import OpenAPISource
from mcp_gateway.http import httpx, new_client
from mcp_gateway.limits import ServerLimits
from mcp_gateway.memory_budget import UpstreamBudget
from mcp_gateway.openapi.conversion_cache import ConversionCache
from mcp_gateway.openapi.conversion_process import convert_in_child
from mcp_gateway.openapi.invoke import invoke
from mcp_gateway.openapi.loader import SpecLoadError, read_spec_source
from mcp_gateway.openapi.model import OpenAPITools, ToolKeep, ToolSpec
from mcp_gateway.upstreams.base import Health

logger = logging.getLogger(__name__)


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def resolve_base_url(server_urls: tuple[str, ...], spec_source: str) -> str | None:
    """The first usable server URL; a relative one resolves against the spec's own URL (OpenAPI 3 rule)."""
    for url in server_urls:
        if _is_url(url):
            return url
        if _is_url(spec_source):
            return urljoin(spec_source, url)
    return None


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


class OpenAPIUpstream:
    def __init__(
        self,
        name: str,
        source: OpenAPISource,
        base_dir: Path,
        tokens: TokenCaches | None = None,
        *,
        limits: ServerLimits | None = None,
        budget: UpstreamBudget | None = None,
        forward_user_authorization: bool = False,
        cache: ConversionCache | None = None,
        keep: ToolKeep | None = None,
    ) -> None:
        """`cache`: where converted specs are kept between starts (None: convert at every start); `keep`: which
        tools, by name, to hold (the server's tool filter; None: all). Every operation is still converted for its
        name, so the held tools are named as without the filter; a reload that changes the filter builds a new
        upstream."""
        self.name = name
        self._cache = cache
        self._keep = keep
        self._source = source
        self._limits = limits or ServerLimits()
        self._budget = budget
        self._forward_user_authorization = forward_user_authorization
        self._base_dir = base_dir
        self._health = Health("starting")
        self._loaded: OpenAPITools | None = None
        self._by_name: dict[str, ToolSpec] = {}
        self._client: httpx.AsyncClient | None = None
        self._auth: OutboundAuth | None = source.auth
        if self._auth is not None and not any(self._auth.secrets()):
            # An empty credential (e.g. "${GITHUB_TOKEN:-}" with the variable unset) means "call without auth",
            # which is what public APIs allow; sending "Bearer " would only earn a 401.
            logger.warning("server '%s': outbound auth credential is empty; calls go unauthenticated", name)
            self._auth = None
        self._token_auth: ClientCredentialsAuth | None = None
        if isinstance(self._auth, OAuth2ClientCredentials):
            # The token goes on by the client's auth flow (fetched, cached, refreshed after a 401).
            self._token_auth = (tokens or TokenCaches()).auth_for(self._auth)

    @property
    def health(self) -> Health:
        return self._health

    @property
    def loaded(self) -> OpenAPITools | None:
        return self._loaded

    async def start(self) -> None:
        if self._client is None:
            # In a worker thread: its SSL context takes ~20 ms of CPU to build, which on the event loop would hold
            # up every request answered meanwhile (the first `initialize` included) once per server.
            client = await anyio.to_thread.run_sync(partial(
                new_client,
                timeout=self._source.timeout,
                auth=self._token_auth,
                max_connections=self._limits.max_connections,
                connect_retries=self._limits.connect_retries,
            ))
            if self._client is None:
                self._client = client
            else:  # pragma: no cover - started twice at once
                await client.aclose()
        try:
            # A spec URL may live on another host than the API: the client-credentials token is for the API only.
            spec_client = self._client if self._token_auth is None else None
            spec = await read_spec_source(self._source.spec, base_dir=self._base_dir, client=spec_client)
            # Large specs (GitHub's is 13 MB) take a moment to convert; keep the event loop responsive. A spec not
            # in the cache is converted in a child process, which keeps the memory that takes out of this one.
            loaded = await anyio.to_thread.run_sync(convert_in_child, spec, self._cache, self._keep)
        except SpecLoadError as error:
            self._health = Health("unhealthy", f"server '{self.name}': {error}")
            return
        except Exception as error:
            # A converter bug on some spec must cost this one server, never leave it "starting" for ever.
            logger.exception("server '%s': converting the spec failed", self.name)
            reason = f"cannot convert the spec ({type(error).__name__})"
            self._health = Health("unhealthy", f"server '{self.name}': {reason}")
            return
        self._loaded = loaded
        self._by_name = {tool.name: tool for tool in loaded.tools}
        detail = f"{loaded.converted_count} of {loaded.operation_count} operations converted"
        if loaded.withheld:
            detail += f", {len(loaded.tools)} held (tool filter)"
        if loaded.skipped:
            detail += f"; {len(loaded.skipped)} skipped: " + "; ".join(
                f"{skip.method.upper()} {skip.path}: {skip.reason}" for skip in loaded.skipped[:5]
            )
        for skip in loaded.skipped:
            logger.warning("server '%s': skipped %s %s: %s", self.name, skip.method.upper(), skip.path, skip.reason)
        self._health = Health("healthy", detail)

    async def recover(self) -> None:
        """Load the spec again when it failed (a spec URL that was down, a file being fixed)."""
        if self._health.state != "unhealthy":
            return
        await self.start()

    @property
    def withheld_tools(self) -> tuple[str, ...]:
        """The names of converted tools not held because the tool filter refuses them (the registry checks its
        filter patterns against these too)."""
        return self._loaded.withheld if self._loaded is not None else ()

    def tools(self) -> list[types.Tool]:
        if self._loaded is None:
            return []
        return [
            types.Tool(name=tool.name, description=tool.description, input_schema=tool.input_schema)
            for tool in self._loaded.tools
        ]

    def base_url_for(self, tool: ToolSpec) -> str | None:
        if self._source.base_url:
            return self._source.base_url
        servers = tool.binding.servers or (self._loaded.servers if self._loaded else ())
        return resolve_base_url(servers, self._source.spec)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        tool = self._by_name.get(name)
        if tool is None or self._client is None:
            return error_result(f"server '{self.name}' has no tool '{name}'")
        base_url = self.base_url_for(tool)
        if base_url is None:
            return error_result(
                f"server '{self.name}': the spec names no absolute server URL; set openapi.baseUrl in the config"
            )
        forwarded = forwarded_credential(self.name) if self._forward_user_authorization else None
        # The caller's own credential replaces the configured one, client-credentials token included.
        auth: CredentialSource | None = ForwardedAuthorization(forwarded) if forwarded else self._auth
        result = await invoke(
            self._client,
            tool,
            base_url,
            arguments,
            auth=auth,
            headers=self._source.headers,
            budget=self._budget,
            budget_wait=self._limits.queue_timeout,
            secrets=self._token_auth.secrets() if self._token_auth is not None else (),
            client_auth=forwarded is None,
        )
        if result.is_error and result.structured_content is None:
            # Name the server so a user with several upstreams knows which one (and which config entry) failed.
            result.content = [
                types.TextContent(text=f"server '{self.name}': {block.text}")
                if isinstance(block, types.TextContent) else block
                for block in result.content
            ]
        return result

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
