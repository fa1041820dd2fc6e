"""The tool loop: ask the model, run the MCP tools it calls through the registry, ask again, until it answers.

A round is one model call. After each, the MCP calls that need no approval run concurrently and their results join
the conversation as tool messages; the loop stops when the model answers without MCP calls, when it calls one of the
caller's own function tools or an MCP tool that needs approval (those go back to the caller; MCP calls of the same
turn run first), or at `max_rounds`. Tool failures of any kind (an error result, an exception, an unknown tool,
arguments that are not a JSON object) become error results the model reads; they never fail the request. A
forced `tool_choice` holds for the first round only, so a model made to call a tool can still answer afterwards.

A conversation that ends with MCP calls still unanswered (returned earlier awaiting approval) resumes them before
the first round: approved calls run, denied ones are answered as denied, and calls needing no approval just run.

The conversation is kept in the OpenAI Chat shape under the caller's names; the provider clients translate it.
The loop reports through `emit` (see `events`) and knows no caller wire format.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import mcp_types

from mcp_gateway.bridge.messages.common import MessageConversionError
from mcp_gateway.bridge.messages.tool_results import error_result, result_text
from mcp_gateway.bridge.targets import Provider
from mcp_gateway.bridge.tool_choice import map_tool_choice, read_tool_choice
from mcp_gateway.bridge.tools import ConvertedTools, ToolLimitError, convert_tools, is_hosted_tool
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.events import (
    CallStatus,
    Completed,
    Failed,
    LoopEvent,
    McpCall,
    McpCallRecord,
    RoundCompleted,
    StopReason,
    ToolCallFinished,
    ToolCallStarted,
)
from mcp_gateway.llm.providers.base import ModelClient, ModelRequest, ModelTurn, ProviderError, TextDelta, Usage
from mcp_gateway.llm.tool_cache import ConversionCache
from mcp_gateway.llm.toolset import McpTool, RequestTools
from mcp_gateway.registry import Registry, UnknownServerError, UnknownToolError

logger = logging.getLogger(__name__)

Emit = Callable[[LoopEvent], Awaitable[None]]

RESULT_EXCERPT = 2000
ROUND_LIMIT_FINISH = "mcp_round_limit"
DENIED_TEXT = "The user denied this tool call; it was not run."
NOT_RUN_TEXT = "Not run: the gateway's limit of {rounds} model rounds for this request was reached."


@dataclass(frozen=True)
class LoopRequest:
    client: ModelClient
    protocol: Provider
    """The client's wire protocol, as the bridge target that converts for it (`openai-responses` included)."""
    model: str
    """The provider's own model name."""
    messages: Sequence[Mapping[str, Any]]
    tools: RequestTools
    max_rounds: int
    tool_choice: str | Mapping[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    stream: bool = False
    approvals: Mapping[str, bool] = field(default_factory=dict)
    """Call id -> the caller's decision, for MCP calls returned awaiting approval."""


@dataclass
class _Progress:
    usage: Usage = field(default_factory=Usage)
    rounds: list[RoundCompleted] = field(default_factory=list)
    calls: list[McpCallRecord] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _PlannedCall:
    call: McpCall
    tool: McpTool | None
    """None when the model named a tool this request does not offer."""
    verdict: bool | None = None
    """The caller's approval decision for a resumed call: False runs nothing and answers "denied"."""


class RoundObserver(Protocol):
    """Told about every model call (metrics); must be cheap and never raise."""

    def round_finished(self, provider: str, model: str, outcome: str, seconds: float, prompt_tokens: int,
                       completion_tokens: int) -> None: ...


class ToolLoop:
    def __init__(self, registry: Registry, observer: RoundObserver | None = None) -> None:
        self._registry = registry
        self._conversions = ConversionCache()
        self._observer = observer

    async def run(self, request: LoopRequest, emit: Emit) -> None:
        progress = _Progress()
        try:
            await self._run(request, emit, progress)
        except (ProviderError, RequestError) as error:
            await emit(Failed(error, progress.calls))

    async def _run(self, request: LoopRequest, emit: Emit, progress: _Progress) -> None:
        tools = _convert(request, self._conversions)
        history = [dict(message) for message in request.messages]
        resumed = _resumed_calls(history, request)
        if resumed:
            results = await self._execute(resumed, 0, emit, progress)
            history.extend(results)
            progress.transcript.extend(_for_caller(results))
        tool_choice = request.tool_choice
        for round_number in range(1, request.max_rounds + 1):
            turn = _with_call_ids(await self._ask(request, tools, history, tool_choice, emit))
            tool_choice = _after_first_round(tool_choice)
            mcp_calls, caller_calls = _classify(turn, request.tools)
            round_done = RoundCompleted(round_number, turn.usage, turn.finish_reason, len(mcp_calls))
            progress.rounds.append(round_done)
            progress.usage = progress.usage + turn.usage
            await emit(round_done)
            if not mcp_calls:
                progress.transcript.append(turn.message)
                ended: StopReason = "caller_tools" if caller_calls else "answer"
                await emit(_completed(turn.message, turn.finish_reason, ended, progress))
                return
            if round_number == request.max_rounds:
                await emit(await self._round_limit(turn, mcp_calls, caller_calls, round_number, emit, progress))
                return
            awaiting = [planned for planned in mcp_calls if planned.tool is not None and planned.tool.needs_approval]
            runnable = [planned for planned in mcp_calls if planned not in awaiting]
            results = await self._execute(runnable, round_number, emit, progress)
            history.extend([turn.message, *results])
            progress.transcript.extend([turn.message, *_for_caller(results)])
            if caller_calls or awaiting:
                returned = {planned.call.call_id for planned in awaiting}
                returned |= {str(call.get("id")) for call in caller_calls}
                message = _with_calls(turn.message, returned)
                paused: StopReason = "approval" if awaiting else "caller_tools"
                await emit(_completed(message, "tool_calls", paused, progress,
                                      awaiting=[planned.call for planned in awaiting]))
                return
        raise AssertionError("unreachable: the last round returns")  # pragma: no cover

    async def _ask(self, request: LoopRequest, tools: ConvertedTools, history: list[dict[str, Any]],
                   tool_choice: str | Mapping[str, Any] | None, emit: Emit) -> ModelTurn:
        model_request = ModelRequest(
            model=request.model, messages=history, tools=tools, tool_choice=tool_choice,
            parallel_tool_calls=request.parallel_tool_calls, params=request.params, stream=request.stream,
        )
        turn: ModelTurn | None = None
        started = time.perf_counter()
        outcome = "exception"
        try:
            async with aclosing(request.client.respond(model_request)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        await emit(event)
                    else:
                        turn = event
            outcome = "ok" if turn is not None else "malformed"
        except MessageConversionError as error:
            outcome = "invalid_request"
            raise RequestError(400, f"messages: {error}", param="messages") from error
        except ProviderError as error:
            outcome = error.kind
            raise
        finally:
            if self._observer is not None:
                usage = turn.usage if turn is not None else Usage()
                self._observer.round_finished(request.client.name, request.model, outcome,
                                              time.perf_counter() - started, usage.prompt_tokens,
                                              usage.completion_tokens)
        if turn is None:
            raise ProviderError("malformed", request.client.name, "gave no answer")
        return turn

    async def _round_limit(self, turn: ModelTurn, mcp_calls: list[_PlannedCall], caller_calls: list[dict[str, Any]],
                           round_number: int, emit: Emit, progress: _Progress) -> Completed:
        """The last round asked for more MCP calls: none run; the transcript answers them as not run."""
        text = NOT_RUN_TEXT.format(rounds=round_number)
        results = []
        for planned in mcp_calls:
            record = McpCallRecord(planned.call, round_number, True, text, 0.0, "not_run")
            progress.calls.append(record)
            await emit(ToolCallFinished(record, text))
            results.append(_tool_message(planned.call.call_id, text))
        progress.transcript.extend([turn.message, *_for_caller(results)])
        message = _with_calls(turn.message, {str(call.get("id")) for call in caller_calls})
        finish = "tool_calls" if caller_calls else ROUND_LIMIT_FINISH
        names = ", ".join(planned.call.name for planned in mcp_calls)
        note = (f"stopped after {round_number} rounds (the request's round limit) with the model still calling MCP "
                f"tools ({names}); they were not run. Raise mcp_max_rounds or continue the conversation.")
        return _completed(message, finish, "round_limit", progress, note=note)

    async def _execute(self, planned: Sequence[_PlannedCall], round_number: int, emit: Emit,
                       progress: _Progress) -> list[dict[str, Any]]:
        """Run the calls concurrently; records and tool messages in the order of the calls."""
        done: list[tuple[McpCallRecord, str] | None] = [None] * len(planned)

        async def run_one(index: int) -> None:
            done[index] = await self._call(planned[index], round_number, emit)

        async with anyio.create_task_group() as group:
            for index in range(len(planned)):
                group.start_soon(run_one, index)
        finished = [outcome for outcome in done if outcome is not None]
        progress.calls.extend(record for record, _ in finished)
        return [_tool_message(record.call.call_id, text, is_error=record.is_error) for record, text in finished]

    async def _call(self, planned: _PlannedCall, round_number: int, emit: Emit) -> tuple[McpCallRecord, str]:
        """The call's record and the whole result text the model gets."""
        call = planned.call
        await emit(ToolCallStarted(call, round_number))
        started = time.perf_counter()
        status: CallStatus = "completed"
        if planned.verdict is False:
            result, status = error_result(DENIED_TEXT), "denied"
        elif planned.tool is None:
            result = error_result(f"tool {call.name!r} is not among this request's tools")
        elif call.arguments is None:
            result = error_result(f"tool {call.name!r} was called with arguments that are not a JSON object")
        else:
            result = await self._call_registry(planned.tool, call.arguments)
        duration_ms = (time.perf_counter() - started) * 1000
        text = result_text(result)
        if result.is_error and status == "completed":
            status = "failed"
        record = McpCallRecord(call, round_number, bool(result.is_error), _excerpt(text), duration_ms, status)
        await emit(ToolCallFinished(record, text))
        return record, text

    async def _call_registry(self, tool: McpTool, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        registered = tool.registered
        try:
            return await self._registry.call_tool(registered.server_name, arguments, server=registered.server)
        except (UnknownToolError, UnknownServerError):
            return error_result(f"tool {tool.name!r} is no longer available on server {registered.server!r}")
        except Exception as error:
            # An upstream is meant to turn its failures into error results; one that raises must still not fail
            # the request, and the model is told as much as an MCP client would be.
            logger.exception("tool '%s' of server '%s' raised", registered.upstream_name, registered.server)
            return error_result(f"tool {tool.name!r} failed: {type(error).__name__}")


def _convert(request: LoopRequest, cache: ConversionCache) -> ConvertedTools:
    provider = request.protocol
    for hosted in request.tools.hosted:
        if not is_hosted_tool(hosted, provider):
            raise RequestError(400, f"a tool of type {hosted.get('type')!r} cannot be sent to a {provider} model",
                               param="tools")

    def convert() -> ConvertedTools:
        converted = convert_tools(request.tools.offered(), provider, hosted=request.tools.hosted)
        if provider in ("openai", "openai-responses"):
            return _verbatim_functions(converted, request.tools.function_definitions, provider)
        return converted

    try:
        converted = cache.converted(provider, request.tools, convert)
    except ToolLimitError as error:
        raise RequestError(
            400,
            f"the request offers {error.count} tools, but {provider} models accept at most {error.limit} per request; "
            "select fewer with allowed_tools on the mcp tools",
            param="tools", code="too_many_tools",
        ) from error
    try:
        # Mapped here once so that a choice the provider cannot express is the caller's 400, before any round.
        map_tool_choice(request.tool_choice, provider, converted.name_map)
    except ValueError as error:
        raise RequestError(400, f"tool_choice: {error}", param="tool_choice") from error
    return converted


def _verbatim_functions(converted: ConvertedTools, written: Mapping[str, Mapping[str, Any]],
                        provider: Provider) -> ConvertedTools:
    """The caller's function tools exactly as written (`strict` and all) for an OpenAI provider: the caller wrote
    them for that API. For the Responses API (flat tools) the fields the caller left out (`strict`, which it
    requires) come from the conversion. A name the request had to change (it met a hosted tool's) keeps the
    conversion."""
    kept = {name for name in written if converted.name_map.to_target(name) == name}
    if not kept:
        return converted

    def name_of(definition: Mapping[str, Any]) -> str:
        return str(definition["function"]["name"] if provider == "openai" else definition["name"])

    def as_written(definition: dict[str, Any]) -> dict[str, Any]:
        chat = copy.deepcopy(dict(written[name_of(definition)]))
        return chat if provider == "openai" else {**definition, "type": "function", **chat["function"]}

    definitions = [as_written(definition) if name_of(definition) in kept else definition
                   for definition in converted.definitions]
    return dataclasses.replace(
        converted,
        definitions=definitions,
        argument_keys={name: keys for name, keys in converted.argument_keys.items() if name not in kept},
        strict_schemas={name: schema for name, schema in converted.strict_schemas.items() if name not in kept},
    )


def _with_call_ids(turn: ModelTurn) -> ModelTurn:
    """The turn with an id on every tool call: some OpenAI-compatible servers leave them out, and a tool result
    can only answer a call by id."""
    calls = turn.tool_calls
    if all(isinstance(call.get("id"), str) and call["id"] for call in calls):
        return turn
    named = [call if isinstance(call.get("id"), str) and call["id"] else {**call, "id": f"call_{uuid.uuid4().hex[:24]}"}
             for call in calls]
    return dataclasses.replace(turn, message={**turn.message, "tool_calls": named})


def _after_first_round(choice: str | Mapping[str, Any] | None) -> str | Mapping[str, Any] | None:
    if choice is None or choice == "none":
        return choice
    return "auto" if read_tool_choice(choice).mode in ("required", "named") else choice


def _arguments(raw: object) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else None


def _classify(turn: ModelTurn, tools: RequestTools) -> tuple[list[_PlannedCall], list[dict[str, Any]]]:
    """The turn's calls the gateway answers (MCP tools, and names no tool has), and the caller's own."""
    caller_names = {function.name for function in tools.functions}
    gateway: list[_PlannedCall] = []
    caller: list[dict[str, Any]] = []
    for call in turn.tool_calls:
        function = call.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or name in caller_names:
            caller.append(call)
            continue
        tool = tools.mcp.get(name)
        gateway.append(_planned(call, name, tool))
    return gateway, caller


def _planned(call: Mapping[str, Any], name: str, tool: McpTool | None, verdict: bool | None = None) -> _PlannedCall:
    function = call.get("function") or {}
    server = tool.registered.server if tool is not None else ""
    upstream = tool.registered.upstream_name if tool is not None else name
    mcp_call = McpCall(str(call.get("id")), name, server, upstream, _arguments(function.get("arguments")))
    return _PlannedCall(mcp_call, tool, verdict)


def _resumed_calls(history: list[dict[str, Any]], request: LoopRequest) -> list[_PlannedCall]:
    """MCP calls of the conversation's last assistant turn that have no result yet, to run before the model is
    asked again: those that need approval with the caller's decision (RequestError without one)."""
    approvals = dict(request.approvals)
    last = len(history) - 1
    while last >= 0 and history[last].get("role") == "tool":
        last -= 1
    calls = history[last].get("tool_calls") if last >= 0 and history[last].get("role") == "assistant" else None
    answered = {message.get("tool_call_id") for message in history[last + 1 :]}
    planned: list[_PlannedCall] = []
    for call in calls or []:
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        tool = request.tools.mcp.get(name) if isinstance(name, str) else None
        if tool is None or call_id in answered or not isinstance(call_id, str):
            continue
        if call_id not in approvals and not tool.needs_approval:
            planned.append(_planned(call, str(name), tool))
            continue
        if call_id not in approvals:
            raise RequestError(
                400, f"tool call {call_id!r} ({name}) awaits approval: send mcp_approvals "
                f'{{"{call_id}": true}} to run it or false to deny it', param="mcp_approvals",
            )
        planned.append(_planned(call, str(name), tool, approvals.pop(call_id)))
    if approvals:
        raise RequestError(400, f"mcp_approvals names {sorted(approvals)}, which await no approval in the "
                           "conversation's last assistant message", param="mcp_approvals")
    return planned


def _tool_message(call_id: str, text: str, *, is_error: bool = False) -> dict[str, Any]:
    """A tool result; `is_error` is the bridge's mark for Anthropic's and Gemini's error results (never sent to
    OpenAI, and left out of the transcript the caller gets)."""
    message: dict[str, Any] = {"role": "tool", "tool_call_id": call_id, "content": text}
    if is_error:
        message["is_error"] = True
    return message


def _for_caller(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in message.items() if key != "is_error"} for message in messages]


def _with_calls(message: Mapping[str, Any], call_ids: set[str]) -> dict[str, Any]:
    """A copy of an assistant message keeping only the tool calls in `call_ids`."""
    kept = [call for call in message.get("tool_calls") or [] if str(call.get("id")) in call_ids]
    copied = {key: value for key, value in message.items() if key != "tool_calls"}
    if kept:
        copied["tool_calls"] = kept
    return copied


def _excerpt(text: str) -> str:
    return text if len(text) <= RESULT_EXCERPT else text[: RESULT_EXCERPT - 1] + "…"


def _completed(message: dict[str, Any], finish_reason: str, stop: StopReason, progress: _Progress, *,
               awaiting: list[McpCall] | None = None, note: str | None = None) -> Completed:
    return Completed(message, finish_reason, stop, progress.usage, list(progress.rounds), list(progress.calls),
                     list(progress.transcript), awaiting or [], note)
