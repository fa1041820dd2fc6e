"""POST /v1/responses through the official openai SDK: a multi-round task on two upstreams with every provider
(OpenAI's Responses API, an OpenAI-compatible Chat Completions server, Anthropic and Gemini through the bridge),
streaming and not; approvals answered through previous_response_id; the caller's own function tools; a failing
tool. Assertions look at what the upstreams and provider stand-ins received, and streams go through the SDK's
stream parser, which raises on an event sequence that does not add up."""

from __future__ import annotations

import json

import openai
import pytest

from tests.e2e.chat.helpers import marker, mcp_tool, upstream_requests
from tests.e2e.gateway_process import Gateway, UpstreamAPI
from tests.e2e.provider_standin import ProviderStandIn
from tests.e2e.responses.helpers import PROVIDERS, endpoint, error_text, kinds, offered, respond, results_sent

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_multi_round_task_on_two_upstreams(
    provider: str, stream: bool, gateway: Gateway, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
    upstream_api: UpstreamAPI,
) -> None:
    item = marker()
    model = stand_in.script([
        {"text": "Looking it up.", "calls": [{"tool": "getItem", "arguments": {"item_id": item, "limit": 3}},
                                             {"tool": "add", "arguments": {"a": 2, "b": 40}}]},
        {"calls": [{"tool": "echo", "arguments": {"text": f"hello {item}"}}]},
        {"text": "All done: forty-two."},
    ])
    tools = [mcp_tool("mcp_gateway/mcp/echo", ["getItem"]), mcp_tool(gateway.server_url("tools"), ["add", "echo"])]
    response, events = await respond(client, stream=stream, model=f"{provider}/{model}",
                                     input="Find the item and add two numbers.", tools=tools,
                                     instructions="Be brief.", metadata={"case": item})
    assert response.status == "completed"
    assert [entry.type for entry in response.output] == [
        "mcp_list_tools", "mcp_list_tools", "message", "mcp_call", "mcp_call", "mcp_call", "message",
    ]
    listed = {entry.server_label: sorted(tool.name for tool in entry.tools) for entry in response.output[:2]}
    assert listed == {"echo": ["getItem"], "tools": ["add", "echo"]}
    calls = [entry for entry in response.output if entry.type == "mcp_call"]
    assert [(call.server_label, call.name) for call in calls] == [("echo", "getItem"), ("tools", "add"),
                                                                   ("tools", "echo")]
    assert json.loads(calls[1].arguments) == {"a": 2, "b": 40}
    assert item in (calls[0].output or "") and "42" in (calls[1].output or "")
    assert f"hello {item}" in (calls[2].output or "") and all(call.error is None for call in calls)
    assert response.output_text == "Looking it up.All done: forty-two."
    assert response.metadata == {"case": item} and response.instructions == "Be brief."
    assert response.usage is not None and response.usage.total_tokens > 0
    assert response.usage.total_tokens == sum(entry["usage"]["total_tokens"]
                                              for entry in response.model_extra["mcp_gateway"]["rounds"])
    # The upstreams ran the calls; the provider got their results in its own wire format, under its own names.
    assert upstream_requests(upstream_api, f"/items/{item}") == [f"/items/{item}?limit=3"]
    received = stand_in.received(model)
    assert len(received) == 3 and all(endpoint(provider) in entry["path"] for entry in received)
    assert sorted(offered(provider, received[0]["body"])) == ["add", "echo", "getItem"]
    first = results_sent(provider, received[1]["body"])
    assert len(first) == 2 and item in first[0] and "42" in first[1]
    assert "Be brief." in json.dumps(received[0]["body"])
    if provider == "openai":
        assert received[0]["body"]["store"] is False  # the gateway keeps the conversation, not the provider
    if stream:
        types = kinds(events)
        assert types[0] == "response.created" and types[-1] == "response.completed"
        assert [event.sequence_number for event in events] == sorted(event.sequence_number for event in events)
        assert types.count("response.mcp_list_tools.completed") == 2
        assert types.count("response.mcp_call.in_progress") == 3 and types.count("response.mcp_call.completed") == 3
        assert types.count("response.mcp_call_arguments.done") == 3
        deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
        assert deltas == response.output_text
        # An MCP call of round 1 finishes before round 2's call starts.
        finished = [index for index, kind in enumerate(types) if kind == "response.mcp_call.completed"]
        started = [index for index, kind in enumerate(types) if kind == "response.mcp_call.in_progress"]
        assert finished[1] < started[2]
    # The stored response is the one the caller got.
    stored = await client.responses.retrieve(response.id)
    assert [entry.id for entry in stored.output] == [entry.id for entry in response.output]


async def test_stream_true_on_create_yields_the_same_events(client: openai.AsyncOpenAI,
                                                           stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 1, "b": 2}}]}, {"quote_results": True}])
    stream = await client.responses.create(model=f"openai/{model}", input="Add.", stream=True,
                                           tools=[mcp_tool("/mcp/tools", ["add"])])
    events = [event async for event in stream]
    types = kinds(events)
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    final = events[-1].response
    assert "3" in final.output_text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_approval_request_then_approval_through_previous_response_id(
    provider: str, stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "add", "arguments": {"a": 20, "b": 22}}, {"tool": "echo", "arguments": {"text": "x"}}]},
        {"quote_results": True},
    ])
    tools = [mcp_tool("/mcp/tools", ["add", "echo"], approval={"never": {"tool_names": ["echo"]}})]
    first, _ = await respond(client, stream=stream, model=f"{provider}/{model}", input="Add them.", tools=tools)
    types = [entry.type for entry in first.output]
    assert types == ["mcp_list_tools", "mcp_call", "mcp_approval_request"]
    request = first.output[2]
    assert request.name == "add" and json.loads(request.arguments) == {"a": 20, "b": 22}
    assert request.server_label == "tools"
    assert len(stand_in.received(model)) == 1  # nothing more until the caller decides
    second, events = await respond(
        client, stream=stream, model=f"{provider}/{model}", previous_response_id=first.id, tools=tools,
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}],
    )
    assert [entry.type for entry in second.output] == ["mcp_call", "message"]
    call = second.output[0]
    assert call.name == "add" and call.output is not None and "42" in call.output
    assert call.approval_request_id == request.id
    assert "42" in second.output_text
    received = stand_in.received(model)
    assert len(received) == 2 and any("42" in text for text in results_sent(provider, received[1]["body"]))
    if stream:
        assert "response.mcp_call.completed" in kinds(events)


async def test_a_denied_call_is_not_run_and_the_model_is_told(client: openai.AsyncOpenAI,
                                                             stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"calls": [{"tool": "fail", "arguments": {"message": "must not run"}}]},
                             {"quote_results": True}])
    tools = [mcp_tool("/mcp/tools", ["fail"], approval="always")]
    first = await client.responses.create(model=f"gemini/{model}", input="Go.", tools=tools)
    request = first.output[-1]
    assert request.type == "mcp_approval_request"
    second = await client.responses.create(
        model=f"gemini/{model}", previous_response_id=first.id, tools=tools,
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": False}],
    )
    call = second.output[0]
    assert call.type == "mcp_call" and call.status == "failed" and "denied" in error_text(call)
    assert "denied" in second.output_text and "must not run" not in error_text(call)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", ["openai", "local", "gemini"])
async def test_caller_function_tools_mixed_with_mcp_tools(
    provider: str, stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "add", "arguments": {"a": 1, "b": 1}},
                   {"tool": "get_weather", "arguments": {"city": "Oslo"}}]},
        {"quote_results": True},
    ])
    weather = {"type": "function", "name": "get_weather", "description": "The weather in a city.", "strict": True,
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                              "additionalProperties": False}}
    tools = [mcp_tool("/mcp/tools", ["add"]), weather]
    first, events = await respond(client, stream=stream, model=f"{provider}/{model}", input="Weather?", tools=tools)
    assert [entry.type for entry in first.output] == ["mcp_list_tools", "mcp_call", "function_call"]
    function_call = first.output[2]
    assert function_call.name == "get_weather" and json.loads(function_call.arguments) == {"city": "Oslo"}
    if stream:
        assert "response.function_call_arguments.done" in kinds(events)
    second, _ = await respond(
        client, stream=stream, model=f"{provider}/{model}", previous_response_id=first.id, tools=tools,
        input=[{"type": "function_call_output", "call_id": function_call.call_id, "output": "sunny, 21 C"}],
    )
    assert "sunny, 21 C" in second.output_text and "2" in second.output_text
    received = stand_in.received(model)
    sent = results_sent(provider, received[1]["body"])
    assert len(sent) == 2 and "sunny, 21 C" in sent[1]
    if provider == "openai":  # the caller's own tool reaches OpenAI exactly as written, strict and all
        assert [tool for tool in received[0]["body"]["tools"] if tool["name"] == "get_weather"] == [weather]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_failing_tool_becomes_an_mcp_call_error_the_model_reads(
    stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    reason = marker()
    model = stand_in.script([{"calls": [{"tool": "fail", "arguments": {"message": reason}}]},
                             {"quote_results": True}])
    response, events = await respond(client, stream=stream, model=f"anthropic/{model}", input="Try.",
                                     tools=[mcp_tool("/mcp/tools", ["fail"])])
    call = response.output[1]
    assert call.type == "mcp_call" and call.output is None and call.status == "failed"
    assert call.error.type == "mcp_tool_execution_error" and reason in error_text(call)
    assert reason in response.output_text and response.status == "completed"
    if stream:
        assert "response.mcp_call.failed" in kinds(events)
        assert "response.mcp_call.completed" not in kinds(events)
