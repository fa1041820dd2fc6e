"""What the chat tests share: the providers, the requests they build, and how to read what a provider received."""

from __future__ import annotations

import json
import uuid
from typing import Any

import openai

from tests.e2e.gateway_process import UpstreamAPI

PROTOCOLS = ("openai", "anthropic", "gemini")
KEYS = {"openai": "sk-test-openai-key", "anthropic": "sk-ant-test-key", "gemini": "gemini-test-key"}
GITHUB_LONG_TOOL = "actions_set-selected-repositories-enabled-github-actions-organization"
MANY_TOOLS = 130  # plus the test server's own 8: 138
Json = Any
HELLO: Json = [{"role": "user", "content": "Hello."}]


def mcp_tool(server_url: str, allowed: list[str] | None = None, approval: Json = "never", **extra: Any) -> Json:
    tool: Json = {"type": "mcp", "server_label": server_url.rsplit("/", 1)[-1], "server_url": server_url,
                  "require_approval": approval, **extra}
    if allowed is not None:
        tool["allowed_tools"] = allowed
    return tool


def marker() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


def upstream_requests(upstream_api: UpstreamAPI, fragment: str) -> list[str]:
    """`path?query` of every request the echo API received whose path contains `fragment`."""
    return [f"{request['raw_path']}?{request['query_string']}" for request in upstream_api.received_requests()
            if fragment in request["raw_path"]]


def offered_names(protocol: str, body: Json) -> list[str]:
    if protocol == "openai":
        return [tool["function"]["name"] for tool in body.get("tools", [])]
    if protocol == "anthropic":
        return [tool["name"] for tool in body.get("tools", [])]
    return [declaration["name"] for tool in body.get("tools", []) for declaration in tool["functionDeclarations"]]


def tool_results_sent(protocol: str, body: Json) -> list[str]:
    """The text of the tool results in the last turn of a request, in the provider's own shape."""
    if protocol == "openai":
        trailing = []
        for message in reversed(body["messages"]):
            if message["role"] != "tool":
                break
            trailing.insert(0, message["content"])
        return trailing
    if protocol == "anthropic":
        last = body["messages"][-1]["content"]
        return [json.dumps(block["content"]) for block in last if block.get("type") == "tool_result"]
    parts = body["contents"][-1]["parts"]
    return [json.dumps(part["functionResponse"]["response"]) for part in parts if "functionResponse" in part]


async def ask(client: openai.AsyncOpenAI, *, stream: bool, **request: Any) -> tuple[Any, Json, list[Json]]:
    """The completion (streamed through the SDK's stream helper, or not), its `mcp_gateway` summary, and, when
    streamed, every `mcp_gateway` payload of the stream in order (the summary is the last)."""
    if not stream:
        completion = await client.chat.completions.create(**request)
        return completion, completion.model_extra["mcp_gateway"], []
    progress: list[Json] = []
    async with client.chat.completions.stream(**request) as events:
        async for event in events:
            extra = event.chunk.model_extra if event.type == "chunk" else None
            if extra and extra.get("mcp_gateway"):
                progress.append(extra["mcp_gateway"])
        completion = await events.get_final_completion()
    return completion, progress[-1], progress
