"""What every provider client takes and gives: one model turn asked for in the OpenAI Chat shape, answered as text
deltas and one `ModelTurn`, or a typed `ProviderError`.

The conversation travels in the OpenAI Chat Completions shape, the bridge's common language: each client converts it
with `mcp_gateway.bridge.messages.<protocol>` and maps the answer back with `mcp_gateway.bridge.reverse`, so the turn
it returns already carries the caller's tool names and the tools' own argument keys.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mcp_gateway.bridge.tools import ConvertedTools


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    def to_json(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


FinishReason = str
"""OpenAI's vocabulary: stop, length, tool_calls, content_filter."""


@dataclass(frozen=True)
class ModelRequest:
    """One call of the model. `messages` and `tool_choice` are in the OpenAI Chat shape under the caller's names."""

    model: str
    messages: Sequence[Mapping[str, Any]]
    tools: ConvertedTools
    tool_choice: str | Mapping[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    """The caller's other request fields (temperature, max_tokens, response_format, ...), mapped per provider."""
    stream: bool = False


@dataclass(frozen=True)
class TextDelta:
    """A piece of the model's answer text, as the provider streamed it."""

    text: str


@dataclass(frozen=True)
class ModelTurn:
    """The model's whole answer to one request: an OpenAI assistant message with the caller's tool names."""

    message: dict[str, Any]
    finish_reason: FinishReason
    usage: Usage

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        calls = self.message.get("tool_calls")
        return [call for call in calls if isinstance(call, dict)] if isinstance(calls, list) else []


ProviderEvent = TextDelta | ModelTurn

ErrorKind = Literal["rejected", "rate_limited", "server_error", "unreachable", "timeout", "malformed"]

_CALLER_STATUS: dict[ErrorKind, int] = {
    "rate_limited": 429,
    "server_error": 502,
    "unreachable": 502,
    "timeout": 504,
    "malformed": 502,
}


class ProviderError(Exception):
    """A provider call that did not give an answer. The message names the provider and keeps the provider's own
    words; it never holds a key."""

    def __init__(self, kind: ErrorKind, provider: str, message: str, *, status: int | None = None,
                 param: str | None = None, code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.kind = kind
        self.provider = provider
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.retry_after = retry_after
        """Seconds the provider asked to wait, passed on to the caller as Retry-After."""

    @property
    def caller_status(self) -> int:
        """The status the caller gets: the provider's own 4xx, 429, 502 for a failing or unreachable provider, 504
        for one that did not answer in time."""
        if self.kind == "rejected" and self.status is not None:
            return self.status
        return _CALLER_STATUS.get(self.kind, 502)


class ModelClient(Protocol):
    """A provider's HTTP client for one wire protocol."""

    @property
    def name(self) -> str:
        """The provider's name in the configuration, which errors carry."""
        ...

    def respond(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        """Text deltas as they stream (only when `request.stream`), then exactly one ModelTurn. Raises
        ProviderError."""
        ...

    async def aclose(self) -> None: ...


def finish_reason_of(message: Mapping[str, Any], reason: FinishReason) -> FinishReason:
    """A message that calls tools finishes with "tool_calls", whatever word the provider used."""
    return "tool_calls" if message.get("tool_calls") else reason
