"""What the OpenAI-shaped LLM doors (`/v1/chat/completions`, `/v1/responses`) share at the HTTP edge: reading the
JSON body, OpenAI's error envelope, and the origins under which a caller may name this gateway in `server_url`."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.events import Failed
from mcp_gateway.llm.providers.base import ProviderError

EXTENSION = "mcp_gateway"
"""The one field the gateway adds to OpenAI's responses."""
MAX_BODY_BYTES = 32 * 1024 * 1024
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def error_body(message: str, *, error_type: str, param: str | None = None, code: str | None = None,
               **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code, **extra}}


def openai_error_body(failure: ProviderError | RequestError) -> dict[str, Any]:
    """OpenAI's error shape; a provider's error names the provider and keeps its message."""
    if isinstance(failure, RequestError):
        kind = "invalid_request_error" if failure.status < 500 else "service_unavailable_error"
        return error_body(failure.message, error_type=kind, param=failure.param, code=failure.code)
    kind = {"rejected": "invalid_request_error", "rate_limited": "rate_limit_error"}.get(failure.kind, "api_error")
    return error_body(f"{failure.provider}: {failure.message}", error_type=kind, param=failure.param,
                      code=failure.code or f"provider_{failure.kind}", provider=failure.provider)


def failed_response(failed: Failed) -> JSONResponse:
    """A request the loop could not answer, with the MCP calls it ran before failing."""
    body = openai_error_body(failed.error)
    if failed.calls:
        body[EXTENSION] = {"calls": [record.to_json() for record in failed.calls]}
    retry_after = failed.error.retry_after if isinstance(failed.error, ProviderError) else None
    headers = {"retry-after": str(math.ceil(retry_after))} if retry_after is not None else None
    return JSONResponse(body, status_code=failed.status, headers=headers)


async def json_object_body(request: Request) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise RequestError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise RequestError(400, f"the request body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    return body


def own_origins(request: Request) -> set[str]:
    """This gateway's own origins as a caller may write them in an mcp tool's server_url."""
    port = request.url.port
    names = {request.url.netloc.lower()}
    names.update(f"{name}:{port}" if port else name for name in _LOOPBACK_NAMES)
    return {f"{scheme}://{name}" for name in names for scheme in ("http", "https")}


def sse(data: object) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
