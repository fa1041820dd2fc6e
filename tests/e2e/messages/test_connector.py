"""The MCP connector through POST /v1/messages, driven by the official anthropic SDK's beta client: a multi-round
task on two upstreams with every provider, streaming and not; the newer mcp_toolset form; the caller's own tools
mixed in; a failing tool; the round limit. Assertions look at what the upstreams and the provider stand-ins
received, not only at what came back."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.e2e.chat.helpers import PROTOCOLS, Json, marker, offered_names, tool_results_sent, upstream_requests
from tests.e2e.gateway_process import Gateway, UpstreamAPI
from tests.e2e.messages.helpers import HELLO, MCP_BETA, TOOLSET_BETA, ask, blocks_of, connector
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_multi_round_task_on_two_upstreams(
    protocol: str, stream: bool, gateway: Gateway, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
    upstream_api: UpstreamAPI,
) -> None:
    item = marker()
    model = stand_in.script([
        {"text": "Looking it up.", "calls": [{"tool": "getItem", "arguments": {"item_id": item, "limit": 3}},
                                             {"tool": "add", "arguments": {"a": 2, "b": 40}}]},
        {"calls": [{"tool": "echo", "arguments": {"text": f"hello {item}"}}]},
        {"text": "All done: the item exists and two plus forty is forty-two."},
    ])
    servers = [connector("mcp_gateway/mcp/echo", "api", ["getItem"]),
               connector(gateway.server_url("tools"), "toolbox", ["add", "echo"])]
    answer = await ask(client, stream=stream, model=f"{protocol}/{model}", system="Be brief.",
                       messages=[{"role": "user", "content": "Find the item and add two numbers."}],
                       mcp_servers=servers, betas=[MCP_BETA])
    assert [block["type"] for block in answer["content"]] == [
        "text", "mcp_tool_use", "mcp_tool_use", "mcp_tool_result", "mcp_tool_result",
        "mcp_tool_use", "mcp_tool_result", "text",
    ]
    texts = [block["text"] for block in blocks_of(answer, "text")]
    assert texts == ["Looking it up.", "All done: the item exists and two plus forty is forty-two."]
    uses = blocks_of(answer, "mcp_tool_use")
    assert [(use["name"], use["server_name"]) for use in uses] == [("getItem", "api"), ("add", "toolbox"),
                                                                   ("echo", "toolbox")]
    assert uses[0]["input"] == {"item_id": item, "limit": 3}
    results = blocks_of(answer, "mcp_tool_result")
    assert sorted(result["tool_use_id"] for result in results) == sorted(use["id"] for use in uses)
    by_id = {result["tool_use_id"]: result for result in results}
    assert item in by_id[uses[0]["id"]]["content"][0]["text"]
    assert by_id[uses[1]["id"]]["content"][0]["text"] == "42"
    assert not any(result["is_error"] for result in results)
    assert answer["stop_reason"] == "end_turn" and answer["role"] == "assistant"
    assert answer["model"] == f"{protocol}/{model}"
    # Usage summed over the three rounds: each stand-in answer counts tokens, so three rounds give more than one.
    assert answer["usage"]["input_tokens"] > 0 and answer["usage"]["output_tokens"] > 0
    if stream:
        kinds = answer["_event_types"]
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
        assert "message_delta" in kinds
    else:
        rounds = answer["mcp_gateway"]["rounds"]
        assert len(rounds) == 3
        assert answer["usage"]["output_tokens"] == sum(entry["usage"]["completion_tokens"] for entry in rounds)
    # The upstreams ran the calls; the provider got their results in its own shape, and the system prompt.
    assert upstream_requests(upstream_api, f"/items/{item}") == [f"/items/{item}?limit=3"]
    received = stand_in.received(model)
    assert len(received) == 3
    assert sorted(offered_names(protocol, received[0]["body"])) == ["add", "echo", "getItem"]
    first_results = tool_results_sent(protocol, received[1]["body"])
    assert len(first_results) == 2 and item in first_results[0] and "42" in first_results[1]
    assert "Be brief." in json.dumps(received[0]["body"])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_toolset_form_enables_and_disables_tools(
    stream: bool, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 1, "b": 2}}]}, {"quote_results": True}])
    servers = [connector("/mcp/tools", "toolbox"), connector("/mcp/echo", "api")]
    toolsets: list[Json] = [
        # Only add and echo of the tools server; nothing of echo (it has no toolset, so none of its tools).
        {"type": "mcp_toolset", "mcp_server_name": "toolbox", "default_config": {"enabled": False},
         "configs": {"add": {"enabled": True}, "echo": {"enabled": True}}},
    ]
    answer = await ask(client, stream=stream, model=f"anthropic/{model}", messages=HELLO, mcp_servers=servers,
                       tools=toolsets, betas=[TOOLSET_BETA])
    assert sorted(offered_names("anthropic", stand_in.received(model)[0]["body"])) == ["add", "echo"]
    assert [block["type"] for block in answer["content"]] == ["mcp_tool_use", "mcp_tool_result", "text"]
    assert answer["content"][-1]["text"] == "The tools answered: 3"

    # Default on, one tool off.
    model = stand_in.script([{"text": "ok"}])
    toolsets = [{"type": "mcp_toolset", "mcp_server_name": "api", "configs": {"getItem": {"enabled": False}}}]
    await ask(client, stream=stream, model=f"anthropic/{model}", messages=HELLO, mcp_servers=servers,
              tools=toolsets, betas=[TOOLSET_BETA])
    offered = offered_names("anthropic", stand_in.received(model)[0]["body"])
    assert "getStatus" in offered and "getItem" not in offered and "add" not in offered


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_caller_tools_come_back_as_tool_use_and_the_conversation_continues(
    protocol: str, stream: bool, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "add", "arguments": {"a": 20, "b": 22}},
                   {"tool": "get_weather", "arguments": {"city": "Lisbon"}}]},
        {"quote_results": True},
    ])
    weather: Json = {"name": "get_weather", "description": "The weather in a city.",
                     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                      "required": ["city"]}}
    request: Json = {"model": f"{protocol}/{model}", "mcp_servers": [connector("/mcp/tools", "toolbox", ["add"])],
                     "tools": [weather], "betas": [MCP_BETA]}
    messages: list[Json] = [{"role": "user", "content": "Add, then tell me the weather."}]
    answer = await ask(client, stream=stream, messages=messages, **request)
    assert answer["stop_reason"] == "tool_use"
    kinds = {block["type"] for block in answer["content"]}
    assert kinds == {"mcp_tool_use", "mcp_tool_result", "tool_use"}
    (own,) = blocks_of(answer, "tool_use")
    assert own["name"] == "get_weather" and own["input"] == {"city": "Lisbon"}
    assert blocks_of(answer, "mcp_tool_result")[0]["content"][0]["text"] == "42"

    # The caller runs its tool and sends the whole answer back with the result: the gateway does not run add again.
    assistant = {"role": "assistant", "content": [
        {key: value for key, value in block.items() if key != "citations" or value is not None}
        for block in answer["content"]
    ]}
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": own["id"], "content": "Sunny, 24C"}]}
    final = await ask(client, stream=stream, messages=[*messages, assistant, result], **request)
    assert final["stop_reason"] == "end_turn"
    assert [block["type"] for block in final["content"]] == ["text"]
    assert "Sunny, 24C" in final["content"][0]["text"]
    # The provider saw the whole history: the MCP result and the caller's, each answering its call.
    received = stand_in.received(model)
    assert len(received) == 2
    assert "Sunny, 24C" in tool_results_sent(protocol, received[1]["body"])[-1]
    assert "42" in json.dumps(received[1]["body"])  # the add result; no argument spells it
    if not stream:
        assert final["mcp_gateway"]["calls"] == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_failing_tool_goes_back_to_the_model_as_an_error_result(
    stream: bool, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "fail", "arguments": {"message": "the disk is full"}},
                   {"tool": "nonexistent", "hallucinated": True, "arguments": {}}]},
        {"quote_results": True},
    ])
    answer = await ask(client, stream=stream, model=f"anthropic/{model}", messages=HELLO,
                       mcp_servers=[connector("/mcp/tools", "toolbox", ["fail"])], betas=[MCP_BETA])
    results = blocks_of(answer, "mcp_tool_result")
    assert len(results) == 2 and all(result["is_error"] for result in results)
    assert "the disk is full" in json.dumps(results)
    assert answer["stop_reason"] == "end_turn"
    sent = stand_in.received(model)[1]["body"]["messages"][-1]["content"]
    assert all(block["is_error"] is True for block in sent if block["type"] == "tool_result")
    assert "the disk is full" in answer["content"][-1]["text"]


async def test_the_round_limit_pauses_the_turn(client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 1, "b": 1}}]},
                             {"calls": [{"tool": "add", "arguments": {"a": 2, "b": 2}}]},
                             {"calls": [{"tool": "add", "arguments": {"a": 3, "b": 3}}]},
                             {"text": "Done: 6."}])
    request: Json = {"model": f"openai/{model}", "max_tokens": 100, "betas": [MCP_BETA],
                     "mcp_servers": [connector("/mcp/tools", "toolbox", ["add"])], "extra_body": {"mcp_max_rounds": 2}}
    message = await client.beta.messages.create(messages=HELLO, **request)
    assert message.stop_reason == "pause_turn"
    results = [block for block in message.content if block.type == "mcp_tool_result"]
    assert [result.is_error for result in results] == [False, True]
    assert "limit" in (message.model_extra or {})["mcp_gateway"]["note"]
    # Sent back as it came, the paused turn goes on where it stopped.
    resumed = await client.beta.messages.create(
        messages=[*HELLO, {"role": "assistant", "content": [block.to_dict() for block in message.content]}], **request)
    assert resumed.stop_reason == "end_turn" and resumed.content[-1].type == "text"
    assert [call["arguments"] for call in (resumed.model_extra or {})["mcp_gateway"]["calls"]] == [{"a": 3, "b": 3}]
    history = stand_in.received(model)[2]["body"]["messages"]
    assert [entry["role"] for entry in history] == ["user", "assistant", "tool", "assistant", "tool"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_long_result_reaches_the_caller_whole(
    stream: bool, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    # Longer than the excerpt the call records keep: sent back, the message must hold what the model read.
    text = marker() * 500
    model = stand_in.script([{"calls": [{"tool": "echo", "arguments": {"text": text}}]}, {"text": "Echoed."}])
    answer = await ask(client, stream=stream, model=f"openai/{model}", messages=HELLO,
                       mcp_servers=[connector("/mcp/tools", "toolbox", ["echo"])], betas=[MCP_BETA])
    (result,) = blocks_of(answer, "mcp_tool_result")
    assert result["content"][0]["text"] == text
