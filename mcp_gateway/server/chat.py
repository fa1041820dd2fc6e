"""The OpenAI Chat Completions door: `POST /v1/chat/completions` and `GET /v1/models`.

The request is OpenAI's, unchanged, plus tools of `"type": "mcp"` (see `mcp_gateway.llm.toolset`) and two
extension fields: `mcp_max_rounds` (model rounds this request may take) and `mcp_approvals` (`{call_id: true|false}`
for MCP calls returned awaiting approval). The response is OpenAI's, plus one extension field, `mcp_gateway`:

    {"calls": [{"id", "name", "server", "tool", "arguments", "round", "status", "is_error", "result",
                "duration_ms"}, ...],                  # every MCP call the gateway ran (or denied, or did not run)
     "rounds": [{"round", "usage", "finish_reason", "mcp_calls"}, ...],
     "transcript": [...],                            # messages to append to continue the conversation
     "awaiting_approval": ["call id", ...],          # of the message's tool_calls, the MCP ones to approve
     "note": "..."}                                  # when the round limit stopped the loop

With `stream: true` the same arrives as chat.completion.chunk events: the model's text as it streams, progress
chunks while MCP tools run (`choices: []` and `mcp_gateway: {"type": "mcp_call.started" | "mcp_call.completed" |
"mcp_call.failed" | ..., ...}`), the caller's tool calls, the finish chunk carrying the summary above (with
`"type": "completed"`), the usage chunk when `stream_options.include_usage` asks for it, and `[DONE]`. Running the
loop and cancelling it when the client goes away is `loop_response`'s part.
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
from mcp_gateway.llm.events import (
    Completed,
    Failed,
    LoopEvent,
    RoundCompleted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from mcp_gateway.llm.loop import Emit, LoopRequest, RoundObserver, ToolLoop
from mcp_gateway.llm.models import ModelsConfig, UnknownModelError
from mcp_gateway.llm.providers import ProviderPool
from mcp_gateway.llm.toolset import mcp_tool_credentials, read_tools
from mcp_gateway.registry import Registry
from mcp_gateway.server.llm_http import (
    EXTENSION,
    failed_response,
    json_object_body,
    openai_error_body,
    own_origins,
    sse,
)
from mcp_gateway.server.loop_response import LoopResponse

logger = logging.getLogger(__name__)

# Fields the gateway reads itself; every other field goes to the provider (see each provider client).
_GATEWAY_FIELDS = frozenset({"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "stream",
                             "stream_options", "mcp_max_rounds", "mcp_approvals"})


def _summary(completed: Completed) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "calls": [record.to_json() for record in completed.calls],
        "rounds": [
            {"round": done.round, "usage": done.usage.to_json(), "finish_reason": done.finish_reason,
             "mcp_calls": done.mcp_calls}
            for done in completed.rounds
        ],
        "transcript": completed.transcript,
        "awaiting_approval": [call.call_id for call in completed.awaiting_approval],
    }
    if completed.note is not None:
        summary["note"] = completed.note
    return summary


class _ChatRenderer:
    """One response in the Chat Completions format: every chunk and the completion carry the same id, time and model."""

    def __init__(self, model: str, *, include_usage: bool) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.label = f"chat completion {self.id} ({model})"
        self._include_usage = include_usage

    def answer(self, outcome: Completed | Failed) -> Response:
        if isinstance(outcome, Failed):
            return failed_response(outcome)
        message = {"role": "assistant", "content": None, "refusal": None, **outcome.message}
        choice = {"index": 0, "message": message, "finish_reason": outcome.finish_reason, "logprobs": None}
        return JSONResponse({"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                             "choices": [choice], "usage": outcome.usage.to_json(), EXTENSION: _summary(outcome)})

    def opening(self) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def closing(self) -> bytes:
        return b"data: [DONE]\n\n"

    def render(self, event: LoopEvent) -> list[bytes]:
        if isinstance(event, TextDelta):
            return [self._chunk({"content": event.text})]
        if isinstance(event, ToolCallStarted):
            return [self._progress({"type": "mcp_call.started", "round": event.round, **event.call.to_json()})]
        if isinstance(event, ToolCallFinished):
            return [self._progress({"type": f"mcp_call.{event.record.status}", **event.record.to_json()})]
        if isinstance(event, RoundCompleted):
            return [self._progress({"type": "round.completed", "round": event.round, "usage": event.usage.to_json(),
                                    "finish_reason": event.finish_reason, "mcp_calls": event.mcp_calls})]
        if isinstance(event, Failed):
            # The OpenAI SDKs raise an APIError for an event carrying `error`.
            body = openai_error_body(event.error)
            body["error"]["status"] = event.status
            return [sse(body)]
        chunks = []
        calls = event.message.get("tool_calls") or []
        if calls:
            chunks.append(self._chunk({"tool_calls": [{"index": index, **call} for index, call in enumerate(calls)]}))
        chunks.append(self._chunk({}, event.finish_reason, {EXTENSION: {"type": "completed", **_summary(event)}}))
        if self._include_usage:
            chunks.append(self._chunk(None, extra={"usage": event.usage.to_json()}))
        return chunks

    def _progress(self, progress: Mapping[str, Any]) -> bytes:
        return self._chunk(None, extra={EXTENSION: progress})

    def _chunk(self, delta: Mapping[str, Any] | None, finish_reason: str | None = None,
               extra: Mapping[str, Any] | None = None) -> bytes:
        choices = [] if delta is None else [
            {"index": 0, "delta": dict(delta), "finish_reason": finish_reason, "logprobs": None}
        ]
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": choices, **(extra or {})}
        return sse(body)


def _approvals(value: object) -> dict[str, bool]:
    """`{call_id: bool}`, or a list of `{"tool_call_id" | "id": ..., "approve": bool}`."""
    if value is None:
        return {}
    if isinstance(value, Mapping) and all(isinstance(flag, bool) for flag in value.values()):
        return {str(key): flag for key, flag in value.items()}
    if isinstance(value, list):
        decisions: dict[str, bool] = {}
        for entry in value:
            call_id = entry.get("tool_call_id", entry.get("id")) if isinstance(entry, Mapping) else None
            approve = entry.get("approve") if isinstance(entry, Mapping) else None
            if not isinstance(call_id, str) or not isinstance(approve, bool):
                break
            decisions[call_id] = approve
        else:
            return decisions
    raise RequestError(400, 'mcp_approvals must be {"<tool call id>": true|false, ...}', param="mcp_approvals")


class ChatCompletions:
    def __init__(
        self, registry: Registry, models: ModelsConfig, pool: ProviderPool, observer: RoundObserver | None = None
    ) -> None:
        self._registry = registry
        self._models = models
        self._pool = pool
        self._loop = ToolLoop(registry, observer)

    def routes(self) -> list[Route]:
        return [
            Route("/v1/chat/completions", self.create, methods=["POST"]),
            Route("/v1/models", self.list_models, methods=["GET"]),
        ]

    async def list_models(self, request: Request) -> JSONResponse:
        data = [{"id": model, "object": "model", "created": 0, "owned_by": provider.name}
                for model, provider in self._models.listed_models()]
        return JSONResponse({"object": "list", "data": data})

    async def create(self, request: Request) -> Response:
        try:
            body = await json_object_body(request)
            loop_request, model, stream, include_usage = self._read(body, request)
            credentials = {**credentials_of(request.scope),
                           **mcp_tool_credentials(body.get("tools"), loop_request.tools)}
        except RequestError as error:
            return JSONResponse(openai_error_body(error), status_code=error.status)

        async def run(emit: Emit) -> None:
            # Set in the loop's own task, so the tool calls it starts carry the caller's credentials.
            with forwarding(credentials):
                await self._loop.run(loop_request, emit)

        return LoopResponse(run, _ChatRenderer(model, include_usage=include_usage), stream=stream)

    def _read(self, body: dict[str, Any], request: Request) -> tuple[LoopRequest, str, bool, bool]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise RequestError(400, "model is required: 'provider/model-name'", param="model")
        try:
            provider, model_name = self._models.resolve(model)
        except UnknownModelError as error:
            raise RequestError(400, str(error), param="model", code="model_not_found") from error
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise RequestError(400, "messages must be a non-empty array of message objects", param="messages")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise RequestError(400, "stream must be a boolean", param="stream")
        stream_options = body.get("stream_options") or {}
        include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
        if body.get("n") not in (None, 1):
            raise RequestError(400, "n must be 1: the gateway runs tools for one conversation", param="n")
        rounds = body.get("mcp_max_rounds", self._models.default_rounds)
        cap = self._models.max_rounds
        if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= cap:
            raise RequestError(400, f"mcp_max_rounds must be an integer from 1 to {cap} (this gateway's cap)",
                               param="mcp_max_rounds")
        parallel = body.get("parallel_tool_calls")
        tools = read_tools(body.get("tools"), self._registry, principal_of(request.scope), own_origins(request))
        loop_request = LoopRequest(
            client=self._pool.client(provider),
            protocol=provider.protocol,
            model=model_name,
            messages=messages,
            tools=tools,
            max_rounds=rounds,
            tool_choice=body.get("tool_choice"),
            parallel_tool_calls=parallel if isinstance(parallel, bool) else None,
            params={key: value for key, value in body.items() if key not in _GATEWAY_FIELDS},
            stream=stream,
            approvals=_approvals(body.get("mcp_approvals")),
        )
        return loop_request, model, stream, include_usage
