"""The tool loop through POST /v1/chat/completions, driven by the official openai SDK: a multi-round task on two
upstreams with every provider, streaming and not; names; approvals; the caller's own tools; failing tools; the round
limit. Assertions look at what the upstreams and the provider stand-ins received, not only at what came back."""

from __future__ import annotations

import json

import openai
import pytest

from tests.e2e.chat.helpers import (
    GITHUB_LONG_TOOL,
    HELLO,
    KEYS,
    PROTOCOLS,
    Json,
    ask,
    marker,
    mcp_tool,
    offered_names,
    tool_results_sent,
    upstream_requests,
)
from tests.e2e.gateway_process import Gateway, UpstreamAPI
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio


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
    options = {"stream_options": {"include_usage": True}} if stream else {}
    completion, summary, progress = await ask(client, stream=stream, model=f"{protocol}/{model}",
                                              messages=messages, tools=tools, **options)
    if stream:
        kinds = [entry["type"] for entry in progress]
        assert kinds.count("mcp_call.started") == 3 and kinds.count("mcp_call.completed") == 3
        assert kinds.count("round.completed") == 3
        # Text of every round streams to the caller; the SDK joins it into one message.
        assert completion.choices[0].message.content == (
            "Looking it up.All done: the item exists and two plus forty is forty-two."
        )
    else:
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


async def test_several_calls_of_one_turn_run_at_the_same_time(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "slow", "arguments": {"seconds": 0.5}}, {"tool": "slow", "arguments": {"seconds": 0.5}}]},
        {"text": "Both done."},
    ])
    _, _, progress = await ask(client, stream=True, model=f"openai/{model}", messages=HELLO,
                               tools=[mcp_tool("/mcp/tools", ["slow"])])
    calls = [entry["type"] for entry in progress if entry["type"].startswith("mcp_call.")]
    # One after the other would alternate started, completed, started, completed.
    assert calls == ["mcp_call.started", "mcp_call.started", "mcp_call.completed", "mcp_call.completed"]


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
    first, summary, _ = await ask(client, stream=stream, model=f"openai/{model}", messages=messages, tools=tools)
    assert first.choices[0].finish_reason == "tool_calls"
    [pending] = first.choices[0].message.tool_calls
    assert pending.function.name == "getItem" and json.loads(pending.function.arguments) == {"item_id": item}
    assert upstream_requests(upstream_api, item) == []  # nothing runs before the caller decides
    assert summary["awaiting_approval"] == [pending.id]
    transcript = [first.choices[0].message.model_dump(exclude_none=True)]
    second = await client.chat.completions.create(
        model=f"openai/{model}", messages=[*messages, *transcript], tools=tools,
        # Both documented shapes: {id: decision}, and a list of {"tool_call_id", "approve"}.
        extra_body={"mcp_approvals": {pending.id: True} if approve else [
            {"tool_call_id": pending.id, "approve": False}]},
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
    first, summary, _ = await ask(client, stream=stream, model=f"{protocol}/{model}", messages=messages, tools=tools)
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


async def test_calls_without_ids_get_ids_so_their_results_can_answer_them(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    text = marker()
    model = stand_in.script([{"calls": [{"tool": "echo", "arguments": {"text": text}, "without_id": True}]},
                             {"quote_results": True}])
    completion = await client.chat.completions.create(model=f"openai/{model}", messages=HELLO,
                                                      tools=[mcp_tool("/mcp/tools", ["echo"])])
    [record] = completion.model_extra["mcp_gateway"]["calls"]
    assert record["id"].startswith("call_") and text in completion.choices[0].message.content
    second = stand_in.received(model)[1]["body"]["messages"]
    assert second[-2]["tool_calls"][0]["id"] == second[-1]["tool_call_id"] == record["id"]


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
    completion, summary, _ = await ask(client, stream=stream, **request)
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
