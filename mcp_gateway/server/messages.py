"""The Anthropic Messages door: `POST /v1/messages`, as the official `anthropic` SDK and Claude Code send it.

`model` names any configured provider (`anthropic/…`, `openai/…`, `gemini/…`, an OpenAI-compatible one); a bare
Claude model name (`claude-…`) means Anthropic. The request is read into the tool loop's terms by
`messages_request`; the MCP connector's servers are this gateway's own, and the gateway runs their tools.

The answer is Anthropic's: a `message` whose content holds, per model round, its text, an `mcp_tool_use` block
(`id`, `name`, `server_name`, `input`) for each MCP call the gateway ran and an `mcp_tool_result` block (`tool_use_id`,
`is_error`, `content`) with its result; `tool_use` blocks for the caller's own tools (stop_reason `tool_use`), to run
and answer with `tool_result` blocks as usual. Sent back as it came, such a message continues the conversation.
`usage` is summed over all rounds; `stop_reason` is `end_turn`, `max_tokens`, `tool_use`, `refusal`, or `pause_turn`
when the gateway's round limit stopped the loop (send the message back to go on). One extension field,
`mcp_gateway`, lists every call (`calls`), each round's usage (`rounds`) and, at the round limit, a `note`.

With `stream: true` the same arrives as Anthropic's server-sent events (see `messages_stream`). Errors have
Anthropic's shape, `{"type": "error", "error": {"type", "message"}}`, with the status the chat door would give.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_gateway.auth.middleware import presented_credential
from mcp_gateway.auth.principal import principal_of
from mcp_gateway.auth.user_credentials import credentials_of, forwarding
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.events import Completed, Failed, McpCallRecord
from mcp_gateway.llm.loop import Emit, LoopRequest, RoundObserver, ToolLoop
from mcp_gateway.llm.models import ModelsConfig, ProviderConfig, UnknownModelError
from mcp_gateway.llm.providers import ProviderPool
from mcp_gateway.llm.providers.base import ProviderError
from mcp_gateway.llm.toolset import RequestTools
from mcp_gateway.registry import Registry
from mcp_gateway.server.llm_http import MAX_BODY_BYTES, own_origins
from mcp_gateway.server.loop_response import LoopResponse
from mcp_gateway.server.messages_request import conversation, provider_params, read_tools
from mcp_gateway.server.messages_stream import MessagesStream
from mcp_gateway.server.messages_wire import (
    EXTENSION,
    anthropic_error,
    call_input,
    failure_body,
    mcp_tool_result,
    mcp_tool_use,
    stop_reason,
    summary,
    usage_json,
)

Json = dict[str, Any]

BARE_CLAUDE_PREFIX = "claude-"


def _tool_use(call: Mapping[str, Any], records: Mapping[str, McpCallRecord], tools: RequestTools) -> Json:
    """A tool call of the transcript as Anthropic content: `mcp_tool_use` when the gateway ran it."""
    call_id, name, arguments = call_input(call)
    record = records.get(call_id)
    if record is not None:
        return mcp_tool_use(record.call, tools)
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def _content(completed: Completed, tools: RequestTools) -> list[Json]:
    """The transcript as Anthropic content blocks. A round's own tool calls come before its MCP results, so the
    message sent back reads as the rounds it was."""
    records = {record.call.call_id: record for record in completed.calls}
    blocks: list[Json] = []
    for message in completed.transcript:
        if message.get("role") == "tool":
            record = records.get(str(message.get("tool_call_id")))
            if record is not None:
                content = message.get("content")
                text = content if isinstance(content, str) else json.dumps(content)
                blocks.append(mcp_tool_result(record.call.call_id, record.is_error, text))
            continue
        blocks.extend(dict(block) for block in message.get("thinking_blocks") or [])
        content = message.get("content")
        if isinstance(content, str) and content:
            blocks.append({"type": "text", "text": content})
        calls = [_tool_use(call, records, tools) for call in message.get("tool_calls") or []]
        blocks.extend(sorted(calls, key=lambda block: block["type"] != "mcp_tool_use"))
    return blocks


class _MessageRenderer:
    """One answer in the Messages format, as one JSON message or as its event stream."""

    def __init__(self, model: str, tools: RequestTools) -> None:
        self.id = f"msg_{uuid.uuid4().hex}"
        self.model = model
        self.tools = tools
        self.label = f"message {self.id} ({model})"
        self.stream = MessagesStream(self.id, model, tools)
        self.opening = self.stream.opening
        self.render = self.stream.render
        self.closing = self.stream.closing

    def answer(self, outcome: Completed | Failed) -> Response:
        if isinstance(outcome, Failed):
            return failed_response(outcome)
        body: Json = {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": _content(outcome, self.tools), "stop_reason": stop_reason(outcome.finish_reason),
            "stop_sequence": None, "usage": usage_json(outcome), EXTENSION: summary(outcome),
        }
        return JSONResponse(body)


def failed_response(failed: Failed) -> JSONResponse:
    body = failure_body(failed.error, failed.status)
    if failed.calls:
        body[EXTENSION] = {"calls": [record.to_json() for record in failed.calls]}
    retry_after = failed.error.retry_after if isinstance(failed.error, ProviderError) else None
    headers = {"retry-after": str(math.ceil(retry_after))} if retry_after is not None else None
    return JSONResponse(body, status_code=failed.status, headers=headers)


class Messages:
    def __init__(
        self, registry: Registry, models: ModelsConfig, pool: ProviderPool, observer: RoundObserver | None = None
    ) -> None:
        self._registry = registry
        self._models = models
        self._pool = pool
        self._loop = ToolLoop(registry, observer)

    def routes(self) -> list[Route]:
        return [Route("/v1/messages", self.create, methods=["POST"])]

    async def create(self, request: Request) -> Response:
        try:
            body = await _body(request)
            loop_request, model, tools, credentials = self._read(body, request)
        except RequestError as error:
            return JSONResponse(anthropic_error(error.status, error.message), status_code=error.status)

        async def run(emit: Emit) -> None:
            # Set in the loop's own task, so the tool calls it starts carry the caller's credentials.
            with forwarding(credentials):
                await self._loop.run(loop_request, emit)

        return LoopResponse(run, _MessageRenderer(model, tools), stream=loop_request.stream)

    def _resolve(self, model: object) -> tuple[ProviderConfig, str]:
        if not isinstance(model, str) or not model:
            raise RequestError(400, "model: Field required ('provider/model-name', or a claude-… model)")
        name = f"anthropic/{model}" if model.startswith(BARE_CLAUDE_PREFIX) and "/" not in model else model
        try:
            return self._models.resolve(name)
        except UnknownModelError as error:
            raise RequestError(404, f"model: {error}") from error

    def _read(self, body: Json, request: Request) -> tuple[LoopRequest, str, RequestTools, dict[str, str]]:
        provider, model_name = self._resolve(body.get("model"))
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise RequestError(400, "stream: must be a boolean")
        messages = conversation(body.get("system"), body.get("messages"),
                                media_in_tool_results=provider.protocol != "openai")
        params = provider_params(body, provider)
        presented = presented_credential(Headers(scope=request.scope))
        read = read_tools(body, self._registry, principal_of(request.scope), own_origins(request), presented)
        rounds = body.get("mcp_max_rounds", self._models.default_rounds)
        cap = self._models.max_rounds
        if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= cap:
            raise RequestError(400, f"mcp_max_rounds: must be an integer from 1 to {cap} (this gateway's cap)")
        loop_request = LoopRequest(
            client=self._pool.client(provider), protocol=provider.protocol, model=model_name, messages=messages,
            tools=read.tools, max_rounds=rounds, tool_choice=read.tool_choice,
            parallel_tool_calls=read.parallel_tool_calls, params=params, stream=stream,
        )
        credentials = {**credentials_of(request.scope), **read.credentials}
        return loop_request, str(body["model"]), read.tools, credentials


async def _body(request: Request) -> Json:
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
