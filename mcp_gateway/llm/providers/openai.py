"""OpenAI Chat Completions and every server that speaks it (Ollama, vLLM, LM Studio, Groq, OpenRouter, ...).

The caller's request is already in this shape, so fields pass through as they are (unknown ones included: a
compatible server may know them); only tools, tool names and tool_choice are the gateway's.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Literal

from mcp_gateway.bridge.messages import openai as openai_messages
from mcp_gateway.bridge.messages.common import openai_tool_call
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


class OpenAIClient(ProviderClient):
    def _headers(self) -> dict[str, str]:
        key = self.key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        tools = request.tools
        body: dict[str, Any] = {**request.params, "model": request.model}
        body.update(openai_messages.convert_messages(request.messages, tools.name_map).request_fields())
        body.update(tool_fields(request, "openai"))
        if request.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def respond(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        url = f"{self.base_url}/chat/completions"
        return self._exchange(request, url, self._body(request), self._headers(), _turn, _StreamAssembly(self.name))


def tool_fields(request: ModelRequest, flavor: Literal["openai", "openai-responses"]) -> dict[str, Any]:
    """The tool fields of an OpenAI request body, Chat Completions or Responses (the tools in the flavor's shape,
    the caller's tool_choice under the names the provider sees, parallel_tool_calls); none when no tool is
    offered, as the API refuses tool_choice without tools."""
    tools = request.tools
    offered = tools.request_tools()
    if not offered:
        return {}
    fields: dict[str, Any] = {"tools": offered}
    choice = map_tool_choice(request.tool_choice, flavor, tools.name_map)
    if choice is not None:
        fields["tool_choice"] = choice
    if request.parallel_tool_calls is not None:
        fields["parallel_tool_calls"] = request.parallel_tool_calls
    return fields


def _usage(response: Mapping[str, Any]) -> Usage:
    usage = response.get("usage") or {}
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def _turn(response: Mapping[str, Any], request: ModelRequest) -> ModelTurn:
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ProviderError("malformed", "openai", "answered without choices")
    message = assistant_message_for("openai", response, request.tools)
    reason = str(choices[0].get("finish_reason") or "stop")
    return ModelTurn(message, finish_reason_of(message, reason), _usage(response))


class _StreamAssembly:
    """Chat completion chunks joined into the completion they stand for."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}

    def add(self, chunk: Mapping[str, Any]) -> str:
        if isinstance(chunk.get("error"), dict):
            message = chunk["error"].get("message")
            raise ProviderError("server_error", self.provider, f"failed mid-stream: {message or 'unknown error'}")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        text = ""
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                text += delta["content"]
            for call in delta.get("tool_calls") or []:
                slot = self.calls.setdefault(int(call.get("index", 0)), {"id": None, "name": "", "arguments": ""})
                function = call.get("function") or {}
                slot["id"] = call.get("id") or slot["id"]
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        self.text.append(text)
        return text

    def response(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.calls:
            message["tool_calls"] = [
                openai_tool_call(call["id"], call["name"], call["arguments"]) for _, call in sorted(self.calls.items())
            ]
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason or "stop"}
        return {"choices": [choice], "usage": self.usage}
