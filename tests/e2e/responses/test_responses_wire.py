"""What /v1/responses sends each provider and what the caller sees of it: tool names the provider accepts while
output items keep the MCP names, tool_choice and max_output_tokens in each provider's terms, provider errors as
OpenAI's errors before and during a stream."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from tests.e2e.chat.helpers import GITHUB_LONG_TOOL, marker, mcp_tool
from tests.e2e.gateway_process import Gateway, UpstreamAPI
from tests.e2e.provider_standin import ProviderStandIn
from tests.e2e.responses.helpers import PROVIDERS, kinds, offered, respond

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_provider_sees_names_it_accepts_and_the_caller_the_mcp_names(
    provider: str, gateway: Gateway, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
    upstream_api: UpstreamAPI,
) -> None:
    org = marker()
    gateway_name = f"github-{GITHUB_LONG_TOOL}"  # 77 characters: over OpenAI's and Gemini's 64
    model = stand_in.script([
        {"calls": [{"tool_containing": "selected-repositories",
                    "arguments": {"org": org, "selected_repository_ids": [1296269, 42]}}]},
        {"quote_results": True},
    ])
    response = await client.responses.create(model=f"{provider}/{model}", input="Enable two repositories.",
                                             tools=[mcp_tool(gateway.mcp_url, [gateway_name, "github-repos_get"])])
    listing, call = response.output[0], response.output[1]
    assert listing.server_label == "mcp" and sorted(tool.name for tool in listing.tools) == sorted(
        [gateway_name, "github-repos_get"])
    assert call.type == "mcp_call" and call.name == gateway_name and call.error is None
    assert json.loads(call.arguments) == {"org": org, "selected_repository_ids": [1296269, 42]}
    [received] = [request for request in upstream_api.received_requests() if org in request["raw_path"]]
    assert received["json"] == {"selected_repository_ids": [1296269, 42]}
    [provider_name] = [name for name in offered(provider, stand_in.received(model)[0]["body"])
                       if "selected-repositories" in name]
    if provider == "anthropic":
        assert provider_name == gateway_name  # Anthropic takes 128 characters
    else:
        assert len(provider_name) <= 64 and provider_name != gateway_name


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_tool_choice_parallel_calls_and_max_output_tokens_reach_the_provider_in_its_terms(
    provider: str, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "tools-add", "arguments": {"a": 1, "b": 2}}]}, {"text": "3"}])
    await client.responses.create(model=f"{provider}/{model}", input="Add.", max_output_tokens=77,
                                  tools=[mcp_tool("/mcp", ["tools-add", "tools-echo"], server_label="all")],
                                  parallel_tool_calls=False,
                                  # The tool by its own server's name, under the label the request gave it.
                                  tool_choice={"type": "mcp", "server_label": "all", "name": "add"})
    first, second = (entry["body"] for entry in stand_in.received(model))
    if provider == "openai":
        assert first["tool_choice"] == {"type": "function", "name": "tools-add"}
        assert first["max_output_tokens"] == 77 and first["parallel_tool_calls"] is False
    else:
        assert first["tool_choice"] == {"type": "tool", "name": "tools-add", "disable_parallel_tool_use": True}
        assert first["max_tokens"] == 77
    # A forced tool holds for the first round only, so the model can answer afterwards.
    assert second.get("tool_choice") in ("auto", {"type": "auto", "disable_parallel_tool_use": True})


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_provider_error_before_anything_is_answered_keeps_its_status(
    stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"status": 429, "message": "slow down", "retry_after": 0}])
    with pytest.raises(openai.RateLimitError) as limited:
        await respond(client, stream=stream, model=f"openai/{model}", input="Hi.")
    assert "slow down" in limited.value.message


async def test_a_provider_error_mid_stream_fails_the_response(client: openai.AsyncOpenAI,
                                                             stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 1, "b": 2}}]},
                             {"status": 400, "message": "context too long"}])
    events = []
    async with client.responses.stream(model=f"gemini/{model}", input="Add.",
                                       tools=[mcp_tool("/mcp/tools", ["add"])]) as stream:
        async for event in stream:
            events.append(event)
    types = kinds(events)
    assert types[-1] == "response.failed" and "response.mcp_call.completed" in types
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None and "context too long" in failed.error.message


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_the_round_limit_leaves_the_response_incomplete(
    stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 1, "b": 2}}]},
                             {"text": "Still going.", "calls": [{"tool": "add", "arguments": {"a": 3, "b": 4}}]}])
    request = {"model": f"local/{model}", "input": "Add twice.", "tools": [mcp_tool("/mcp/tools", ["add"])],
               "extra_body": {"mcp_max_rounds": 2}}
    if stream:
        events = [event async for event in await client.responses.create(stream=True, **request)]
        assert events[-1].type == "response.incomplete"
        response = events[-1].response
    else:
        response = await client.responses.create(**request)
    assert response.status == "incomplete" and response.incomplete_details.reason == "mcp_round_limit"
    assert [entry.type for entry in response.output] == ["mcp_list_tools", "mcp_call", "message", "mcp_call"]
    ran, not_run = response.output[1], response.output[3]
    assert ran.output == "3" and not_run.status == "failed" and "limit of 2 model rounds" in str(not_run.error)
    assert "round limit" in response.model_extra["mcp_gateway"]["note"]


class Weather(BaseModel):
    city: str
    celsius: int


@pytest.mark.parametrize("provider", ["openai", "local", "gemini"])
async def test_structured_output_through_the_sdks_parse_helper(
    provider: str, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": '{"city": "Oslo", "celsius": 21}'}])
    parsed = await client.responses.parse(model=f"{provider}/{model}", input="Weather in Oslo?", text_format=Weather,
                                          reasoning={"effort": "low"})
    assert parsed.output_parsed == Weather(city="Oslo", celsius=21)
    body = stand_in.received(model)[0]["body"]
    if provider == "openai":
        assert body["text"]["format"]["type"] == "json_schema" and body["reasoning"] == {"effort": "low"}
    elif provider == "local":
        assert body["response_format"]["json_schema"]["schema"]["required"] == ["city", "celsius"]
        assert body["reasoning_effort"] == "low"
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_server_that_is_down_is_a_failed_listing_and_the_rest_still_serves(
    stream: bool, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 2, "b": 3}}]}, {"quote_results": True}])
    response, events = await respond(client, stream=stream, model=f"anthropic/{model}", input="Add.",
                                     tools=[mcp_tool("/mcp/tools", ["add"]), mcp_tool("/mcp/down")])
    listed, failed = response.output[0], response.output[1]
    assert (listed.server_label, listed.error) == ("tools", None)
    assert failed.type == "mcp_list_tools" and failed.server_label == "down" and failed.tools == []
    assert "down" in (failed.error or "")
    assert "5" in response.output_text
    assert offered("anthropic", stand_in.received(model)[0]["body"]) == ["add"]
    if stream:
        types = kinds(events)
        assert types.count("response.mcp_list_tools.failed") == 1
        assert types.count("response.mcp_list_tools.completed") == 1
