"""What goes wrong, and what the caller gets: provider errors, retries, timeouts, unreachable providers, keys kept out
of errors and logs, and the requests the gateway refuses before any provider is asked."""

from __future__ import annotations

import json

import openai
import pytest

from mcp_gateway.http import httpx
from tests.e2e.chat.helpers import (
    HELLO,
    KEYS,
    PROTOCOLS,
    Json,
    mcp_tool,
)
from tests.e2e.gateway_process import Gateway
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio


# --- provider failures ---------------------------------------------------------------------------------------

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


async def test_a_429_that_outlasts_the_retries_reaches_the_caller_with_its_retry_after(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"status": 429, "message": "Rate limit reached.", "retry_after": 0.2}] * 3)
    with pytest.raises(openai.RateLimitError) as raised:
        await client.chat.completions.create(model=f"gemini/{model}", messages=HELLO)
    assert raised.value.body["message"] == "gemini: Rate limit reached."
    assert raised.value.response.headers["retry-after"] == "1"
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


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"model": "openai/x"}', "messages must be a non-empty array"),
        (b'{"model": "openai/x", "messages": [{"role": "user", "content": "hi"}], "n": 2}', "n must be 1"),
        (b'{"model": "anthropic/x", "messages": [{"role": "user", "content": "hi"}], '
         b'"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "web_search"}}',
         "tool_choice"),
        (b'{"model": "openai/x", "messages": [{"role": "user", "content": "hi"}], "mcp_approvals": [1]}',
         "mcp_approvals must be"),
    ],
    ids=["not-json", "not-an-object", "no-messages", "n", "tool-choice-anthropic-lacks", "approvals-shape"],
)
async def test_malformed_requests_are_400s_in_openai_shape(gateway: Gateway, body: bytes, words: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{gateway.base_url}/v1/chat/completions", content=body,
                                   headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and words in error["message"]


async def test_an_unknown_provider_is_a_400_naming_the_configured_ones(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(model="opneai/gpt-4.1", messages=HELLO)
    assert "unknown provider 'opneai'" in raised.value.message and "did you mean 'openai'" in raised.value.message


async def test_models_lists_what_is_configured(gateway: Gateway) -> None:
    listing = gateway.get_json("/v1/models")
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == ["local/llama-local"]
