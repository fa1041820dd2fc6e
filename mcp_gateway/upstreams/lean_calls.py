"""Plain tool calls to a modern-era HTTP upstream as one JSON-RPC POST, sent from the calling task.

Why: a call through the SDK's `Client` passes a dispatcher task, memory streams, a task group per POST and the
transport's own SSE handling; py-spy put that client at about half of the gateway's CPU on the MCP-upstream path
(benchmarks/peers.py --profile, c=32), ~2 ms per call, where this path cost ~1.2 ms (most of it the httpx2 POST),
and costs ~0.6-0.7 ms since its POST goes out on the client's aiohttp session (lean_post.py; in process, c=1).
In the modern era (2026-07-28) a `tools/call` is self-contained (no session), so one POST on the upstream's
pooled client, answered with JSON or a short event stream, is the whole exchange.

What stays the SDK's: the envelope its session stamps on every request (protocol version, client info and
capabilities in `_meta`; `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*` headers), the JSON-RPC
and result types with their per-version check (mcp_types; a caller that writes the result back out unchanged may
take it as the upstream's wire dict instead, when one walk shows the check would pass it and change nothing:
upstreams/wire_result.py), the output-schema check of structured content, and the
HTTP client (its headers, auth, cookies and connection pool: upstreams/lean_post.py sends a plain POST on the
client's aiohttp session only where the client's own layers would change nothing). What goes back to the SDK's
`Client` (the same calls channel, so the outcome is what it was before this path existed), in each case before or
instead of trusting this answer:
- a redirect: nothing ran; the SDK follows one that stays within the origin;
- `HEADER_MISMATCH`: nothing ran; the SDK lists the tool again and resends once (not for a caller passing input
  rounds, whose calls the SDK's session sends once: the refusal is the answer);
- an input-required result, unless the caller answers it itself (`answers`): the SDK sends the call again and
  drives the input rounds (a modern-era tool asks for input before acting and is re-entered with the answers, so
  the call is repeatable by design);
- an event stream that ended before the answer but can be resumed (it had event ids): the SDK resumes it with
  `Last-Event-ID`.
Calls carrying a progress token and calls on a client's own session never come here (see `McpUpstream.call_tool`).
Cancelling the calling task closes the POST, which is the modern era's cancellation signal.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, cast

import mcp_types as types
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ClientMessageMetadata
from pydantic import ValidationError

from mcp_gateway.http import httpx
from mcp_gateway.upstreams import era
from mcp_gateway.upstreams.lean_post import LeanPost
from mcp_gateway.upstreams.wire_result import CALL_RESULT, WireResult, kept_wire, parsed_result

_BASE_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _json_answer(content: bytes) -> types.JSONRPCResponse | types.JSONRPCError:
    """A JSON answer to the POST, as the SDK's transport reads it."""
    try:
        message = types.jsonrpc_message_adapter.validate_json(content, by_name=False)
    except ValidationError as error:
        raise MCPError(types.PARSE_ERROR, f"Failed to parse JSON response: {error}") from None
    if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
        return message
    raise MCPError(types.PARSE_ERROR, "Failed to parse JSON response: not a response")


class _HandBack(Exception):
    """This call is the SDK client's to make (or finish): see the module docstring."""

    def __init__(self, resume_from: str | None = None) -> None:
        super().__init__()
        self.resume_from = resume_from


class LeanCalls:
    """Plain `tools/call` requests to one upstream, over the modern-era calls channel `client`."""

    def __init__(self, client: Client, http_client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._post = LeanPost(http_client, url)
        self._ids = itertools.count(1)

    @property
    def client(self) -> Client:
        return self._client

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        meta: dict[str, Any] | None = None,
        *,
        answers: types.InputResponseRequestParams | None = None,
        keep_wire: bool = False,
    ) -> types.CallToolResult | WireResult:
        """Call `name`; raises what the SDK client raises for the same answer (`MCPError`, `RuntimeError` for
        structured content that breaks the output schema, httpx errors). `answers`: a modern-era caller's call,
        which answers input requests itself: its answers to an earlier round, if any, are sent along, and an
        input-required result is raised for it to answer (`era.InputRequired`, as `era.call_passing_input` does);
        without `answers`, the SDK client's rounds get it. `keep_wire`: a result in the form the SDK writes comes
        back as the upstream's own wire dict (upstreams/wire_result.py), for a writer that relays it unchanged."""
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        if meta is not None:
            # As the SDK serializes its `_meta` model: keys set to null are left out (an empty one is still sent).
            params["_meta"] = {key: value for key, value in meta.items() if value is not None}
        if answers is not None and (answers.input_responses is not None or answers.request_state is not None):
            carried = types.InputResponseRequestParams(
                input_responses=answers.input_responses, request_state=answers.request_state
            )
            params.update(carried.model_dump(by_alias=True, mode="json", exclude_none=True))
        data: dict[str, Any] = {"method": "tools/call", "params": params}
        result: types.CallToolResult | types.InputRequiredResult | WireResult
        try:
            result = await self._send(data, passes_input=answers is not None, keep_wire=keep_wire)
        except _HandBack as hand_back:
            result = await self._by_sdk(name, arguments, meta, answers, hand_back.resume_from)
        else:
            if isinstance(result, WireResult) and not result.is_error:
                await self._client.session.validate_tool_result(name, result.for_output_check())
            elif isinstance(result, types.CallToolResult) and not result.is_error:
                await self._client.session.validate_tool_result(name, result)
        if isinstance(result, types.InputRequiredResult):
            raise era.InputRequired(result)
        return result

    async def _send(
        self, data: dict[str, Any], *, passes_input: bool, keep_wire: bool
    ) -> types.CallToolResult | types.InputRequiredResult | WireResult:
        options: dict[str, Any] = {}
        # The session's own stamp (bound when the channel negotiated the era): nothing of the envelope is
        # restated here. tests/unit/test_lean_calls.py fails if an SDK upgrade renames it.
        self._client.session._stamp(data, cast(Any, options))
        headers = {**_BASE_HEADERS, **options.get("headers", {})}
        message = {"jsonrpc": "2.0", "id": next(self._ids), **data}
        # Encoded as httpx2 encodes the SDK transport's `json=`, so the upstream receives the same bytes.
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        sent = await self._post.send(body, headers)
        if isinstance(sent, bytes):
            answer = _json_answer(sent)
        else:
            try:
                answer = await self._answer(sent)
            finally:
                await sent.aclose()
        if isinstance(answer, types.JSONRPCError):
            if answer.error.code == types.HEADER_MISMATCH and not passes_input:
                raise _HandBack()
            raise MCPError.from_error_data(answer.error)
        if keep_wire:
            kept = kept_wire(answer.result, self._client.protocol_version)
            if kept is not None:
                return kept
        return self._parse(answer.result, passes_input=passes_input)

    async def _answer(self, response: httpx.Response) -> types.JSONRPCResponse | types.JSONRPCError:
        """The upstream's answer to the POST, as the SDK's transport would read it."""
        if response.next_request is not None or response.has_redirect_location:
            raise _HandBack()
        if response.status_code == 202:
            raise MCPError(types.INVALID_REQUEST, "server answered a request with 202 Accepted")
        content_type = response.headers.get("content-type", "").lower()
        if response.status_code >= 400:
            if content_type.startswith("application/json"):
                try:
                    parsed = types.jsonrpc_message_adapter.validate_json(await response.aread(), by_name=False)
                except (httpx.StreamError, ValidationError):
                    parsed = None
                if isinstance(parsed, types.JSONRPCError):
                    return parsed
            # No session in the modern era: a 404 is the HTTP spelling of an unknown method.
            if response.status_code == 404:
                raise MCPError(types.METHOD_NOT_FOUND, "Not Found")
            raise MCPError(types.INTERNAL_ERROR, "Server returned an error response")
        if content_type.startswith("application/json"):
            return _json_answer(await response.aread())
        if content_type.startswith("text/event-stream"):
            return await self._from_events(response)
        raise MCPError(types.INVALID_REQUEST, f"Unexpected content type: {content_type}")

    @staticmethod
    async def _from_events(response: httpx.Response) -> types.JSONRPCResponse | types.JSONRPCError:
        """The response on the call's event stream. Notifications there are dropped, as the SDK drops them on
        a channel without handlers (progress has no token to belong to: calls with one do not come here); the
        modern era gives the server no way to send the client requests on it."""
        last_event_id: str | None = None
        try:
            async for event in httpx.EventSource(response):
                if event.id:
                    last_event_id = event.id
                if event.event != "message" or not event.data:
                    continue
                try:
                    message = types.jsonrpc_message_adapter.validate_json(event.data, by_name=False)
                except ValidationError as error:
                    raise MCPError(types.PARSE_ERROR, f"Failed to parse SSE message: {error}") from None
                if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
                    return message
        except httpx.SSEError as error:
            raise MCPError(types.CONNECTION_CLOSED, f"SSE stream failed: {error}") from None
        except httpx.TransportError:
            if last_event_id is None:
                raise
        if last_event_id is not None:
            raise _HandBack(resume_from=last_event_id)
        raise MCPError(types.CONNECTION_CLOSED, "SSE stream ended without a response")

    def _parse(self, raw: dict[str, Any], *, passes_input: bool) -> types.CallToolResult | types.InputRequiredResult:
        result = parsed_result(raw, self._client.protocol_version)
        if isinstance(result, types.InputRequiredResult) and not passes_input:
            raise _HandBack()
        return result

    async def _by_sdk(
        self,
        name: str,
        arguments: dict[str, Any],
        meta: dict[str, Any] | None,
        answers: types.InputResponseRequestParams | None,
        resume_from: str | None,
    ) -> types.CallToolResult | types.InputRequiredResult:
        typed_meta = cast(types.RequestParamsMeta | None, meta)
        session = self._client.session
        if resume_from is not None:
            params = types.CallToolRequestParams(name=name, arguments=arguments, _meta=typed_meta)
            if answers is not None:
                params = params.model_copy(
                    update={"input_responses": answers.input_responses, "request_state": answers.request_state}
                )
            resumed = await session.send_request(
                types.CallToolRequest(params=params), CALL_RESULT,
                metadata=ClientMessageMetadata(resumption_token=resume_from),
            )
            if isinstance(resumed, types.CallToolResult):
                if not resumed.is_error:
                    await session.validate_tool_result(name, resumed)
                return resumed
            if answers is not None:
                return resumed
        if answers is not None:
            return await session.call_tool(
                name, arguments, input_responses=answers.input_responses, request_state=answers.request_state,
                meta=typed_meta, allow_input_required=True,
            )
        return await self._client.call_tool(name, arguments, meta=typed_meta)
