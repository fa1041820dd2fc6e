"""Local stand-ins for LLM provider APIs, strict about requests the way the real providers are.

    python -m tests.e2e.fake_providers --port N [--host 127.0.0.1]

Routes, each speaking its provider's wire format so the official SDKs (and the gateway) can talk to it unchanged:

    POST /openai/v1/chat/completions                           OpenAI Chat Completions (also `stream: true`)
    POST /compatible/v1/chat/completions                       the same as an OpenAI-compatible server (vLLM,
                                                               Ollama, ...): unknown request fields are accepted
    POST /openai/v1/responses                                  OpenAI Responses (also `stream: true`)
    POST /anthropic/v1/messages                                Anthropic Messages (also `stream: true`)
    POST /gemini/v1beta/models/{model}:generateContent         Gemini generateContent
    POST /gemini/v1beta/models/{model}:streamGenerateContent   the same as server-sent events (`?alt=sse`)
    POST /__scripts   {"model", "turns"}                       the script of turns for one model name
    GET  /__received?model=NAME                                every request for that model (path, headers, body),
                                                               and how many of its streams lost their client

Every request needs the provider's credentials header (401 in its envelope otherwise), may carry only the request
fields the real API knows (OpenAI, Anthropic and Gemini refuse others; compatible servers take them), and is checked
with the documented tool rules of tests/provider_rules.py, the conversation rules each provider enforces (tool results
answer earlier tool calls, Anthropic roles alternate and text blocks are non-empty, ...), and a forced tool choice
must name one of the request's tools. A violation is answered with status 400 in the provider's own error
envelope, so a client sees exactly what the real API would answer.

A model with a script answers turn by turn as tests/e2e/provider_script.py describes (text, tool calls, errors,
delays). Any other model is scripted by the conversation: when the last turn is the user's and its text says
`call <tool-name> with <json object>`, the reply is one call of that tool with those arguments; when the last
turn carries tool results, the reply is text that quotes them, so a test can see that they arrived.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mcp_gateway.bridge.targets import Provider
from tests.e2e.provider_script import ScriptedError, ScriptError, ScriptStore, play
from tests.e2e.provider_wire import (
    Answer,
    Call,
    anthropic_message,
    anthropic_stream,
    error_response,
    gemini_response,
    gemini_stream,
    new_id,
    openai_completion,
    openai_stream,
    responses_body,
    responses_stream,
)
from tests.provider_rules import tool_name, validate_tool_definitions

_CALL_INSTRUCTION = re.compile(r"\bcall\s+(?P<name>\S+)\s+with\s+(?P<arguments>\{.*\})\s*\Z", re.DOTALL)
_RESULT_PREFIX = "The tool answered: "


class RequestRejected(Exception):
    """What the real provider would answer with a 400; `param` names the offending field where OpenAI does."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


@dataclass(frozen=True)
class ToolCallReply:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class TextReply:
    text: str


Reply = ToolCallReply | TextReply

STORE = ScriptStore()


@dataclass(frozen=True)
class Seen:
    """What the "model" reads from a valid request: the tools offered, the user's text, trailing tool results."""

    offered: list[str]
    user_text: str | None
    results: list[str]


def _require(condition: bool, message: str, param: str | None = None) -> None:
    if not condition:
        raise RequestRejected(message, param)


def _list_of(value: object, message: str, param: str | None = None, *, non_empty: bool = False) -> list[Any]:
    """`value` as a list, or the provider's rejection when it is not one (or is empty where that is required)."""
    if not isinstance(value, list) or (non_empty and not value):
        raise RequestRejected(message, param)
    return value


def _check_tools(provider: Provider, definitions: object, param: str) -> list[str]:
    """The names of the request's tools, once every definition passes the provider's documented rules."""
    checked = _list_of(definitions, f"Invalid type for '{param}': expected an array.", param)
    problems = validate_tool_definitions(provider, checked)
    _require(not problems, f"Invalid '{param}': " + "; ".join(problems[:5]), param)
    return [str(tool_name(provider, definition)) for definition in checked]


def _check_named_choice(name: object, offered: list[str], param: str) -> None:
    # Every provider rejects a forced tool that the request does not define.
    _require(name in offered, f"Invalid value for '{param}': tool {name!r} is not among the request's tools.", param)


def _check_openai_choice(choice: object, offered: list[str], *, nested: bool) -> None:
    """Chat Completions names a forced tool at `function.name`, the Responses API at `name`."""
    if not isinstance(choice, dict):
        modes = "Supported values are: 'none', 'auto', and 'required'."
        _require(choice in (None, "none", "auto", "required"), f"Invalid value: {choice!r}. {modes}", "tool_choice")
        return
    _require(choice.get("type") == "function", "Invalid value for 'tool_choice.type'.", "tool_choice.type")
    name = (choice.get("function") or {}).get("name") if nested else choice.get("name")
    _check_named_choice(name, offered, "tool_choice.function.name" if nested else "tool_choice.name")


def _reply_to(
    last_user_text: str | None, tool_result_text: str | None, offered: Iterable[str], id_prefix: str = "call_"
) -> Reply:
    """The scripted model: quote a tool result, or make the tool call the user's text asks for."""
    if tool_result_text is not None:
        return TextReply(_RESULT_PREFIX + tool_result_text)
    match = _CALL_INSTRUCTION.search(last_user_text or "")
    if match is None:
        return TextReply("No tool call was requested.")
    name = match["name"]
    # A real model cannot call a tool it was not given; here that can only be a mistake in the test.
    _require(name in set(offered), f"fake provider: the user asked for {name!r}, which is not among the tools")
    try:
        arguments = json.loads(match["arguments"])
    except json.JSONDecodeError as error:
        raise RequestRejected(f"fake provider: the requested arguments are not JSON: {error}") from error
    _require(isinstance(arguments, dict), "fake provider: the requested arguments must be a JSON object")
    return ToolCallReply(new_id(id_prefix), name, arguments)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except json.JSONDecodeError as error:
        raise RequestRejected(f"We could not parse the JSON body of your request: {error}") from error
    if not isinstance(body, dict):
        raise RequestRejected("The request body must be a JSON object.")
    return body


def _text_of(content: object, text_types: tuple[str, ...] = ("text", "input_text", "output_text")) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(
        str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") in text_types
    )


# --- OpenAI Chat Completions -------------------------------------------------------------------------------


def _check_openai_messages(messages: object) -> None:
    messages = _list_of(messages, "Invalid 'messages': empty array.", "messages", non_empty=True)
    awaiting: set[str] = set()  # tool_call ids of the last assistant message not yet answered
    answerable: set[str] = set()
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        param = f"messages.[{index}].role"
        _require(role in {"system", "developer", "user", "assistant", "tool"}, f"Invalid value: '{role}'.", param)
        if role == "tool":
            call_id = message.get("tool_call_id")
            _require(
                call_id in answerable,
                "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
                f"'tool_calls' (no tool call has the id {call_id!r}).",
                param,
            )
            awaiting.discard(call_id)
            continue
        _require(not awaiting, _unanswered_openai_calls(awaiting), param)
        calls = (message.get("tool_calls") or []) if role == "assistant" else []
        answerable = {str(call.get("id")) for call in calls if isinstance(call, dict)}
        awaiting = set(answerable)
    _require(not awaiting, _unanswered_openai_calls(awaiting), "messages")


def _unanswered_openai_calls(call_ids: set[str]) -> str:
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {sorted(call_ids)}"
    )


# Chat Completions request fields; OpenAI refuses any other, while compatible servers (vLLM, Ollama, ...) take
# fields of their own.
_OPENAI_CHAT_FIELDS = frozenset({
    "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs", "max_completion_tokens",
    "max_tokens", "messages", "metadata", "modalities", "model", "moderation", "n", "parallel_tool_calls",
    "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention",
    "reasoning_effort", "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
    "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity",
    "web_search_options",
})


def _openai_chat_seen(body: dict[str, Any], *, compatible: bool = False) -> Seen:
    for extra in sorted(set(body) - _OPENAI_CHAT_FIELDS) if not compatible else []:
        raise RequestRejected(f"Unrecognized request argument supplied: {extra}", extra)
    _require(isinstance(body.get("model"), str), "you must provide a model parameter", "model")
    _check_openai_messages(body.get("messages"))
    offered = _check_tools("openai", body.get("tools", []), "tools")
    _check_openai_choice(body.get("tool_choice"), offered, nested=True)
    messages = body["messages"]
    trailing = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing.insert(0, _text_of(message.get("content")))
    if trailing:
        return Seen(offered, None, trailing)
    last = messages[-1]
    return Seen(offered, _text_of(last.get("content")) if last.get("role") == "user" else None, [])


async def openai_chat_completions(request: Request) -> Response:
    try:
        body = await _received(request)
        _require_credentials(request, "openai")
        compatible = request.url.path.startswith("/compatible/")
        answer = await _answer(body["model"], _openai_chat_seen(body, compatible=compatible), "call_")
    except RequestRejected as rejected:
        return error_response("openai", rejected.status, rejected.message, param=rejected.param)
    if isinstance(answer, ScriptedError):
        return error_response("openai", answer.status, answer.message, retry_after=answer.retry_after)
    if body.get("stream") is True:
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        stream = openai_stream(answer, body["model"], include_usage)
        return StreamingResponse(_watched(body["model"], stream), media_type="text/event-stream")
    return JSONResponse(openai_completion(answer, body["model"]))


def _openai_error(rejected: RequestRejected) -> Response:
    return error_response("openai", rejected.status, rejected.message, param=rejected.param)


# --- OpenAI Responses --------------------------------------------------------------------------------------


# Responses request fields; OpenAI refuses any other.
_OPENAI_RESPONSES_FIELDS = frozenset({
    "background", "conversation", "include", "input", "instructions", "max_output_tokens", "max_tool_calls",
    "metadata", "model", "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key",
    "reasoning", "safety_identifier", "service_tier", "store", "stream", "stream_options", "temperature", "text",
    "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
})


def _responses_seen(body: dict[str, Any]) -> Seen:
    for extra in sorted(set(body) - _OPENAI_RESPONSES_FIELDS):
        raise RequestRejected(f"Unknown parameter: '{extra}'.", extra)
    _require(isinstance(body.get("model"), str), "Missing required parameter: 'model'.", "model")
    raw_input = body.get("input")
    items = [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
    items = _list_of(items, "Missing required parameter: 'input'.", "input", non_empty=True)
    offered = _check_tools("openai-responses", body.get("tools", []), "tools")
    _check_openai_choice(body.get("tool_choice"), offered, nested=False)
    called: set[str] = set()
    answered: set[str] = set()
    for index, item in enumerate(items):
        kind = item.get("type", "message")
        _require(kind in ("message", "function_call", "function_call_output"),
                 f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', and "
                 "'function_call_output' (this stand-in).", f"input[{index}].type")
        if kind == "function_call":
            called.add(item.get("call_id"))
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            _require(
                call_id in called,
                f"No tool call found for function call output with call_id {call_id}.",
                f"input[{index}]",
            )
            answered.add(call_id)
        else:
            _require(item.get("role") in ("user", "assistant", "system", "developer"),
                     f"Invalid value: '{item.get('role')}'.", f"input[{index}].role")
    for call_id in sorted(called - answered):
        raise RequestRejected(f"No tool output found for function call {call_id}.", "input")
    trailing = []
    for item in reversed(items):
        if item.get("type") != "function_call_output":
            break
        trailing.insert(0, _text_of(item.get("output")))
    if trailing:
        return Seen(offered, None, trailing)
    last = items[-1]
    return Seen(offered, _text_of(last.get("content")) if last.get("role") == "user" else None, [])


async def openai_responses(request: Request) -> Response:
    try:
        body = await _received(request)
        _require_credentials(request, "openai")
        answer = await _answer(body["model"], _responses_seen(body), "call_")
    except RequestRejected as rejected:
        return _openai_error(rejected)
    if isinstance(answer, ScriptedError):
        return error_response("openai", answer.status, answer.message, retry_after=answer.retry_after)
    if body.get("stream") is True:
        return StreamingResponse(_watched(body["model"], responses_stream(answer, body["model"])),
                                 media_type="text/event-stream")
    return JSONResponse(responses_body(answer, body["model"]))


# --- Anthropic Messages ------------------------------------------------------------------------------------


def _check_anthropic_text(block: Mapping[str, Any], where: str) -> None:
    text = block.get("text")
    _require(isinstance(text, str) and text != "", f"{where}: text content blocks must be non-empty")
    _require(bool(str(text).strip()), f"{where}: text content blocks must contain non-whitespace text")


def _check_anthropic_blocks(blocks: object, where: str) -> list[dict[str, Any]]:
    blocks = _list_of(blocks, f"{where}: Input should be a valid list")
    for position, block in enumerate(blocks):
        _require(isinstance(block, dict) and "type" in block, f"{where}.{position}: Field required: type")
        if block["type"] == "text":
            # Anthropic names only the top-level field in this error: "messages: ..." or "system: ...".
            _check_anthropic_text(block, where.split(".")[0])
        elif block["type"] == "tool_result" and isinstance(block.get("content"), list):
            _check_anthropic_blocks(block["content"], f"{where}.{position}.content")
    return blocks


def _check_anthropic_messages(messages: object, has_tools: bool) -> None:
    messages = _list_of(messages, "messages: at least one message is required", non_empty=True)
    tool_use_ids: set[str] = set()  # of the previous (assistant) turn
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        _require(role in ("user", "assistant"), f"messages.{index}.role: Input should be 'user' or 'assistant'")
        _require(index > 0 or role == "user", 'messages: first message must use the "user" role')
        previous = messages[index - 1]["role"] if index else None
        _require(
            role != previous,
            f'messages: roles must alternate between "user" and "assistant", but found multiple "{role}" roles '
            "in a row",
        )
        content = message.get("content")
        final_assistant = role == "assistant" and index == len(messages) - 1
        if isinstance(content, str):
            content = [{"type": "text", "text": content}] if content or not final_assistant else []
        blocks = _check_anthropic_blocks(content, f"messages.{index}.content")
        _require(
            bool(blocks) or final_assistant,
            f"messages.{index}: all messages must have non-empty content except for the optional final "
            "assistant message",
        )
        results = [str(block.get("tool_use_id")) for block in blocks if block["type"] == "tool_result"]
        for stray in sorted(set(results) - tool_use_ids):
            raise RequestRejected(
                f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: {stray}. Each "
                "`tool_result` block must have a corresponding `tool_use` block in the previous message."
            )
        for missing in sorted(tool_use_ids - set(results)):
            raise RequestRejected(
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            )
        uses = [block for block in blocks if block["type"] == "tool_use"]
        _require(
            has_tools or not (uses or results),
            "Requests which include `tool_use` or `tool_result` blocks must define tools.",
        )
        tool_use_ids = {str(block.get("id")) for block in uses}
        if final_assistant and blocks and blocks[-1]["type"] == "text":
            _require(
                blocks[-1]["text"] == blocks[-1]["text"].rstrip(),
                "messages: final assistant content cannot end with trailing whitespace",
            )
    _require(
        not tool_use_ids,
        f"messages.{len(messages)}: `tool_use` ids were found without `tool_result` blocks immediately after: "
        f"{', '.join(sorted(tool_use_ids))}",
    )


# Top-level fields of the Messages API; anything else is "Extra inputs are not permitted".
_ANTHROPIC_FIELDS = frozenset({
    "model", "messages", "max_tokens", "system", "tools", "tool_choice", "temperature", "top_p", "top_k",
    "stop_sequences", "stream", "metadata", "thinking", "service_tier", "container", "mcp_servers",
    "context_management",
})
# GenerateContentRequest fields (JSON names); anything else is 'Invalid JSON payload received. Unknown name'.
_GEMINI_FIELDS = frozenset({
    "contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config", "generationConfig",
    "generation_config", "safetySettings", "safety_settings", "cachedContent", "cached_content", "labels",
})


def _anthropic_seen(body: dict[str, Any]) -> Seen:
    for extra in sorted(set(body) - _ANTHROPIC_FIELDS):
        raise RequestRejected(f"{extra}: Extra inputs are not permitted")
    _require(isinstance(body.get("model"), str), "model: Field required")
    _require(isinstance(body.get("max_tokens"), int), "max_tokens: Field required")
    system = body.get("system")
    if isinstance(system, list):
        _check_anthropic_blocks(system, "system")
    offered = _check_tools("anthropic", body.get("tools", []), "tools")
    choice = body.get("tool_choice", {"type": "auto"})
    kind = choice.get("type") if isinstance(choice, dict) else None
    _require(kind in ("auto", "any", "none", "tool"), "tool_choice: Input tag does not match any of the expected tags")
    if choice["type"] == "tool":
        _check_named_choice(choice.get("name"), offered, "tool_choice.name")
    _check_anthropic_messages(body.get("messages"), bool(offered))
    last = body["messages"][-1]
    content = last["content"] if isinstance(last["content"], list) else [{"type": "text", "text": last["content"]}]
    results = [block for block in content if block["type"] == "tool_result"]
    if results:
        return Seen(offered, None, [_text_of(block.get("content")) for block in results])
    return Seen(offered, _text_of(content) if last["role"] == "user" else None, [])


async def anthropic_messages(request: Request) -> Response:
    try:
        body = await _received(request)
        _require_credentials(request, "anthropic")
        answer = await _answer(body.get("model"), _anthropic_seen(body), "toolu_")
    except RequestRejected as rejected:
        return error_response("anthropic", rejected.status, rejected.message)
    if isinstance(answer, ScriptedError):
        return error_response("anthropic", answer.status, answer.message, retry_after=answer.retry_after)
    if body.get("stream") is True:
        stream = anthropic_stream(answer, body["model"])
        return StreamingResponse(_watched(body["model"], stream), media_type="text/event-stream")
    return JSONResponse(anthropic_message(answer, body["model"]))


# --- Gemini generateContent --------------------------------------------------------------------------------


def _gemini_function_names(body: dict[str, Any]) -> list[str]:
    declarations: list[dict[str, Any]] = []
    for tool in _list_of(body.get("tools", []), 'Invalid JSON payload received. Unknown name "tools".'):
        declarations.extend(tool.get("functionDeclarations") or tool.get("function_declarations") or [])
    offered = _check_tools("gemini", declarations, "tools[0].function_declarations")
    config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode, allowed = config.get("mode", "AUTO"), config.get("allowedFunctionNames")
    where = "* GenerateContentRequest.tool_config.function_calling_config"
    _require(mode in ("AUTO", "ANY", "NONE", "VALIDATED"), f"{where}.mode: invalid value {mode!r}")
    if allowed is not None:
        _require(mode in ("ANY", "VALIDATED"), f"{where}.allowed_function_names: only allowed with mode ANY")
        for name in _list_of(allowed, f"{where}.allowed_function_names: expected a list"):
            _check_named_choice(name, offered, f"{where}.allowed_function_names")
    return offered


def _check_gemini_contents(contents: object) -> list[dict[str, Any]]:
    contents = _list_of(contents, "* GenerateContentRequest.contents: contents is not specified", non_empty=True)
    previous_calls: list[str] = []  # function names called by the previous (model) turn
    for index, content in enumerate(contents):
        role = content.get("role", "user") if isinstance(content, dict) else None
        _require(role in ("user", "model"), "Please use a valid role: user, model.")
        parts = content.get("parts")
        where = f"* GenerateContentRequest.contents[{index}].parts"
        _require(isinstance(parts, list) and bool(parts), f"{where}: contents.parts must not be empty.")
        for part in parts:
            _require(part.get("text") != "", "Unable to submit request because it has an empty text parameter.")
        responses = [part["functionResponse"] for part in parts if "functionResponse" in part]
        calls = [part["functionCall"].get("name") for part in parts if "functionCall" in part]
        if responses:
            _require(
                bool(previous_calls),
                "Please ensure that function response turn comes immediately after a function call turn.",
            )
            _require(
                len(responses) == len(previous_calls),
                "Please ensure that the number of function response parts is equal to the number of function "
                "call parts of the function call turn.",
            )
            for response in responses:
                name = response.get("name")
                answered = f"{where}: function response {name!r} answers no function call of the previous turn."
                _require(name in previous_calls, answered)
                _require(isinstance(response.get("response"), dict), f"{where}: response must be an object.")
        previous_calls = calls if role == "model" else []
    return contents


def _gemini_seen(body: dict[str, Any]) -> Seen:
    for extra in sorted(set(body) - _GEMINI_FIELDS):
        raise RequestRejected(f'Invalid JSON payload received. Unknown name "{extra}": Cannot find field.')
    offered = _gemini_function_names(body)
    contents = _check_gemini_contents(body.get("contents"))
    parts = contents[-1]["parts"]
    responses = [part["functionResponse"]["response"] for part in parts if "functionResponse" in part]
    if responses:
        return Seen(offered, None, [json.dumps(response) for response in responses])
    text = "".join(str(part.get("text", "")) for part in parts)
    return Seen(offered, text if contents[-1].get("role", "user") == "user" else None, [])


async def gemini_generate_content(request: Request) -> Response:
    model, _, method = request.path_params["target"].partition(":")
    try:
        body = await _received(request, model)
        _require_credentials(request, "gemini")
        _require(method in ("generateContent", "streamGenerateContent"), f"Method {method!r} not found.")
        streaming = method == "streamGenerateContent"
        _require(not streaming or request.query_params.get("alt") == "sse", "this stand-in streams with alt=sse only")
        answer = await _answer(model, _gemini_seen(body), "call_")
    except RequestRejected as rejected:
        return error_response("gemini", rejected.status, rejected.message)
    if isinstance(answer, ScriptedError):
        return error_response("gemini", answer.status, answer.message, retry_after=answer.retry_after)
    if streaming:
        return StreamingResponse(_watched(model, gemini_stream(answer, model)), media_type="text/event-stream")
    return JSONResponse(gemini_response(answer, model))


def _require_credentials(request: Request, protocol: str) -> None:
    """The real APIs answer 401 before looking at a request without credentials."""
    headers = request.headers
    if protocol == "openai":
        present = headers.get("authorization", "").removeprefix("Bearer ").strip() != ""
    elif protocol == "anthropic":
        # API keys travel as x-api-key; the newest SDKs send them (and OAuth tokens) as a bearer token.
        present = bool(headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip())
        _require(bool(headers.get("anthropic-version")), "anthropic-version: header is required")
    else:
        present = bool(headers.get("x-goog-api-key") or request.query_params.get("key"))
    if not present:
        raise RequestRejected("Missing or invalid API key.", status=401)


async def _received(request: Request, model: str | None = None) -> dict[str, Any]:
    """The request's JSON body, recorded under its model for GET /__received."""
    body = await _json_object(request)
    name = model if model is not None else body.get("model")
    STORE.record(str(name), {"path": request.url.path, "query": request.url.query,
                             "headers": dict(request.headers), "body": body})
    return body


def _as_answer(reply: Reply) -> Answer:
    if isinstance(reply, ToolCallReply):
        return Answer(None, (Call(reply.call_id, reply.name, reply.arguments),))
    return Answer(reply.text)


async def _answer(model: object, seen: Seen, id_prefix: str) -> Answer | ScriptedError:
    if isinstance(model, str) and STORE.has(model):
        try:
            return await play(STORE.next_turn(model), seen.offered, seen.results, id_prefix)
        except ScriptError as error:
            raise RequestRejected(str(error)) from error
    results = "\n".join(seen.results) if seen.results else None
    return _as_answer(_reply_to(seen.user_text, results, seen.offered, id_prefix))


async def _watched(model: str, stream: AsyncIterator[str]) -> AsyncIterator[str]:
    """The stream, noting in the store when its client goes away before the end."""
    finished = False
    try:
        async for event in stream:
            yield event
        finished = True
    finally:
        if not finished:
            STORE.abort(model)


async def load_script(request: Request) -> Response:
    body = await request.json()
    STORE.load(str(body["model"]), list(body["turns"]))
    return JSONResponse({"loaded": len(body["turns"])})


async def received(request: Request) -> Response:
    model = request.query_params["model"]
    return JSONResponse({"requests": STORE.received_for(model), "aborted": STORE.aborted_for(model)})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def build_app() -> Starlette:
    post = ["POST"]
    routes: list[tuple[str, Callable[[Request], Any]]] = [
        ("/openai/v1/chat/completions", openai_chat_completions),
        ("/compatible/v1/chat/completions", openai_chat_completions),
        ("/openai/v1/responses", openai_responses),
        ("/anthropic/v1/messages", anthropic_messages),
        ("/gemini/v1beta/models/{target}", gemini_generate_content),
        ("/__scripts", load_script),
    ]
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/__received", received, methods=["GET"]),
            *(Route(path, app, methods=post) for path, app in routes),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Strict local fakes of LLM provider APIs for end-to-end tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
