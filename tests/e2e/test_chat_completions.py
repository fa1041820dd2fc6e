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

import anyio
import openai
import pytest

from mcp_gateway.http import httpx
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
MANY_TOOLS = 130  # plus the test server's own 8: 138
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


# --- names: the provider sees its own, the caller and the upstream the originals ---------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_github_tool_names_are_sanitized_for_the_provider_only(
    protocol: str, gateway: Gateway, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
    upstream_api: UpstreamAPI,
) -> None:
    org = marker()
    gateway_name = f"github-{GITHUB_LONG_TOOL}"  # 77 characters: over OpenAI's and Gemini's 64
    model = stand_in.script([
        {"calls": [{"tool_containing": "selected-repositories",
                    "arguments": {"org": org, "selected_repository_ids": [1296269, 42]}}]},
        {"quote_results": True},
    ])
    completion = await client.chat.completions.create(
        model=f"{protocol}/{model}", messages=[{"role": "user", "content": "Enable two repositories."}],
        tools=[mcp_tool(gateway.mcp_url, [gateway_name, "github-repos_get"])],
    )
    [call] = completion.model_extra["mcp_gateway"]["calls"]
    assert (call["name"], call["server"], call["tool"]) == (
        gateway_name, "github", GITHUB_LONG_TOOL
    )
    [received] = [request for request in upstream_api.received_requests() if org in request["raw_path"]]
    assert (received["method"], received["raw_path"]) == ("PUT", f"/orgs/{org}/actions/permissions/repositories")
    assert received["json"] == {"selected_repository_ids": [1296269, 42]}
    first, second = stand_in.received(model)
    offered = offered_names(protocol, first["body"])
    assert "github-repos_get" in offered
    [provider_name] = [name for name in offered if "selected-repositories" in name]
    if protocol == "anthropic":
        assert provider_name == gateway_name  # Anthropic takes 128 characters
    else:
        assert len(provider_name) <= 64 and provider_name != gateway_name
    assert "permissions/repositories" in tool_results_sent(protocol, second["body"])[0]
    assert completion.choices[0].message.content.startswith("The tools answered: ")


# --- approvals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "denied"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_approval_required_then_decided(
    approve: bool, stream: bool, gateway: Gateway, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
    upstream_api: UpstreamAPI,
) -> None:
    item = marker()
    model = stand_in.script([
        {"calls": [{"tool": "getItem", "arguments": {"item_id": item}}]},
        {"quote_results": True},
    ])
    tools = [mcp_tool("/mcp/echo", ["getItem"], approval={"never": {"tool_names": ["getStatus"]}})]
    messages: Json = [{"role": "user", "content": "Fetch the item."}]
    if stream:
        summary = None
        async with client.chat.completions.stream(model=f"openai/{model}", messages=messages, tools=tools) as events:
            async for event in events:
                if event.type == "chunk" and event.chunk.model_extra and event.chunk.model_extra.get("mcp_gateway"):
                    summary = event.chunk.model_extra["mcp_gateway"]
            first = await events.get_final_completion()
    else:
        first = await client.chat.completions.create(model=f"openai/{model}", messages=messages, tools=tools)
        summary = first.model_extra["mcp_gateway"]
    assert first.choices[0].finish_reason == "tool_calls"
    [pending] = first.choices[0].message.tool_calls
    assert pending.function.name == "getItem" and json.loads(pending.function.arguments) == {"item_id": item}
    assert upstream_requests(upstream_api, item) == []  # nothing runs before the caller decides
    assert summary is not None and summary["awaiting_approval"] == [pending.id]
    transcript = [first.choices[0].message.model_dump(exclude_none=True)]
    second = await client.chat.completions.create(
        model=f"openai/{model}", messages=[*messages, *transcript], tools=tools,
        extra_body={"mcp_approvals": {pending.id: approve}},
    )
    assert second.choices[0].finish_reason == "stop"
    [record] = second.model_extra["mcp_gateway"]["calls"]
    result = tool_results_sent("openai", stand_in.received(model)[1]["body"])[0]
    if approve:
        assert upstream_requests(upstream_api, item) == [f"/items/{item}?"]
        assert record["status"] == "completed" and item in result
    else:
        assert upstream_requests(upstream_api, item) == []
        assert record["status"] == "denied" and "denied" in result


async def test_missing_approval_decision_is_a_clear_400(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "echo", "arguments": {"text": "x"}}]}])
    tools = [mcp_tool("/mcp/tools", ["echo"], approval="always")]
    messages: Json = [{"role": "user", "content": "Echo."}]
    first = await client.chat.completions.create(model=f"openai/{model}", messages=messages, tools=tools)
    history = [*messages, first.choices[0].message.model_dump(exclude_none=True)]
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(model=f"openai/{model}", messages=history, tools=tools)
    assert "awaits approval" in raised.value.message and "mcp_approvals" in raised.value.message
    assert len(stand_in.received(model)) == 1


async def test_unanswered_mcp_calls_in_the_history_run_before_the_model_is_asked(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    text = marker()
    model = stand_in.script([{"quote_results": True}])
    call = {"id": "call_from_history", "type": "function", "function": {"name": "echo",
                                                                         "arguments": json.dumps({"text": text})}}
    history: Json = [*HELLO, {"role": "assistant", "content": None, "tool_calls": [call]}]
    completion = await client.chat.completions.create(model=f"openai/{model}", messages=history,
                                                      tools=[mcp_tool("/mcp/tools", ["echo"])])
    [record] = completion.model_extra["mcp_gateway"]["calls"]
    assert (record["id"], record["round"], record["status"]) == ("call_from_history", 0, "completed")
    assert text in tool_results_sent("openai", stand_in.received(model)[0]["body"])[0]


# --- the caller's own function tools ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_caller_function_tools_are_returned_and_mcp_calls_of_the_same_turn_run_first(
    protocol: str, stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    text = marker()
    model = stand_in.script([
        {"calls": [{"tool": "echo", "arguments": {"text": text}},
                   {"tool": "get_weather", "arguments": {"city": "Oslo"}}]},
        {"quote_results": True},
    ])
    weather: Json = {"type": "function", "function": {
        "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    tools = [mcp_tool("mcp_gateway/mcp/tools", ["echo"]), weather]
    messages: Json = [{"role": "user", "content": "Echo, and what is the weather in Oslo?"}]
    if stream:
        chunks: list[Json] = []
        async with client.chat.completions.stream(model=f"{protocol}/{model}", messages=messages,
                                                  tools=tools) as events:
            async for event in events:
                if event.type == "chunk" and event.chunk.model_extra and event.chunk.model_extra.get("mcp_gateway"):
                    chunks.append(event.chunk.model_extra["mcp_gateway"])
            first = await events.get_final_completion()
        summary = chunks[-1]
    else:
        first = await client.chat.completions.create(model=f"{protocol}/{model}", messages=messages, tools=tools)
        summary = first.model_extra["mcp_gateway"]
    assert first.choices[0].finish_reason == "tool_calls"
    [caller_call] = first.choices[0].message.tool_calls
    assert caller_call.function.name == "get_weather"
    assert json.loads(caller_call.function.arguments) == {"city": "Oslo"}
    [ran] = summary["calls"]
    assert (ran["name"], ran["status"]) == ("echo", "completed")
    transcript = summary["transcript"]
    assert [message["role"] for message in transcript] == ["assistant", "tool"]
    assert len(transcript[0]["tool_calls"]) == 2 and text in transcript[1]["content"]
    history = [*messages, *transcript,
               {"role": "tool", "tool_call_id": caller_call.id, "content": "Sunny, 21 degrees."}]
    second = await client.chat.completions.create(model=f"{protocol}/{model}", messages=history, tools=tools)
    assert second.choices[0].finish_reason == "stop"
    results = tool_results_sent(protocol, stand_in.received(model)[1]["body"])
    assert len(results) == 2 and text in results[0] and "Sunny" in results[1]


# --- failures the model reads, and the round limit ---------------------------------------------------------


async def test_failing_tools_go_back_to_the_model_as_error_results(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "fail", "arguments": {"message": "the disk is full"}},
                   {"tool": "add", "arguments": {"a": "not a number", "b": 1}},
                   {"tool": "getStatus", "arguments": {"code": 500}}]},
        {"quote_results": True},
    ])
    tools = [mcp_tool("/mcp/tools", ["fail", "add"]), mcp_tool("/mcp/echo", ["getStatus"])]
    completion = await client.chat.completions.create(
        model=f"anthropic/{model}", messages=[{"role": "user", "content": "Try these."}], tools=tools,
    )
    assert completion.choices[0].finish_reason == "stop"
    calls = completion.model_extra["mcp_gateway"]["calls"]
    assert sorted((call["name"], call["status"], call["is_error"]) for call in calls) == [
        ("add", "failed", True), ("fail", "failed", True), ("getStatus", "failed", True)
    ]
    results = tool_results_sent("anthropic", stand_in.received(model)[1]["body"])
    assert "the disk is full" in results[0] and "500" in results[2]
    tool_results = [block for block in stand_in.received(model)[1]["body"]["messages"][-1]["content"]]
    assert all(block.get("is_error") is True for block in tool_results)


async def test_unknown_tools_and_arguments_that_are_not_json_go_back_to_the_model(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "delete_everything", "hallucinated": True, "arguments": {}},
                   {"tool": "getItem", "raw_arguments": '{"item_id": "x", '}]},
        {"quote_results": True},
    ])
    completion = await client.chat.completions.create(
        model=f"openai/{model}", messages=HELLO, tools=[mcp_tool("/mcp/echo", ["getItem"])],
    )
    assert completion.choices[0].finish_reason == "stop"
    calls = completion.model_extra["mcp_gateway"]["calls"]
    assert [(call["name"], call["status"]) for call in calls if call["name"] == "delete_everything"] == [
        ("delete_everything", "failed")
    ]
    unknown, not_json = tool_results_sent("openai", stand_in.received(model)[1]["body"])
    assert "'delete_everything' is not among this request's tools" in unknown
    assert "not a JSON object" in not_json
    assert upstream_requests(upstream_api, "/items/x") == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_round_limit_returns_the_last_answer_with_a_note(
    stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    texts = [marker() for _ in range(3)]
    model = stand_in.script([
        {"text": f"Step {index}.", "calls": [{"tool": "echo", "arguments": {"text": text}}]}
        for index, text in enumerate(texts)
    ])
    request: Json = {"model": f"gemini/{model}", "messages": [{"role": "user", "content": "Keep echoing."}],
                     "tools": [mcp_tool("/mcp/tools", ["echo"])], "extra_body": {"mcp_max_rounds": 2}}
    if stream:
        summaries: list[Json] = []
        async with client.chat.completions.stream(**request) as events:
            async for event in events:
                if event.type == "chunk" and event.chunk.model_extra and event.chunk.model_extra.get("mcp_gateway"):
                    summaries.append(event.chunk.model_extra["mcp_gateway"])
            completion = await events.get_final_completion()
        summary = summaries[-1]
    else:
        completion = await client.chat.completions.create(**request)
        summary = completion.model_extra["mcp_gateway"]
    assert completion.choices[0].finish_reason == "mcp_round_limit"
    assert "2 rounds" in summary["note"] and "echo" in summary["note"]
    assert [(call["round"], call["status"]) for call in summary["calls"]] == [(1, "completed"), (2, "not_run")]
    assert len(stand_in.received(model)) == 2
    assert summary["transcript"][-1]["role"] == "tool" and "limit" in summary["transcript"][-1]["content"]


async def test_mcp_max_rounds_above_the_gateway_cap_is_refused(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(model="openai/x", messages=[{"role": "user", "content": "hi"}],
                                             extra_body={"mcp_max_rounds": 13})
    assert "from 1 to 12" in raised.value.message


# --- provider failures ---------------------------------------------------------------------------------------

HELLO: Json = [{"role": "user", "content": "Hello."}]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_provider_400_reaches_the_caller_with_the_provider_named_and_its_message_kept(
    protocol: str, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"status": 400, "message": "Invalid value for 'temperature': must be <= 2."}])
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(model=f"{protocol}/{model}", messages=HELLO, temperature=1.0)
    error = raised.value.body
    assert raised.value.status_code == 400
    assert error["message"] == f"{protocol}: Invalid value for 'temperature': must be <= 2."
    assert error["provider"] == protocol
    assert len(stand_in.received(model)) == 1  # a 4xx is never retried


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_429_then_success_is_retried_as_retry_after_asks(
    protocol: str, stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"status": 429, "message": "Slow down.", "retry_after": 0},
                             {"status": 503, "message": "Overloaded.", "retry_after": 0},
                             {"text": "Hello there."}])
    if stream:
        async with client.chat.completions.stream(model=f"{protocol}/{model}", messages=HELLO) as events:
            completion = await events.get_final_completion()
    else:
        completion = await client.chat.completions.create(model=f"{protocol}/{model}", messages=HELLO)
    assert completion.choices[0].message.content == "Hello there."
    assert len(stand_in.received(model)) == 3


async def test_a_provider_error_after_the_stream_began_ends_it_with_an_error_the_sdk_raises(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "Let me check.", "calls": [{"tool": "echo", "arguments": {"text": "x"}}]},
                             {"status": 400, "message": "Request too large for this model."}])
    received: list[str] = []
    with pytest.raises(openai.APIError) as raised:
        async with client.chat.completions.stream(model=f"gemini/{model}", messages=HELLO,
                                                  tools=[mcp_tool("/mcp/tools", ["echo"])]) as events:
            async for event in events:
                if event.type == "content.delta":
                    received.append(event.delta)
    assert "".join(received) == "Let me check."
    assert "gemini: Request too large for this model." in str(raised.value.message)


async def test_a_provider_that_keeps_failing_is_a_502_after_the_configured_retries(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"status": 500, "message": "The server had an error.", "retry_after": 0}] * 3)
    with pytest.raises(openai.APIStatusError) as raised:
        await client.chat.completions.create(model=f"anthropic/{model}", messages=HELLO)
    assert raised.value.status_code == 502
    assert raised.value.body["message"] == "anthropic: answered 500: The server had an error."
    assert len(stand_in.received(model)) == 3


async def test_a_provider_that_is_too_slow_is_a_504(client: openai.AsyncOpenAI, stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"delay": 3, "text": "Too late."}])
    with pytest.raises(openai.APIStatusError) as raised:
        await client.chat.completions.create(model=f"impatient/{model}", messages=HELLO)
    assert raised.value.status_code == 504
    assert raised.value.body["message"] == "impatient: did not answer within 1s"


async def test_an_unreachable_provider_is_a_502(client: openai.AsyncOpenAI, gateway: Gateway) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        await client.chat.completions.create(model="nowhere/some-model", messages=HELLO)
    assert raised.value.status_code == 502
    assert "nowhere: cannot be reached at http://127.0.0.1:" in raised.value.body["message"]


async def test_keys_never_appear_in_errors_or_the_log(
    client: openai.AsyncOpenAI, gateway: Gateway, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"status": 401, "message": "Incorrect API key provided."}])
    with pytest.raises(openai.AuthenticationError) as raised:
        await client.chat.completions.create(model=f"local/{model}", messages=HELLO)
    assert raised.value.body["message"] == "local: Incorrect API key provided."
    assert stand_in.received(model)[0]["headers"]["authorization"] == "Bearer local-secret-key"
    log = gateway.log()
    for secret in ("local-secret-key", *KEYS.values()):
        assert secret not in json.dumps(raised.value.body) and secret not in log


# --- requests the gateway refuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "status", "words"),
    [
        ({"server_url": "mcp_gateway/mcp/nonesuch"}, 400, ["unknown server 'nonesuch'", "echo"]),
        ({"server_url": "https://mcp.example.com/mcp/github"}, 400, ["is not this gateway", "servers.json"]),
        ({"server_url": "/mcp/echo", "allowed_tools": ["getItem", "getItme"]}, 400, ["'getItme' matches no tool"]),
        ({"server_url": "/mcp/down"}, 503, ["server 'down'", "unhealthy"]),
        ({"server_url": "/mcp/many"}, 400, ["offers 138 tools", "at most 128", "allowed_tools"]),
        ({"server_url": "/mcp/echo", "require_approval": "sometimes"}, 400, ["require_approval"]),
    ],
    ids=["unknown-server", "remote-url", "unmatched-allowed-tool", "server-down", "too-many-tools", "bad-approval"],
)
async def test_mcp_tools_the_gateway_cannot_serve_are_refused_by_name(
    tool: Json, status: int, words: list[str], client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "never asked"}])
    with pytest.raises(openai.APIStatusError) as raised:
        await client.chat.completions.create(model=f"openai/{model}", messages=HELLO,
                                             tools=[{"type": "mcp", "server_label": "x", **tool}])
    assert raised.value.status_code == status
    for word in words:
        assert word in raised.value.body["message"]
    assert stand_in.received(model) == []  # never a request the caller cannot place


async def test_host_and_origin_rules_hold_here_too(gateway: Gateway) -> None:
    url = f"{gateway.base_url}/v1/chat/completions"
    body = {"model": "openai/x", "messages": HELLO}
    async with httpx.AsyncClient(timeout=10) as http:
        foreign_origin = await http.post(url, json=body, headers={"origin": "https://evil.example"})
        foreign_host = await http.post(url, json=body, headers={"host": "evil.example"})
    assert (foreign_origin.status_code, foreign_host.status_code) == (403, 421)


async def test_an_unknown_provider_is_a_400_naming_the_configured_ones(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(model="opneai/gpt-4.1", messages=HELLO)
    assert "unknown provider 'opneai'" in raised.value.message and "did you mean 'openai'" in raised.value.message


async def test_models_lists_what_is_configured(gateway: Gateway) -> None:
    listing = gateway.get_json("/v1/models")
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == ["local/llama-local"]


# --- request fields -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_request_fields_reach_each_provider_in_its_own_terms(
    protocol: str, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "echo", "arguments": {"text": "forced"}}]}, {"text": "Done."}])
    completion = await client.chat.completions.create(
        model=f"{protocol}/{model}", messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        tools=[mcp_tool("/mcp/tools", ["echo"])], tool_choice="required", temperature=0.2, max_tokens=300,
        stop=["END"], extra_body={"vendor_option": {"x": 1}},
    )
    assert completion.choices[0].message.content == "Done."
    first, second = (request["body"] for request in stand_in.received(model))
    if protocol == "openai":
        # An OpenAI-compatible server may know fields the gateway does not: they pass through.
        assert first["vendor_option"] == {"x": 1} and first["temperature"] == 0.2 and first["max_tokens"] == 300
        assert (first["tool_choice"], second["tool_choice"]) == ("required", "auto")
    elif protocol == "anthropic":
        assert "vendor_option" not in first  # Anthropic refuses unknown fields; the stand-in would have said 400
        assert (first["max_tokens"], first["temperature"], first["stop_sequences"]) == (300, 0.2, ["END"])
        assert first["system"] == "Be brief."
        assert (first["tool_choice"], second["tool_choice"]) == ({"type": "any"}, {"type": "auto"})
    else:
        assert first["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 300, "stopSequences": ["END"]}
        assert first["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        modes = [body["toolConfig"]["functionCallingConfig"]["mode"] for body in (first, second)]
        assert modes == ["ANY", "AUTO"]


# --- streaming details ---------------------------------------------------------------------------------------


async def test_text_streams_as_the_provider_streams_it(client: openai.AsyncOpenAI, stand_in: ProviderStandIn) -> None:
    text = "one two three four five six"
    model = stand_in.script([{"text": text}])
    stream = await client.chat.completions.create(model=f"anthropic/{model}", messages=HELLO, stream=True,
                                                  stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    contents = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    assert contents == ["one ", "two ", "three ", "four ", "five ", "six"]  # not buffered into one piece
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


async def test_a_client_that_disconnects_cancels_the_running_tool_call_and_the_loop(
    gateway: Gateway, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    seconds = 2
    model = stand_in.script([{"calls": [{"tool": "slowEcho", "arguments": {"seconds": seconds}}]},
                             {"text": "The slow call finished."}])
    body = {"model": f"openai/{model}", "messages": HELLO, "stream": True,
            "tools": [mcp_tool("/mcp/echo", ["slowEcho"])]}
    url = f"{gateway.base_url}/v1/chat/completions"
    async with httpx.AsyncClient(timeout=30) as http, http.stream("POST", url, json=body) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if "mcp_call.started" in line:
                break  # leaving the block drops the connection mid-stream
    with anyio.fail_after(10):
        while "client disconnected; cancelling" not in gateway.log():
            await anyio.sleep(0.05)
    # Had the loop gone on, the slow call would have finished and the model been asked again by now.
    await anyio.sleep(seconds + 1)
    assert len(stand_in.received(model)) == 1


async def test_a_client_that_disconnects_cancels_the_provider_stream(
    gateway: Gateway, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": " ".join(["word"] * 40), "piece_delay": 0.25}])
    body = {"model": f"anthropic/{model}", "messages": HELLO, "stream": True}
    url = f"{gateway.base_url}/v1/chat/completions"
    async with httpx.AsyncClient(timeout=30) as http, http.stream("POST", url, json=body) as response:
        async for line in response.aiter_lines():
            if '"content": "word ' in line:
                break  # the first word arrived; drop the connection
    with anyio.fail_after(10):
        while stand_in.aborted(model) == 0:
            await anyio.sleep(0.05)
