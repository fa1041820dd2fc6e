"""Call one OpenAPI tool: build the request, send it, and turn whatever happens into an MCP result.

Expected failures — arguments that cannot make a request, an unreachable or slow upstream, an oversized
response — come back as results with is_error=True, never as exceptions, and never with credentials in them.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import aiohttp
import mcp_types

from mcp_gateway.auth.outbound import CredentialSource, header_secrets, redact
from mcp_gateway.http import direct_wire, httpx, open_on_wire
from mcp_gateway.http_wire import as_httpx_response, raise_mapped
from mcp_gateway.memory_budget import BudgetExhausted, Reservation, UpstreamBudget
from mcp_gateway.openapi.arguments import ArgumentError, provided
from mcp_gateway.openapi.model import ToolSpec
from mcp_gateway.openapi.request import HeaderError, build_request
from mcp_gateway.openapi.response import error_result, public_url, to_call_result
from mcp_gateway.openapi.serialize import encode_cookie_value
from mcp_gateway.request_id import tag_outbound

__all__ = ["MAX_RESPONSE_BYTES", "ArgumentError", "build_request", "invoke", "to_call_result"]

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 20 * 1024 * 1024
"""Bodies are read up to this many (decoded) bytes; one huge response must not exhaust the gateway's memory."""
_FIRST_RESERVATION = 64 * 1024
"""Reserved before reading a body of unknown length; the reservation grows with the chunks read."""


async def invoke(
    client: httpx.AsyncClient,
    tool: ToolSpec,
    base_url: str,
    arguments: Mapping[str, Any],
    *,
    auth: CredentialSource | None = None,
    headers: Mapping[str, str] | None = None,
    max_excerpt: int = 2000,
    budget: UpstreamBudget | None = None,
    budget_wait: float = 30.0,
    secrets: Sequence[str] = (),
    client_auth: bool = True,
) -> mcp_types.CallToolResult:
    """Call `tool`; `budget` bounds the response bytes held at once, a call waiting up to `budget_wait` seconds
    for room before it is answered with an error. `secrets`: further strings to keep out of the result (access
    tokens placed by the client's auth flow). `client_auth=False` skips the client's own auth flow, for a call
    that carries the caller's credential."""
    secrets = [*(auth.secrets() if auth else ()), *header_secrets(headers or {}), *secrets]
    # A cookie credential travels in cookie encoding, which differs from URL encoding; an upstream that
    # reflects the Cookie header (or its parse of it) shows it in that form.
    secrets += [encode_cookie_value(secret) for secret in secrets]
    try:
        request = build_request(tool.binding, base_url, arguments, auth=auth, headers=headers)
        tag_outbound(request)
        _check_required(tool, arguments)
    except ArgumentError as error:
        return error_result(redact(f"invalid arguments for tool '{tool.name}': {error}", secrets))
    except httpx.InvalidURL as error:
        return error_result(redact(f"invalid upstream URL for tool '{tool.name}': {error}", secrets))
    except HeaderError as error:
        return error_result(redact(f"cannot call tool '{tool.name}': {error}", secrets))
    # The last line of defence: a call is answered with a result, never with an exception that the MCP
    # front door would turn into an internal error. The traceback goes to the log for a maintainer, the
    # arguments nowhere; the result names only the error's type, as its text may quote a value.
    except Exception as error:
        logger.warning("tool '%s': building the request failed", tool.name, exc_info=True)
        return error_result(f"cannot build the request for tool '{tool.name}' ({type(error).__name__})")

    def target() -> str:
        # Only for logs and errors: redacting the URL cost ~10% of the gateway's share of a successful call.
        return f"{request.method} {public_url(request.url, secrets)}"

    try:
        async with _reservation(budget) as reservation:
            response = await _send_bounded(client, request, reservation, budget_wait, client_auth)
            if response is None:
                return _failure(f"upstream response too large: {target()}: over {MAX_RESPONSE_BYTES} bytes", secrets)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s -> HTTP %d", target(), response.status_code)
            # Built while the bytes are still reserved: this is where the body's copies (text, JSON) are made.
            return to_call_result(response, secrets=secrets, max_excerpt=max_excerpt)
    except BudgetExhausted as error:
        return _failure(f"{error}: {target()}", secrets)
    except httpx.TimeoutException as error:
        limit = client.timeout.read if isinstance(error, httpx.ReadTimeout) else client.timeout.connect
        after = f" after {limit:g}s" if limit is not None else ""
        return _failure(f"upstream timed out{after} ({type(error).__name__}): {target()}", secrets)
    except httpx.TransportError as error:
        return _failure(f"upstream unreachable: {target()}: {describe_transport_error(error)}", secrets)
    except httpx.RequestError as error:
        return _failure(f"upstream request failed: {target()}: {error}", secrets)


def describe_transport_error(error: httpx.TransportError) -> str:
    """The root cause in a few words: httpx's own message is often only 'All connection attempts failed'."""
    cause: BaseException = error
    seen = {id(cause)}
    while (parent := cause.__cause__ or cause.__context__) is not None and id(parent) not in seen:
        seen.add(id(parent))
        cause = parent
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, ConnectionResetError):
        return "connection reset"
    if isinstance(cause, socket.gaierror):
        return f"DNS lookup failed ({cause.strerror})"
    return str(error) or type(error).__name__


def _check_required(tool: ToolSpec, arguments: Mapping[str, Any]) -> None:
    """Required arguments the binding cannot see, such as required properties of a flattened body."""
    required: Sequence[Any] = tool.input_schema.get("required", ())
    missing = [key for key in required if isinstance(key, str) and not provided(arguments, key)]
    if missing:
        listed = ", ".join(f"'{key}'" for key in missing)
        raise ArgumentError(f"missing required argument{'s' if len(missing) > 1 else ''} {listed}")


def _reservation(budget: UpstreamBudget | None) -> AbstractAsyncContextManager[Reservation | None]:
    return budget.reservation() if budget is not None else nullcontext(None)


def _declared_length(headers: Mapping[str, str]) -> int | None:
    if headers.get("content-encoding"):
        return None  # the length of the compressed body; the decoded one is only known while reading
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


async def _send_bounded(
    client: httpx.AsyncClient,
    request: httpx.Request,
    reservation: Reservation | None,
    budget_wait: float,
    client_auth: bool = True,
) -> httpx.Response | None:
    """Send and read the body, or None when the body exceeds MAX_RESPONSE_BYTES. Raises BudgetExhausted when
    the memory budget has no room for the body."""
    wire = None if (client_auth and client.auth is not None) or request.url.userinfo else direct_wire(client)
    if wire is None:
        auth = httpx.USE_CLIENT_DEFAULT if client_auth else None
        return await _read_bounded(await client.send(request, stream=True, auth=auth), reservation, budget_wait)
    answer = await open_on_wire(client, wire, request)
    declared = _declared_length(answer.headers)
    if declared is None or declared > MAX_RESPONSE_BYTES:
        return await _read_bounded(_as_client_response(client, answer, request), reservation, budget_wait)
    # A plain body of known, allowed length (the usual answer): read whole on the wire, as the client reads it.
    try:
        if reservation is not None:
            await reservation.wait_for(declared, budget_wait)
        try:
            body = await answer.read()
        except Exception as error:
            raise_mapped(error, request, reading_body=True)
    finally:
        answer.release()  # returns the connection to the pool once the body was read, closes it otherwise
    return _as_client_response(client, answer, request, body)


def _as_client_response(
    client: httpx.AsyncClient, answer: aiohttp.ClientResponse, request: httpx.Request, body: bytes | None = None
) -> httpx.Response:
    """The wire's answer as `client.send` hands it back: tied to its request, its cookies kept in the client's jar."""
    response = as_httpx_response(answer, request, body)
    response.request = request
    if "set-cookie" in answer.headers:
        client.cookies.extract_cookies(response)
    return response


async def _read_bounded(
    response: httpx.Response, reservation: Reservation | None, budget_wait: float
) -> httpx.Response | None:
    """Read the body of a streamed response (see `_send_bounded`)."""
    try:
        declared = _declared_length(response.headers)
        if declared is not None and declared > MAX_RESPONSE_BYTES:
            return None
        if reservation is not None:
            first = _FIRST_RESERVATION if declared is None else declared
            await reservation.wait_for(first, budget_wait)
        if declared is not None:
            # A plain body of known, allowed length (the usual answer): read whole, the response kept as it is.
            await response.aread()
            return response
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                return None
            if reservation is not None:
                reservation.grow_to(size)
            chunks.append(chunk)
    finally:
        await response.aclose()
    # The chunks are already decoded, so the copy must not claim an encoding or the original length.
    kept_headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=kept_headers,
        content=b"".join(chunks),
        request=response.request,
        extensions=response.extensions,
    )


def _failure(message: str, secrets: Sequence[str]) -> mcp_types.CallToolResult:
    text = redact(message, secrets)
    logger.warning("%s", text)
    return error_result(text)
