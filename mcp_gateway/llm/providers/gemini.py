"""Gemini generateContent (`POST {base}/v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`).

OpenAI request fields map into `generationConfig` (temperature, top_p, max_tokens, stop, seed, response_format);
fields with no equivalent are dropped with a debug line. The key travels in the `x-goog-api-key` header, never in
the URL, so it cannot end up in an error message or a log line that quotes the URL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import quote

from mcp_gateway.bridge.messages import gemini as gemini_messages
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

logger = logging.getLogger(__name__)

_FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
                   "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter"}
_GENERATION_FIELDS = {"temperature": "temperature", "top_p": "topP", "seed": "seed", "n": "candidateCount",
                      "presence_penalty": "presencePenalty", "frequency_penalty": "frequencyPenalty"}
_IGNORED_QUIETLY = frozenset({"stream_options"})


class GeminiClient(ProviderClient):
    def _headers(self) -> dict[str, str]:
        key = self.key()
        return {"x-goog-api-key": key} if key else {}

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        tools = request.tools
        params = dict(request.params)
        body: dict[str, Any] = gemini_messages.convert_messages(request.messages, tools.name_map).request_fields()
        generation: dict[str, Any] = {}
        for name, gemini_name in _GENERATION_FIELDS.items():
            if name in params:
                generation[gemini_name] = params.pop(name)
        max_tokens = params.pop("max_completion_tokens", None) or params.pop("max_tokens", None)
        params.pop("max_tokens", None)
        if max_tokens:
            generation["maxOutputTokens"] = max_tokens
        stop = params.pop("stop", None)
        if stop:
            generation["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
        generation.update(_response_format(params.pop("response_format", None)))
        if generation:
            body["generationConfig"] = generation
        for name in sorted(set(params) - _IGNORED_QUIETLY):
            logger.debug("gemini has no equivalent of request field '%s'; not sent", name)
        offered = tools.request_tools()
        if offered:
            body["tools"] = offered
            config = map_tool_choice(request.tool_choice, "gemini", tools.name_map)
            if config is not None:
                body["toolConfig"] = config
        return body

    def respond(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        model = f"{self.base_url}/v1beta/models/{quote(request.model, safe='')}"
        url = f"{model}:streamGenerateContent?alt=sse" if request.stream else f"{model}:generateContent"
        return self._exchange(request, url, self._body(request), self._headers(), _turn, _StreamAssembly())


def _response_format(response_format: object) -> dict[str, Any]:
    if not isinstance(response_format, Mapping):
        return {}
    kind = response_format.get("type")
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return {"responseMimeType": "application/json", **({"responseJsonSchema": schema} if schema else {})}
    return {}


def _usage(usage: Mapping[str, Any]) -> Usage:
    completion = int(usage.get("candidatesTokenCount") or 0) + int(usage.get("thoughtsTokenCount") or 0)
    return Usage(int(usage.get("promptTokenCount") or 0), completion)


def _turn(response: Mapping[str, Any], request: ModelRequest) -> ModelTurn:
    candidates = response.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        blocked = (response.get("promptFeedback") or {}).get("blockReason")
        if blocked:
            message = {"role": "assistant", "content": None}
            return ModelTurn(message, "content_filter", _usage(response.get("usageMetadata") or {}))
        raise ProviderError("malformed", "gemini", "answered without candidates")
    message = assistant_message_for("gemini", response, request.tools)
    reason = _FINISH_REASONS.get(str(candidates[0].get("finishReason")), "stop")
    return ModelTurn(message, finish_reason_of(message, reason), _usage(response.get("usageMetadata") or {}))


class _StreamAssembly:
    """Streamed GenerateContentResponse chunks joined into one response; each chunk carries whole parts."""

    def __init__(self) -> None:
        self.parts: list[dict[str, Any]] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.blocked: str | None = None

    def add(self, chunk: Mapping[str, Any]) -> str:
        if isinstance(chunk.get("error"), dict):
            raise ProviderError("server_error", "gemini", f"failed mid-stream: {chunk['error'].get('message')}")
        self.usage = chunk.get("usageMetadata") or self.usage
        self.blocked = (chunk.get("promptFeedback") or {}).get("blockReason") or self.blocked
        text = ""
        for candidate in chunk.get("candidates") or []:
            if candidate.get("index", 0) != 0:
                continue
            self.finish_reason = candidate.get("finishReason") or self.finish_reason
            for part in (candidate.get("content") or {}).get("parts") or []:
                self.parts.append(dict(part))
                if isinstance(part.get("text"), str) and not part.get("thought"):
                    text += part["text"]
        return text

    def response(self) -> dict[str, Any]:
        if not self.parts and self.blocked:
            return {"promptFeedback": {"blockReason": self.blocked}, "usageMetadata": self.usage}
        candidate = {"content": {"role": "model", "parts": self.parts}, "finishReason": self.finish_reason, "index": 0}
        return {"candidates": [candidate], "usageMetadata": self.usage}
