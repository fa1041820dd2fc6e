"""/v1/messages as the plain Messages API (what Claude Code sends with ANTHROPIC_BASE_URL): a bare claude-… model
means Anthropic, the request's fields reach each provider in its own terms, `client.messages.stream` accumulates
the gateway's events, and every failure arrives in Anthropic's error shape with the right status."""

from __future__ import annotations

import base64
import json
import uuid

import anthropic
import anyio
import pytest

from mcp_gateway.http import httpx
from tests.e2e.chat.helpers import KEYS, Json
from tests.e2e.gateway_process import Gateway
from tests.e2e.messages.helpers import HELLO, MCP_BETA, connector
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio

PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000105"
    "7a2c9f2a0000000049454e44ae426082")).decode()
WEATHER: Json = {"name": "get_weather", "description": "The weather in a city.",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
ASKED: Json = dict(
    max_tokens=77, system=[{"type": "text", "text": "You are terse."}], stop_sequences=["END"],
    # The SDK of 2026 no longer has parameters for the sampling fields; older SDKs and Claude Code still send them.
    extra_body={"temperature": 0.2, "top_k": 5}, metadata={"user_id": "user-7"}, tools=[WEATHER],
    tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
    messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
    ]}],
)


def claude_script(stand_in: ProviderStandIn, turns: list[Json]) -> str:
    """A script under a bare Claude model name (the stand-in's own helper names models `scripted-…`)."""
    model = f"claude-test-{uuid.uuid4().hex[:10]}"
    httpx.post(f"{stand_in.base_url}/__scripts", json={"model": model, "turns": turns}, timeout=10).raise_for_status()
    return model


async def test_a_bare_claude_model_reaches_anthropic_with_the_request_s_fields(
    client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = claude_script(stand_in, [{"calls": [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]}])
    message = await client.messages.create(model=model, **ASKED)
    assert message.stop_reason == "tool_use" and message.model == model
    (use,) = message.content
    assert use.type == "tool_use" and use.name == "get_weather" and use.input == {"city": "Oslo"}
    (received,) = stand_in.received(model)
    body = received["body"]
    assert received["headers"]["x-api-key"] == KEYS["anthropic"]
    assert body["model"] == model and body["max_tokens"] == 77 and body["system"] == "You are terse."
    assert body["stop_sequences"] == ["END"] and body["temperature"] == 0.2 and body["top_k"] == 5
    assert body["metadata"] == {"user_id": "user-7"}
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    image = body["messages"][0]["content"][1]
    assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}


async def test_the_request_s_fields_reach_openai_in_its_terms(
    client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]}])
    message = await client.messages.create(model=f"openai/{model}", **ASKED)
    assert message.stop_reason == "tool_use"
    body = stand_in.received(model)[0]["body"]
    assert body["max_completion_tokens"] == 77 and body["stop"] == ["END"] and body["temperature"] == 0.2
    assert body["user"] == "user-7" and "top_k" not in body and "metadata" not in body
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert body["messages"][1]["content"][1] == {"type": "image_url",
                                                 "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False


async def test_the_request_s_fields_reach_gemini_in_its_terms(
    client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]}])
    await client.messages.create(model=f"gemini/{model}", **ASKED)
    body = stand_in.received(model)[0]["body"]
    assert body["generationConfig"]["maxOutputTokens"] == 77 and body["generationConfig"]["stopSequences"] == ["END"]
    assert body["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": PIXEL}}


@pytest.mark.parametrize("protocol", ["anthropic", "openai", "gemini"])
async def test_text_streams_through_the_sdk_stream_helper(
    protocol: str, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "One, two, three, four, five."}])
    pieces = []
    async with client.messages.stream(model=f"{protocol}/{model}", max_tokens=50, messages=HELLO) as stream:
        async for text in stream.text_stream:
            pieces.append(text)
        final = await stream.get_final_message()
    assert "".join(pieces) == "One, two, three, four, five."
    assert len(pieces) > 1  # as the provider streamed it, not in one piece at the end
    assert [block.type for block in final.content] == ["text"]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


# --- errors, in Anthropic's shape ----------------------------------------------------------------------------


async def test_an_unknown_model_is_not_found(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as raised:
        await client.messages.create(model="nosuch/model", max_tokens=10, messages=HELLO)
    assert raised.value.body == {"type": "error", "error": {"type": "not_found_error",
                                                            "message": raised.value.body["error"]["message"]}}
    assert "nosuch" in raised.value.body["error"]["message"]


async def test_malformed_requests_are_invalid_request_errors(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
        cases: list[tuple[Json | str, str]] = [
            ({"model": "openai/x", "messages": HELLO}, "max_tokens"),
            ({"model": "openai/x", "max_tokens": 5, "messages": []}, "messages"),
            ({"model": "openai/x", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]}, "role"),
            ({"model": "openai/x", "max_tokens": 5, "messages": HELLO, "tool_choice": {"type": "every"}},
             "tool_choice"),
            ({"model": "openai/x", "max_tokens": 5, "messages": HELLO,
              "mcp_servers": [{"type": "url", "url": "/mcp/nosuch", "name": "n"}]}, "nosuch"),
            ({"model": "openai/x", "max_tokens": 5, "messages": HELLO,
              "mcp_servers": [{"type": "url", "url": "https://mcp.example.com/sse", "name": "remote"}]},
             "mcp_servers.0.url 'https://mcp.example.com/sse' is not this gateway"),
            ({"model": "openai/x", "max_tokens": 5, "messages": HELLO,
              "mcp_servers": [{"type": "url", "url": "/mcp/tools", "name": "t",
                               "tool_configuration": {"allowed_tools": ["nope"]}}]}, "'nope' matches no tool"),
            ({"model": "openai/x", "max_tokens": 5, "messages": HELLO,
              "mcp_servers": [{"type": "url", "url": "/mcp/tools", "name": "t"}],
              "tools": [{"type": "mcp_toolset", "mcp_server_name": "other"}]}, "'other' names no server"),
            ("{not json", "not valid JSON"),
        ]
        for body, expected in cases:
            content = body if isinstance(body, str) else None
            response = await http.post("/v1/messages", content=content, json=None if content else body)
            assert response.status_code == 400, (body, response.text)
            error = response.json()
            assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error", error
            assert expected in error["error"]["message"], (expected, error)


async def test_provider_failures_keep_their_status_and_name_the_provider(
    client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"status": 400, "message": "prompt is too long"}])
    with pytest.raises(anthropic.BadRequestError) as rejected:
        await client.messages.create(model=f"anthropic/{model}", max_tokens=10, messages=HELLO)
    assert rejected.value.body["error"]["message"] == "anthropic: prompt is too long"
    model = stand_in.script([{"status": 429, "message": "slow down", "retry_after": 0}] * 3)
    with pytest.raises(anthropic.RateLimitError) as limited:
        await client.messages.create(model=f"openai/{model}", max_tokens=10, messages=HELLO)
    assert limited.value.body["error"]["type"] == "rate_limit_error"


async def test_a_failure_after_the_stream_began_is_an_error_event_the_sdk_raises(
    client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "Checking.", "calls": [{"tool": "add", "arguments": {"a": 1, "b": 1}}]},
                             {"status": 400, "message": "context window exceeded"}])
    seen = []
    with pytest.raises(anthropic.APIError) as raised:
        async with client.beta.messages.stream(model=f"anthropic/{model}", max_tokens=10, messages=HELLO,
                                               mcp_servers=[connector("/mcp/tools", "t", ["add"])],
                                               betas=[MCP_BETA]) as stream:
            async for event in stream:
                seen.append(event.type)
    assert "context window exceeded" in str(raised.value)
    assert "content_block_start" in seen  # the first round's text and the MCP call had already streamed


@pytest.mark.parametrize("protocol", ["anthropic", "openai", "gemini"])
async def test_a_request_shaped_as_claude_code_sends_it(
    protocol: str, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    """The shape Claude Code 2.1 sends (captured from it): betas, a system message mid-conversation, cache_control
    everywhere, adaptive thinking, context management, tools with long descriptions, a JSON user id."""
    model = stand_in.script([{"calls": [{"tool": "Read", "arguments": {"file_path": "/tmp/notes.txt"}}]},
                             {"quote_results": True}])
    read_tool: Json = {"name": "Read", "description": "Reads a file. " * 150,  # 2,100 characters
                       "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}},
                                        "required": ["file_path"]}}
    request: Json = {
        "model": f"{protocol}/{model}", "max_tokens": 32000, "tools": [read_tool],
        "system": [{"type": "text", "text": "You are a coding agent."},
                   {"type": "text", "text": "Be careful.", "cache_control": {"type": "ephemeral"}}],
        "metadata": {"user_id": '{"device_id": "d1", "session_id": "s1"}'},
        "betas": ["claude-code-20250219", "interleaved-thinking-2025-05-14", "context-management-2025-06-27"],
        "extra_body": {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
                       "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}},
    }
    messages: list[Json] = [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                     {"type": "text", "text": "What is in notes?",
                                      "cache_control": {"type": "ephemeral"}}]},
        {"role": "system", "content": "Available agent types: none."},
    ]
    async with client.beta.messages.stream(messages=messages, **request) as stream:
        first = await stream.get_final_message()
    (use,) = [block for block in first.content if block.type == "tool_use"]
    assert first.stop_reason == "tool_use" and use.name == "Read"
    messages += [{"role": "assistant", "content": [block.to_dict() for block in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                               "content": [{"type": "text", "text": "buy milk"}]}]}]
    async with client.beta.messages.stream(messages=messages, **request) as stream:
        final = await stream.get_final_message()
    assert final.content[-1].type == "text" and "buy milk" in final.content[-1].text
    sent = stand_in.received(model)[0]["body"]
    if protocol == "openai":
        assert len(sent["tools"][0]["function"]["description"]) <= 1024
        assert [message["role"] for message in sent["messages"]] == ["system", "user", "system"]
    if protocol == "anthropic":
        assert sent["thinking"] == {"type": "adaptive"}
        assert "Available agent types: none." in json.dumps(sent["system"])


async def test_each_request_offers_its_own_tools(client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn) -> None:
    """Two callers with different tools, one after the other: neither model is offered the other's."""
    for name in ("lookup_order", "cancel_order"):
        model = stand_in.script([{"text": "ok"}])
        tool = {"name": name, "input_schema": {"type": "object", "properties": {}}}
        await client.messages.create(model=f"openai/{model}", max_tokens=10, messages=HELLO, tools=[tool])
        offered = stand_in.received(model)[0]["body"]["tools"]
        assert [entry["function"]["name"] for entry in offered] == [name]


@pytest.mark.parametrize("protocol", ["anthropic", "openai", "gemini"])
async def test_an_image_a_tool_returned_reaches_the_model(
    protocol: str, client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    """Claude Code reading a picture: the image comes back in a tool_result. Anthropic and Gemini take it in the
    result itself; OpenAI's tool messages hold text only, so it follows the result in a user message."""
    model = stand_in.script([{"text": "A red pixel."}])
    image: Json = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
    messages: list[Json] = [
        {"role": "user", "content": "What is in pixel.png?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "Read",
                                           "input": {"file_path": "pixel.png"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                      "content": [{"type": "text", "text": "pixel.png:"}, image]}]},
    ]
    read_tool = {"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}
    message = await client.messages.create(model=f"{protocol}/{model}", max_tokens=50, messages=messages,
                                           tools=[read_tool])
    assert message.content[0].type == "text" and message.content[0].text == "A red pixel."
    sent = stand_in.received(model)[0]["body"]
    if protocol == "anthropic":
        assert sent["messages"][-1]["content"][0]["content"][1] == image
    elif protocol == "openai":
        tool, user = sent["messages"][-2:]
        assert tool == {"role": "tool", "tool_call_id": "toolu_01", "content": "pixel.png:"}
        assert user["role"] == "user" and {"type": "image_url", "image_url": {
            "url": f"data:image/png;base64,{PIXEL}"}} in user["content"]
    else:
        assert PIXEL in json.dumps(sent["contents"][-1])


async def test_a_client_that_goes_away_mid_stream_cancels_the_provider_stream(
    client: anthropic.AsyncAnthropic, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": " ".join(["word"] * 40), "piece_delay": 0.25}])
    async with client.messages.stream(model=f"gemini/{model}", max_tokens=100, messages=HELLO) as stream:
        async for text in stream.text_stream:
            if "word" in text:
                break  # the first word arrived; leaving the block closes the connection
    with anyio.fail_after(10):
        while stand_in.aborted(model) == 0:
            await anyio.sleep(0.05)
