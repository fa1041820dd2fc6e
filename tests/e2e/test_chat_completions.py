"""POST /v1/chat/completions with tools of type "mcp": the official openai SDK, a real gateway, real upstreams, and
provider stand-ins that speak the real OpenAI, Anthropic and Gemini wire formats and follow a script of turns.

The gateway serves the echo API (OpenAPI), the test MCP server over streamable HTTP, a slice of the GitHub spec whose
base URL is the echo API, a server that is down, and a stdio server with more tools than OpenAI accepts. Tests assert
on what the upstreams and the stand-ins received, not only on what came back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.gateway_process import (
    SPECS_DIR,
    UPSTREAM_API_SPEC,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    free_port,
    running_gateway,
    stdio_server_entry,
    write_config,
)
from tests.e2e.provider_standin import ProviderStandIn, running_provider_stand_in

PROTOCOLS = ("openai", "anthropic", "gemini")
KEYS = {"openai": "sk-test-openai-key", "anthropic": "sk-ant-test-key", "gemini": "gemini-test-key"}
GITHUB_LONG_TOOL = "actions_set-selected-repositories-enabled-github-actions-organization"
MANY_TOOLS = 130
Json = Any

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def stand_in(e2e_log_dir: Path) -> Iterator[ProviderStandIn]:
    with running_provider_stand_in(e2e_log_dir) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn,
    tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path,
) -> Iterator[Gateway]:
    servers = {
        "echo": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}},
        "tools": {"url": mcp_http_upstream.url},
        "github": {
            "openapi": {"spec": str(SPECS_DIR / "github-api.json"), "baseUrl": upstream_api.base_url},
            "allowedTools": ["repos_get", "actions_*-selected-repositor*-organization"],
        },
        "down": {"url": f"http://127.0.0.1:{free_port()}/mcp"},
        "many": stdio_server_entry(tools=MANY_TOOLS),
    }
    providers: dict[str, Json] = {
        protocol: {"baseUrl": stand_in.provider_url(protocol), "apiKey": KEYS[protocol], "maxRetries": 2}
        for protocol in PROTOCOLS
    }
    providers["local"] = {"protocol": "openai", "baseUrl": stand_in.provider_url("openai"), "apiKey": "${LOCAL_KEY}",
                          "models": ["llama-local"]}
    providers["impatient"] = {"baseUrl": stand_in.provider_url("openai"), "apiKey": "k", "timeout": 1,
                              "maxRetries": 0}
    providers["nowhere"] = {"baseUrl": f"http://127.0.0.1:{free_port()}/v1", "apiKey": "k", "maxRetries": 1}
    config_dir = tmp_path_factory.mktemp("chat")
    config = write_config(config_dir, servers, models={"maxRounds": 12, "providers": providers})
    with running_gateway(config, e2e_log_dir, env={"LOCAL_KEY": "local-secret-key"},
                         extra_args=["--retry-interval", "0"]) as running:
        yield running


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{gateway.base_url}/v1", api_key="unused", max_retries=0,
                                  timeout=60) as sdk:
        yield sdk


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


# --- the multi-tool task, every provider, streaming and not ------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_multi_round_task_on_two_upstreams(
    protocol: str, stream: bool, gateway: Gateway, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
    upstream_api: UpstreamAPI,
) -> None:
    item = marker()
    model = stand_in.script([
        {"text": "Looking it up.", "calls": [{"tool": "getItem", "arguments": {"item_id": item, "limit": 3}},
                                             {"tool": "add", "arguments": {"a": 2, "b": 40}}]},
        {"calls": [{"tool": "echo", "arguments": {"text": f"hello {item}"}}]},
        {"text": "All done: the item exists and two plus forty is forty-two."},
    ])
    tools = [mcp_tool("mcp_gateway/mcp/echo", ["getItem"]), mcp_tool(gateway.server_url("tools"), ["add", "echo"])]
    messages: Json = [{"role": "user", "content": "Find the item and add two numbers."}]
    if stream:
        progress: list[Json] = []
        async with client.chat.completions.stream(
            model=f"{protocol}/{model}", messages=messages, tools=tools, stream_options={"include_usage": True}
        ) as events:
            async for event in events:
                if event.type == "chunk" and event.chunk.model_extra and event.chunk.model_extra.get("mcp_gateway"):
                    progress.append(event.chunk.model_extra["mcp_gateway"])
            completion = await events.get_final_completion()
        kinds = [entry["type"] for entry in progress]
        assert kinds.count("mcp_call.started") == 3 and kinds.count("mcp_call.completed") == 3
        assert kinds.count("round.completed") == 3
        summary = progress[-1]
        # Text of every round streams to the caller; the SDK joins it into one message.
        assert completion.choices[0].message.content == (
            "Looking it up.All done: the item exists and two plus forty is forty-two."
        )
    else:
        completion = await client.chat.completions.create(model=f"{protocol}/{model}", messages=messages,
                                                          tools=tools)
        summary = completion.model_extra["mcp_gateway"]
        assert completion.choices[0].message.content == "All done: the item exists and two plus forty is forty-two."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.tool_calls in (None, [])
    calls = summary["calls"]
    assert sorted((call["server"], call["tool"], call["round"]) for call in calls) == [
        ("echo", "getItem", 1), ("tools", "add", 1), ("tools", "echo", 2)
    ]
    assert all(call["status"] == "completed" and not call["is_error"] for call in calls)
    assert [entry["round"] for entry in summary["rounds"]] == [1, 2, 3]
    assert completion.usage is not None
    assert completion.usage.total_tokens == sum(entry["usage"]["total_tokens"] for entry in summary["rounds"]) > 0
    # The upstreams received the calls; the provider received their results, in its own shape.
    assert upstream_requests(upstream_api, f"/items/{item}") == [f"/items/{item}?limit=3"]
    received = stand_in.received(model)
    assert len(received) == 3
    assert sorted(offered_names(protocol, received[0]["body"])) == ["add", "echo", "getItem"]
    first_results = tool_results_sent(protocol, received[1]["body"])
    assert len(first_results) == 2 and item in first_results[0] and "42" in first_results[1]
    assert f"hello {item}" in tool_results_sent(protocol, received[2]["body"])[0]
    # Each provider got its own key in its own header, and nothing else of the gateway's.
    headers = received[0]["headers"]
    expected = {"openai": ("authorization", f"Bearer {KEYS['openai']}"),
                "anthropic": ("x-api-key", KEYS["anthropic"]),
                "gemini": ("x-goog-api-key", KEYS["gemini"])}[protocol]
    assert headers[expected[0]] == expected[1]
    assert received[0]["body"].get("stream", False) is (stream and protocol != "gemini")
    if protocol == "gemini":
        assert ("streamGenerateContent" in received[0]["path"]) is stream
