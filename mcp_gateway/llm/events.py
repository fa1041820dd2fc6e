"""What the tool loop reports while it works: events every LLM wire format renders its own way.

The loop emits, in order: per round, `TextDelta`s (streaming only) and a `RoundCompleted`; around each MCP call it
runs, `ToolCallStarted` and `ToolCallFinished`; then exactly one `Completed` or `Failed`. Nothing here knows a
caller's wire format: `server/chat.py` renders Chat Completions, and the Responses and Messages doors can render the
same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.providers.base import ProviderError, TextDelta, Usage

__all__ = [
    "CallStatus",
    "Completed",
    "Failed",
    "LoopEvent",
    "McpCall",
    "McpCallRecord",
    "RoundCompleted",
    "StopReason",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
]


@dataclass(frozen=True)
class McpCall:
    """One call of an MCP tool the model made: the call id, the name the model and caller use, and where it runs."""

    call_id: str
    name: str
    server: str
    tool: str
    """The tool's name at its upstream."""
    arguments: dict[str, Any] | None
    """None when the model's arguments are not a JSON object."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.call_id, "name": self.name, "server": self.server, "tool": self.tool,
                "arguments": self.arguments}


CallStatus = Literal["completed", "failed", "denied", "not_run"]


@dataclass(frozen=True)
class McpCallRecord:
    """What one MCP call did."""

    call: McpCall
    round: int
    is_error: bool
    result: str
    """The result as the model was given it, cut to `RESULT_EXCERPT` characters."""
    duration_ms: float
    status: CallStatus = "completed"

    def to_json(self) -> dict[str, Any]:
        return {**self.call.to_json(), "round": self.round, "status": self.status, "is_error": self.is_error,
                "result": self.result, "duration_ms": round(self.duration_ms, 3)}


@dataclass(frozen=True)
class ToolCallStarted:
    call: McpCall
    round: int


@dataclass(frozen=True)
class ToolCallFinished:
    record: McpCallRecord
    text: str | None = None
    """The whole result the model was given (the record keeps an excerpt): what a wire format that streams tool
    results to the caller sends, so that a conversation the caller sends back holds what the model read."""


@dataclass(frozen=True)
class RoundCompleted:
    """One model call answered. `mcp_calls` of them the gateway runs next (or asks approval for)."""

    round: int
    usage: Usage
    finish_reason: str
    mcp_calls: int


StopReason = Literal["answer", "caller_tools", "approval", "round_limit"]


@dataclass(frozen=True)
class Completed:
    """The loop's outcome.

    `message` is the last assistant message as the caller should see it: its `tool_calls` are the caller's own
    function calls and the MCP calls awaiting approval (never the MCP calls the gateway ran). `transcript` is every
    message the gateway added to the conversation, this last assistant message (with all its calls) included and
    the results of the calls it ran: appended to the caller's messages, it continues the conversation.
    """

    message: dict[str, Any]
    finish_reason: str
    stop: StopReason
    usage: Usage
    rounds: list[RoundCompleted]
    calls: list[McpCallRecord]
    transcript: list[dict[str, Any]]
    awaiting_approval: list[McpCall] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class Failed:
    """The request cannot be answered: a provider error or a bad request found on the way (say, an approval
    decision missing). Rounds before it may have run tools; `calls` says which."""

    error: ProviderError | RequestError
    calls: list[McpCallRecord] = field(default_factory=list)

    @property
    def status(self) -> int:
        """The HTTP status the caller gets."""
        return self.error.status if isinstance(self.error, RequestError) else self.error.caller_status


LoopEvent = TextDelta | ToolCallStarted | ToolCallFinished | RoundCompleted | Completed | Failed
