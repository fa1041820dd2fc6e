"""Anthropic Messages (`POST {base}/v1/messages`), streaming and not.

OpenAI request fields map to their Messages equivalents (max_tokens, temperature, top_p, stop, user); fields with
no equivalent are dropped with a debug line. Anthropic requires `max_tokens`: without one the caller gets
`DEFAULT_MAX_TOKENS`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from mcp_gateway.bridge.messages import anthropic as anthropic_messages
from mcp_gateway.bridge.reverse import assistant_message_for
from mcp_gateway.bridge.tool_choice import map_tool_choice
from mcp_gateway.llm.providers.base import (
    ModelRequest,
    ModelTurn,
    ProviderError,
    ProviderEvent,
    Usage,
    finish_reason_of,
)
from mcp_gateway.llm.providers.client import ProviderClient
from mcp_gateway.llm.providers.transport import parse_event_data

logger = logging.getLogger(__name__)

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                 "refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length"}
_DIRECT_FIELDS = ("temperature", "top_p", "top_k", "metadata", "thinking", "service_tier")
_IGNORED_QUIETLY = frozenset({"n", "stream_options"})


class AnthropicClient(ProviderClient):
    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        key = self.key()
        if key:
            headers["x-api-key"] = key
        return headers

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        tools = request.tools
        params = dict(request.params)
        max_tokens = params.pop("max_completion_tokens", None) or params.pop("max_tokens", None)
        params.pop("max_tokens", None)
        body: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens or DEFAULT_MAX_TOKENS}
        body.update(anthropic_messages.convert_messages(request.messages, tools.name_map).request_fields())
        for name in _DIRECT_FIELDS:
            if name in params:
                body[name] = params.pop(name)
        stop = params.pop("stop", None)
        if stop:
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        user = params.pop("user", None)
        if isinstance(user, str):
            body.setdefault("metadata", {})["user_id"] = user
        for name in sorted(set(params) - _IGNORED_QUIETLY):
            logger.debug("anthropic has no equivalent of request field '%s'; not sent", name)
        offered = tools.request_tools()
        if offered:
            body["tools"] = offered
        choice = map_tool_choice(
            request.tool_choice if offered else None, "anthropic", tools.name_map,
            parallel_tool_calls=request.parallel_tool_calls,
        )
        if choice is not None:
            body["tool_choice"] = choice
        if request.stream:
            body["stream"] = True
        return body

    def respond(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        url = f"{self.base_url}/v1/messages"
        return self._exchange(request, url, self._body(request), self._headers(), _turn, _StreamAssembly(self.name))


def _usage(usage: Mapping[str, Any]) -> Usage:
    prompt = sum(int(usage.get(key) or 0)
                 for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    return Usage(prompt, int(usage.get("output_tokens") or 0))


def _turn(response: Mapping[str, Any], request: ModelRequest) -> ModelTurn:
    if not isinstance(response.get("content"), list):
        raise ProviderError("malformed", "anthropic", "answered without content")
    message = assistant_message_for("anthropic", response, request.tools)
    reason = _STOP_REASONS.get(str(response.get("stop_reason")), "stop")
    return ModelTurn(message, finish_reason_of(message, reason), _usage(response.get("usage") or {}))


class _StreamAssembly:
    """Messages stream events joined into the message they stand for."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.blocks: dict[int, dict[str, Any]] = {}
        self.partial_json: dict[int, list[str]] = {}
        self.usage: dict[str, Any] = {}
        self.stop_reason: str | None = None

    def add(self, event: Mapping[str, Any]) -> str:
        kind = event.get("type")
        if kind == "error":
            error = event.get("error") or {}
            raise ProviderError("server_error", self.provider, f"failed mid-stream: {error.get('message')}",
                                code=error.get("type"))
        if kind == "message_start":
            self.usage.update((event.get("message") or {}).get("usage") or {})
        elif kind == "content_block_start":
            self.blocks[int(event.get("index", 0))] = dict(event.get("content_block") or {})
        elif kind == "content_block_delta":
            return self._delta(int(event.get("index", 0)), event.get("delta") or {})
        elif kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.usage.update({key: value for key, value in (event.get("usage") or {}).items() if value is not None})
        return ""

    def _delta(self, index: int, delta: Mapping[str, Any]) -> str:
        block = self.blocks.setdefault(index, {"type": "text", "text": ""})
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text") or "")
            block["text"] = block.get("text", "") + text
            return text
        if kind == "input_json_delta":
            self.partial_json.setdefault(index, []).append(str(delta.get("partial_json") or ""))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + str(delta.get("thinking") or "")
        elif kind == "signature_delta":
            block["signature"] = str(delta.get("signature") or "")
        return ""

    def response(self) -> dict[str, Any]:
        content = []
        for index, block in sorted(self.blocks.items()):
            if block.get("type") == "tool_use" and index in self.partial_json:
                joined = "".join(self.partial_json[index])
                block = {**block, "input": parse_event_data(self.provider, joined) if joined.strip() else {}}
            content.append(block)
        return {"content": content, "stop_reason": self.stop_reason, "usage": self.usage}
