"""OpenAI's Responses API (`POST {base}/responses`), for providers configured with it (OpenAI itself).

The conversation goes as `instructions` plus input items (`mcp_gateway.bridge.messages.responses`), the tools in the
Responses' flat function shape, and `store: false`: the gateway keeps the conversation itself and sends it whole
each round, so nothing the caller did not ask to keep is kept at the provider. The answer's output items come back
as one assistant message; a streamed answer is read for its text deltas and its final `response.completed`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from mcp_gateway.bridge.messages import responses as responses_messages
from mcp_gateway.bridge.reverse import assistant_message_for
from mcp_gateway.llm.providers.base import (
    ModelRequest,
    ModelTurn,
    ProviderError,
    ProviderEvent,
    Usage,
    finish_reason_of,
)
from mcp_gateway.llm.providers.openai import OpenAIClient, tool_fields

# Chat Completions spellings the loop's callers may use, as the Responses API names them.
_RENAMED = {"max_tokens": "max_output_tokens", "max_completion_tokens": "max_output_tokens"}


class OpenAIResponsesClient(OpenAIClient):
    """The same provider and credentials as Chat Completions; another endpoint and wire shape."""

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        tools = request.tools
        body: dict[str, Any] = {_RENAMED.get(key, key): value for key, value in request.params.items()}
        body["model"] = request.model
        body.update(responses_messages.convert_messages(request.messages, tools.name_map).request_fields())
        body.update(tool_fields(request, "openai-responses"))
        body["store"] = False
        if request.stream:
            body["stream"] = True
        return body

    def respond(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        url = f"{self.base_url}/responses"
        return self._exchange(request, url, self._body(request), self._headers(), _turn, _StreamAssembly(self.name))


def _usage(response: Mapping[str, Any]) -> Usage:
    usage = response.get("usage") or {}
    return Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))


def _turn(response: Mapping[str, Any], request: ModelRequest) -> ModelTurn:
    if not isinstance(response.get("output"), list):
        raise ProviderError("malformed", "openai", "answered without output items")
    if response.get("status") == "failed":
        error = response.get("error") or {}
        raise ProviderError("server_error", "openai", f"the response failed: {error.get('message') or 'unknown'}")
    message = assistant_message_for("openai-responses", response, request.tools)
    incomplete = response.get("status") == "incomplete"
    return ModelTurn(message, finish_reason_of(message, "length" if incomplete else "stop"), _usage(response))


class _StreamAssembly:
    """Responses stream events: the text deltas as they come, and the whole response from the final event."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.final: dict[str, Any] | None = None

    def add(self, event: Mapping[str, Any]) -> str:
        kind = event.get("type")
        if kind == "error" or kind == "response.failed":
            error = event.get("error") or (event.get("response") or {}).get("error") or {}
            message = error.get("message") if isinstance(error, Mapping) else None
            raise ProviderError("server_error", self.provider, f"failed mid-stream: {message or 'unknown error'}")
        if kind in ("response.completed", "response.incomplete") and isinstance(event.get("response"), dict):
            self.final = event["response"]
        if kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
            return str(event["delta"])
        return ""

    def response(self) -> dict[str, Any]:
        if self.final is None:
            raise ProviderError("malformed", self.provider, "the stream ended without response.completed")
        return self.final
