"""The REST front door: health, servers, tools (optionally in a provider's format) and OpenAPI preview.

Responses never contain credentials: server health details are written by upstreams to be secret-free,
and config values (headers, env, auth) are never echoed.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from importlib import resources
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_gateway.auth.principal import admin_only, principal_of, visible
from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.openapi.loader import MAX_SPEC_BYTES, SpecLoadError, parse_spec_text
from mcp_gateway.registry import Registry, UnknownServerError

logger = logging.getLogger(__name__)

MAX_PREVIEW_BYTES = MAX_SPEC_BYTES


def management_document() -> dict[str, Any]:
    """The gateway's own OpenAPI document, shipped with the package."""
    import yaml  # only when asked for (start-up does without PyYAML when it can)

    text = resources.files("mcp_gateway.server").joinpath("management.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it exceeds `limit` (never buffered beyond it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def preview_document_text(text: str) -> dict[str, Any]:
    """Parse and convert a spec exactly as registration does, and describe the result.

    The body is the document itself (JSON or YAML), or a JSON string holding YAML or JSON text: the form an MCP
    client sends when the `preview_openapi` tool is given the spec as text.
    """
    try:
        quoted = json.loads(text)
    except (ValueError, RecursionError):
        # Too deep to decode here means too deep for the loader too, which says so in its own error.
        quoted = None
    if isinstance(quoted, str):
        text = quoted
    # Imported on first use: the converter's validation models are a noticeable part of start-up, and a
    # gateway whose specs come from the conversion cache needs them only here.
    from mcp_gateway.openapi.preview import preview
    from mcp_gateway.openapi.tools import build_tools

    return preview(build_tools(parse_spec_text(text, source="request body")))


def metrics_route(metrics: GatewayMetrics) -> Route:
    """`GET /metrics` in Prometheus' text format. Admin only when access is configured: the numbers name every
    server and tool, which a key limited to some of them must not learn (a scraper sends an admin key as
    `Authorization: Bearer`). Without access control it is as open as the rest of the gateway."""

    @admin_only
    async def scrape(request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return Route("/metrics", scrape, methods=["GET"])


def _never() -> bool:
    return False


def _unknown() -> str | None:
    return None


def rest_routes(
    registry: Registry,
    *,
    draining: Callable[[], bool] = _never,
    config_digest: Callable[[], str | None] = _unknown,
) -> list[Route]:
    async def health(request: Request) -> JSONResponse:
        # Liveness: answers 200 as long as the process serves, draining included (a probe that failed then would
        # have the orchestrator kill calls the drain is finishing).
        states = Counter(status.health.state for status in registry.servers())
        body: dict[str, Any] = {"status": "draining" if draining() else "ok", "servers": dict(states)}
        digest = config_digest()
        if digest is not None:
            body["config"] = digest
        return JSONResponse(body)

    async def ready(request: Request) -> JSONResponse:
        # Readiness: whether to send this replica new work. Counts only: /ready answers without a key.
        if draining():
            return JSONResponse({"ready": False, "reason": "draining"}, status_code=503)
        starting = sum(status.health.state == "starting" for status in registry.servers())
        if starting:
            return JSONResponse({"ready": False, "reason": f"{starting} server(s) still starting"}, status_code=503)
        return JSONResponse({"ready": True})

    async def servers(request: Request) -> JSONResponse:
        caller = principal_of(request.scope)
        listed = []
        for status in registry.servers():
            if not caller.sees_server(status.name):
                continue
            entry: dict[str, Any] = {"name": status.name, "kind": status.kind, "health": status.health.state}
            if caller.admin:
                # The detail reveals configuration (URLs, commands, spec locations): admins only.
                entry["detail"] = status.health.detail
            entry["tools"] = len(visible(registry.registered(status.name), caller))
            listed.append(entry)
        return JSONResponse(listed)

    async def tools(request: Request) -> JSONResponse:
        server = request.query_params.get("server") or None
        caller = principal_of(request.scope)
        try:
            if server is not None and not caller.sees_server(server):
                raise UnknownServerError(server)
            listed = [tool.as_tool(prefixed=server is None) for tool in visible(registry.registered(server), caller)]
        except UnknownServerError:
            return _error(404, f"unknown server '{server}'")
        provider_param = request.query_params.get("provider")
        if not provider_param:
            return JSONResponse({"tools": [tool.model_dump(mode="json", by_alias=True, exclude_none=True)
                                           for tool in listed]})
        # The provider bridge only when a listing is asked for in a provider's shape: start-up does without it.
        from mcp_gateway.bridge.targets import parse_provider
        from mcp_gateway.bridge.tools import ToolLimitError, convert_tools

        try:
            provider = parse_provider(provider_param)
            converted = convert_tools(listed, provider, strict=_truthy(request.query_params.get("strict")))
        except (ValueError, ToolLimitError) as error:
            return _error(400, str(error))
        return JSONResponse(converted.to_json())

    @admin_only
    async def openapi_preview(request: Request) -> Response:
        body = await _bounded_body(request, MAX_PREVIEW_BYTES)
        if body is None:
            return _error(413, f"spec larger than {MAX_PREVIEW_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "spec must be UTF-8 text (JSON or YAML)")
        try:
            result = await anyio.to_thread.run_sync(preview_document_text, text)
        except SpecLoadError as error:
            return _error(400, str(error))
        except RecursionError:
            # Nesting the parser accepted but a later step cannot walk: the document's fault, not ours.
            return _error(400, "cannot load OpenAPI spec request body: nested too deeply")
        except Exception as error:
            logger.exception("preview failed")
            return _error(500, f"cannot convert this spec ({type(error).__name__}); the gateway log has the details")
        return JSONResponse(result)

    async def openapi_document(request: Request) -> JSONResponse:
        return JSONResponse(management_document())

    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/servers", servers, methods=["GET"]),
        Route("/tools", tools, methods=["GET"]),
        Route("/openapi/preview", openapi_preview, methods=["POST"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
    ]
