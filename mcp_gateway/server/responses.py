"""The OpenAI Responses door: `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}`.

The request is OpenAI's, as the official SDK sends it: `model` (`provider/model-name`, any configured provider),
`input` (a string or input items, see `responses_input`), `instructions`, `tools` (function tools and `"type": "mcp"`
tools naming this gateway's servers, see `mcp_gateway.llm.toolset`), `tool_choice`, `parallel_tool_calls`, `stream`,
`previous_response_id`, `store`, `max_output_tokens`, `metadata`, `temperature`, `top_p`, `user`, and one
extension, `mcp_max_rounds`. The gateway runs the MCP tools on the loop `/v1/chat/completions` uses and answers
with Responses output items (`responses_output`). A provider with OpenAI's Responses API (OpenAI itself, or an
OpenAI-compatible server configured with `responsesApi`) is asked through it, and gets the request's other fields
as they are; other providers are asked through their own wire protocol, where a field with no equivalent is a 400.

Responses are stored (unless `store: false`) with the conversation they end, bound to the caller's key: a request
with `previous_response_id` continues that conversation (approving MCP calls with `mcp_approval_response` items,
answering function calls with `function_call_output` items; an approval request the caller moves past with a new
message is declined); `instructions` are not carried over, as in OpenAI's API, and neither are `tools`, which each
request gives anew. An mcp tool's `headers` may carry `Authorization`, the caller's own credential for the servers
it reaches (those configured with `forwardUserAuthorization`), as `x-mcp-{server}-authorization` headers do.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_gateway.auth.principal import principal_of
from mcp_gateway.auth.user_credentials import credentials_of, forwarding
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.events import Completed, LoopEvent
from mcp_gateway.llm.loop import DENIED_TEXT, Emit, LoopRequest, RoundObserver, ToolLoop
from mcp_gateway.llm.models import ModelsConfig, UnknownModelError
from mcp_gateway.llm.providers import ProviderPool, uses_responses_api
from mcp_gateway.llm.store import ResponseStore, StoredResponse, StoreError
from mcp_gateway.llm.toolset import McpTool, RequestTools, UnavailableServer, mcp_tool_credentials, read_tools
from mcp_gateway.registry import Registry
from mcp_gateway.server.llm_http import EXTENSION, json_object_body, openai_error_body, own_origins
from mcp_gateway.server.loop_response import LoopResponse
from mcp_gateway.server.responses_input import ReadInput, chat_tool_choice, chat_tools, read_input
from mcp_gateway.server.responses_output import ResponseFrame, ResponsesRenderer

logger = logging.getLogger(__name__)

_GATEWAY_FIELDS = frozenset({"model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
                             "stream", "previous_response_id", "store", "metadata", "mcp_max_rounds"})
# Fields that would hand the conversation to the provider, which the gateway keeps itself.
_REFUSED_FIELDS = {"background": "background responses are not supported; stream instead",
                   "conversation": "conversations are not supported; continue with previous_response_id"}
# Fields every provider gets in its own terms (the loop's params speak Chat Completions).
_MAPPED_FIELDS = {"max_output_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p", "user": "user"}
# Repeated in the response as the request gave them.
_ECHOED_FIELDS = ("instructions", "metadata", "tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p",
                  "max_output_tokens", "previous_response_id", "store", "user", "text", "reasoning")
_ECHO_DEFAULTS: dict[str, Any] = {"instructions": None, "metadata": {}, "tools": [], "tool_choice": "auto",
                                  "parallel_tool_calls": True, "temperature": None, "top_p": None,
                                  "max_output_tokens": None, "previous_response_id": None, "store": True,
                                  "user": None, "text": {"format": {"type": "text"}}, "truncation": "disabled",
                                  "reasoning": None}


def _not_found(response_id: str) -> JSONResponse:
    body = openai_error_body(RequestError(404, f"No response found with id '{response_id}'.", param="response_id"))
    return JSONResponse(body, status_code=404)


def _store_failed(error: StoreError) -> JSONResponse:
    logger.error("%s", error)
    failure = RequestError(503, "the gateway's response store is unavailable; try again, or send store: false "
                           "without previous_response_id", code="store_unavailable")
    return JSONResponse(openai_error_body(failure), status_code=503)


def _listing(tools: RequestTools) -> list[tuple[str, list[McpTool]]]:
    """The request's MCP tools grouped by server label, in the order the request offers them."""
    by_label: dict[str, list[McpTool]] = {}
    for tool in tools.mcp.values():
        by_label.setdefault(tool.label, []).append(tool)
    return list(by_label.items())


class Responses:
    def __init__(self, registry: Registry, models: ModelsConfig, pool: ProviderPool, store: ResponseStore,
                 observer: RoundObserver | None = None) -> None:
        self._registry = registry
        self._models = models
        self._pool = pool
        self._store = store
        self._loop = ToolLoop(registry, observer)

    def routes(self) -> list[Route]:
        return [
            Route("/v1/responses", self.create, methods=["POST"]),
            Route("/v1/responses/{response_id}", self.retrieve, methods=["GET"]),
            Route("/v1/responses/{response_id}", self.delete, methods=["DELETE"]),
        ]

    async def retrieve(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        try:
            stored = await self._store.get(response_id, principal_of(request.scope).name)
        except StoreError as error:
            return _store_failed(error)
        return JSONResponse(stored.response) if stored is not None else _not_found(response_id)

    async def delete(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        try:
            deleted = await self._store.delete(response_id, principal_of(request.scope).name)
        except StoreError as error:
            return _store_failed(error)
        if not deleted:
            return _not_found(response_id)
        return JSONResponse({"id": response_id, "object": "response", "deleted": True})

    async def create(self, request: Request) -> Response:
        owner = principal_of(request.scope).name
        try:
            body = await json_object_body(request)
            loop_request, frame, conversation, store = await self._read(body, request, owner)
            credentials = {**credentials_of(request.scope),
                           **mcp_tool_credentials(body.get("tools"), loop_request.tools)}
        except RequestError as error:
            return JSONResponse(openai_error_body(error), status_code=error.status)
        except StoreError as error:
            return _store_failed(error)
        renderer = ResponsesRenderer(frame, loop_request.approvals)

        async def run(emit: Emit) -> None:
            async def storing(event: LoopEvent) -> None:
                if isinstance(event, Completed) and store:
                    await self._keep(frame, owner, renderer.completed_body(event), [*conversation, *event.transcript])
                await emit(event)

            with forwarding(credentials):
                await self._loop.run(loop_request, storing)

        return LoopResponse(run, renderer, stream=loop_request.stream)

    async def _keep(self, frame: ResponseFrame, owner: str, body: dict[str, Any],
                    conversation: list[dict[str, Any]]) -> None:
        try:
            await self._store.put(StoredResponse(frame.response_id, owner, frame.created_at, body, conversation))
        except StoreError:
            # The caller still gets its answer; only continuing from it will fail, which the log explains.
            logger.exception("response %s could not be stored", frame.response_id)

    async def _read(self, body: dict[str, Any], request: Request,
                    owner: str) -> tuple[LoopRequest, ResponseFrame, list[dict[str, Any]], bool]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise RequestError(400, "model is required: 'provider/model-name'", param="model")
        try:
            provider, model_name = self._models.resolve(model)
        except UnknownModelError as error:
            raise RequestError(400, str(error), param="model", code="model_not_found") from error
        responses_wire = uses_responses_api(provider)
        stream = _boolean(body, "stream", False)
        store = _boolean(body, "store", True)
        parallel = body.get("parallel_tool_calls")
        if parallel is not None and not isinstance(parallel, bool):
            raise RequestError(400, "parallel_tool_calls must be a boolean", param="parallel_tool_calls")
        metadata = body.get("metadata")
        if metadata is not None and not (isinstance(metadata, Mapping) and
                                         all(isinstance(value, str) for value in metadata.values())):
            raise RequestError(400, "metadata must be an object of string values", param="metadata")
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise RequestError(400, "instructions must be a string", param="instructions")
        rounds = body.get("mcp_max_rounds", self._models.default_rounds)
        cap = self._models.max_rounds
        if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= cap:
            raise RequestError(400, f"mcp_max_rounds must be an integer from 1 to {cap} (this gateway's cap)",
                               param="mcp_max_rounds")
        read = read_input(body.get("input"))
        previous_id = body.get("previous_response_id")
        history: list[dict[str, Any]] = []
        listed_before: list[str] = []
        approvals = dict(read.approvals)
        if previous_id is not None:
            if not isinstance(previous_id, str):
                raise RequestError(400, "previous_response_id must be a string", param="previous_response_id")
            previous = await self._store.get(previous_id, owner)
            if previous is None:
                raise RequestError(400, f"Previous response with id '{previous_id}' not found.",
                                   param="previous_response_id", code="previous_response_not_found")
            declined, approvals = _decisions(previous.response, read)
            history = [*previous.conversation, *declined]
            listed_before = list((previous.response.get(EXTENSION) or {}).get("listed_labels") or [])
        conversation = [*history, *read.messages]
        if not conversation:
            raise RequestError(400, "input must not be empty", param="input")
        unavailable: list[UnavailableServer] = []
        tools = read_tools(chat_tools(body.get("tools")), self._registry, principal_of(request.scope),
                           own_origins(request), unavailable=unavailable)
        params = _params(body, responses_wire)
        system = [{"role": "system", "content": instructions}] if instructions else []
        loop_request = LoopRequest(
            client=self._pool.client(provider, responses=True),
            protocol="openai-responses" if responses_wire else provider.protocol,
            model=model_name,
            messages=[*system, *conversation],
            tools=tools,
            max_rounds=rounds,
            tool_choice=chat_tool_choice(body.get("tool_choice"), tools.mcp),
            parallel_tool_calls=parallel,
            params=params,
            stream=stream,
            approvals=approvals,
        )
        response_id = f"resp_{uuid.uuid4().hex}"
        echoed = {**_ECHO_DEFAULTS, **{key: body[key] for key in _ECHOED_FIELDS if key in body}}
        echoed["store"] = store
        echoed["tools"] = _without_headers(echoed["tools"])
        frame = ResponseFrame(
            response_id, int(time.time()), model, echoed,
            listed=[(label, listed) for label, listed in _listing(tools) if label not in listed_before],
            listed_before=listed_before,
            unlisted=[(server.label, server.message) for server in unavailable],
            labels={name: tool.label for name, tool in tools.mcp.items()},
        )
        return loop_request, frame, conversation, store


def _without_headers(tools: object) -> object:
    """The request's tools as the response repeats them: an mcp tool's headers carry a credential, which is never
    repeated (nor stored)."""
    if not isinstance(tools, list):
        return tools
    return [{key: value for key, value in tool.items() if key != "headers"}
            if isinstance(tool, Mapping) and tool.get("type") == "mcp" else tool for tool in tools]


def _decisions(previous: Mapping[str, Any], read: ReadInput) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    """The caller's decisions on the approval requests the previous response ended with: tool messages to add
    after that response's conversation, and the decisions the loop acts on.

    A request the caller moves past (a new message without answering it) is declined: the model hears the call did
    not run, and the conversation stays one every provider accepts (each call answered before the next message).
    """
    pending = [str(item.get("id")) for item in previous.get("output") or []
               if isinstance(item, Mapping) and item.get("type") == "mcp_approval_request"]
    given = read.approvals
    unknown = sorted(set(given) - set(pending) - read.approval_requests)
    if unknown:
        raise RequestError(
            400, f"mcp_approval_response for {', '.join(unknown)}, which the previous response did not ask to "
            f"approve (it asked for: {', '.join(pending) or 'nothing'})",
            param="input",
        )
    moves_on = any(message.get("role") != "tool" for message in read.messages)
    if not moves_on:
        return [], {**dict.fromkeys(pending, False), **given}
    if any(given.values()):
        raise RequestError(
            400, "approved MCP calls run before the conversation goes on: send the mcp_approval_response items "
            "(and any function_call_output items) without new messages, then the new messages with the next "
            "request's previous_response_id", param="input",
        )
    return [{"role": "tool", "tool_call_id": call_id, "content": DENIED_TEXT} for call_id in pending], {}


def _boolean(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(400, f"{key} must be a boolean", param=key)
    return value


def _chat_equivalents(others: dict[str, Any]) -> dict[str, Any]:
    """`text` (structured output) and `reasoning` in Chat Completions terms, taken out of `others`; the provider
    clients map those further (Gemini's responseSchema, ...)."""
    mapped: dict[str, Any] = {}
    text = others.pop("text", None)
    if text is not None:
        if not isinstance(text, Mapping) or not set(text) <= {"format", "verbosity"}:
            raise RequestError(400, "text may hold format and verbosity", param="text")
        form = text.get("format") or {"type": "text"}
        kind = form.get("type") if isinstance(form, Mapping) else None
        if kind == "json_schema":
            schema = {key: form[key] for key in ("name", "schema", "strict", "description") if key in form}
            mapped["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif kind == "json_object":
            mapped["response_format"] = {"type": "json_object"}
        elif kind != "text":
            raise RequestError(400, "text.format.type must be text, json_object or json_schema",
                               param="text.format")
        if text.get("verbosity") is not None:
            mapped["verbosity"] = text["verbosity"]
    reasoning = others.pop("reasoning", None)
    if reasoning is not None:
        if not isinstance(reasoning, Mapping):
            raise RequestError(400, "reasoning must be an object", param="reasoning")
        # `summary` only shapes what OpenAI shows of its reasoning; Chat Completions has no reasoning items to show.
        if reasoning.get("effort") is not None:
            mapped["reasoning_effort"] = reasoning["effort"]
    return mapped


def _params(body: Mapping[str, Any], responses_wire: bool) -> dict[str, Any]:
    """The request's other fields for the provider: as they are for the Responses API, else mapped where they
    have an equivalent (the loop's params speak Chat Completions)."""
    for key, reason in _REFUSED_FIELDS.items():
        if body.get(key) not in (None, False):
            raise RequestError(400, f"{key}: {reason}", param=key)
    params = {_MAPPED_FIELDS[key]: value for key, value in body.items() if key in _MAPPED_FIELDS}
    others = {key: value for key, value in body.items()
              if key not in _GATEWAY_FIELDS and key not in _MAPPED_FIELDS and key not in _REFUSED_FIELDS}
    if responses_wire:
        return {**params, **others}
    params.update(_chat_equivalents(others))
    if others:
        raise RequestError(
            400, f"{', '.join(sorted(others))}: not supported for this model, whose provider does not speak the "
            "Responses API (the gateway maps model, input, instructions, tools, tool_choice, parallel_tool_calls, "
            "max_output_tokens, temperature, top_p, user, text, reasoning, metadata, store and previous_response_id)",
            param=sorted(others)[0],
        )
    return params
