"""What the /v1/responses tests share: the providers under test, asking through the SDK, reading what a provider
received in its own wire format."""

from __future__ import annotations

import json
from typing import Any

import openai

from tests.e2e.chat.helpers import Json

PROVIDERS = ("openai", "local", "anthropic", "gemini")
"""OpenAI through its Responses API, an OpenAI-compatible server through Chat Completions, and the bridge."""
_WIRE = {"openai": "responses", "local": "chat", "anthropic": "anthropic", "gemini": "gemini"}


async def respond(client: openai.AsyncOpenAI, *, stream: bool, **request: Any) -> tuple[Any, list[Any]]:
    """The response, and when streamed, every event the SDK's stream helper parsed (it raises on a malformed
    sequence), the final response coming from its own accumulation."""
    if not stream:
        return await client.responses.create(**request), []
    events: list[Any] = []
    async with client.responses.stream(**request) as responses:
        async for event in responses:
            events.append(event)
        final = await responses.get_final_response()
    return final, events


def offered(provider: str, body: Json) -> list[str]:
    wire = _WIRE[provider]
    if wire == "responses":
        return [tool["name"] for tool in body.get("tools", [])]
    if wire == "chat":
        return [tool["function"]["name"] for tool in body.get("tools", [])]
    if wire == "anthropic":
        return [tool["name"] for tool in body.get("tools", [])]
    return [declaration["name"] for tool in body.get("tools", []) for declaration in tool["functionDeclarations"]]


def results_sent(provider: str, body: Json) -> list[str]:
    """The tool results at the end of a provider request, as text, in the provider's own shape."""
    wire = _WIRE[provider]
    if wire == "responses":
        trailing: list[str] = []
        for item in reversed(body["input"]):
            if item.get("type") != "function_call_output":
                break
            trailing.insert(0, json.dumps(item["output"]))
        return trailing
    if wire == "chat":
        trailing = []
        for message in reversed(body["messages"]):
            if message["role"] != "tool":
                break
            trailing.insert(0, json.dumps(message["content"]))
        return trailing
    if wire == "anthropic":
        last = body["messages"][-1]["content"]
        return [json.dumps(block["content"]) for block in last if block.get("type") == "tool_result"]
    parts = body["contents"][-1]["parts"]
    return [json.dumps(part["functionResponse"]["response"]) for part in parts if "functionResponse" in part]


def endpoint(provider: str) -> str:
    """The path a provider request goes to, for each provider's wire."""
    return {"responses": "/responses", "chat": "/chat/completions", "anthropic": "/v1/messages",
            "gemini": "Content"}[_WIRE[provider]]


def kinds(events: list[Any]) -> list[str]:
    return [event.type for event in events]


def error_text(call: Any) -> str:
    """The text of an mcp_call item's error (OpenAI's `mcp_tool_execution_error` carries the tool's content)."""
    error = call.error
    if error is None:
        return ""
    return "".join(part.get("text", "") for part in error.content) if error.type == "mcp_tool_execution_error" \
        else str(error.message)
