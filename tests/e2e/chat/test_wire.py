"""The wire: request fields and the caller's functions in each provider's terms, text streamed as it arrives, and a
client that disconnects."""

from __future__ import annotations

import json

import anyio
import openai
import pytest

from mcp_gateway.http import httpx
from tests.e2e.chat.helpers import HELLO, Json, mcp_tool
from tests.e2e.gateway_process import Gateway, UpstreamAPI
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio


# --- request fields -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["local", "anthropic", "gemini"])
async def test_request_fields_reach_each_provider_in_its_own_terms(
    protocol: str, client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"calls": [{"tool": "echo", "arguments": {"text": "forced"}}]}, {"text": "Done."}])
    completion = await client.chat.completions.create(
        model=f"{protocol}/{model}", messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        tools=[mcp_tool("/mcp/tools", ["echo"])], tool_choice="required", temperature=0.2, max_tokens=300,
        stop=["END"], parallel_tool_calls=False, extra_body={"vendor_option": {"x": 1}},
    )
    assert completion.choices[0].message.content == "Done."
    first, second = (request["body"] for request in stand_in.received(model))
    if protocol == "local":
        # An OpenAI-compatible server may know fields the gateway does not: they pass through.
        assert first["vendor_option"] == {"x": 1} and first["temperature"] == 0.2 and first["max_tokens"] == 300
        assert (first["tool_choice"], second["tool_choice"]) == ("required", "auto")
        assert first["parallel_tool_calls"] is False
    elif protocol == "anthropic":
        assert "vendor_option" not in first  # Anthropic refuses unknown fields; the stand-in would have said 400
        assert (first["max_tokens"], first["temperature"], first["stop_sequences"]) == (300, 0.2, ["END"])
        assert first["system"] == "Be brief."
        # Anthropic has no parallel_tool_calls: its tool_choice carries the wish.
        assert (first["tool_choice"], second["tool_choice"]) == (
            {"type": "any", "disable_parallel_tool_use": True}, {"type": "auto", "disable_parallel_tool_use": True})
    else:
        assert first["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 300, "stopSequences": ["END"]}
        assert first["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        modes = [body["toolConfig"]["functionCallingConfig"]["mode"] for body in (first, second)]
        assert modes == ["ANY", "AUTO"]


async def test_openai_itself_refuses_unknown_fields_and_the_caller_reads_its_words(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "never"}])
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(model=f"openai/{model}", messages=HELLO,
                                             extra_body={"vendor_option": 1})
    assert raised.value.body["message"] == "openai: Unrecognized request argument supplied: vendor_option"
    assert raised.value.body["param"] == "vendor_option"


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


async def test_caller_functions_reach_openai_as_written_and_other_providers_converted(
    client: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"]}},
              "required": ["city", "unit"], "additionalProperties": False}
    weather: Json = {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
                                                      "parameters": schema, "strict": True}}
    for protocol in ("openai", "anthropic"):
        model = stand_in.script([{"text": "No tools needed."}])
        await client.chat.completions.create(model=f"{protocol}/{model}", messages=HELLO,
                                             tools=[weather, mcp_tool("/mcp/tools", ["echo"])])
        [sent] = [tool for tool in stand_in.received(model)[0]["body"]["tools"]
                  if "get_weather" in json.dumps(tool)]
        if protocol == "openai":
            assert sent == weather
        else:
            assert sent["name"] == "get_weather" and sent["input_schema"]["properties"]["city"] == {"type": "string"}
