"""Bridged tools are accepted by providers: the official SDKs, a real gateway, strict local provider fakes.

The gateway serves the echo API and a slice of the GitHub spec whose base URL is also the echo API, so every
tool call lands somewhere that records what it received. The GitHub slice brings names longer than the
64 characters OpenAI and Gemini accept; the bridge must rename them for the request and map the calls back.

Each round trip: load the gateway's tools in the provider's shape, send them with the official SDK (httpx for
Gemini, which has no SDK here), let the fake "model" call one tool, run that call through the bridge against
the gateway, check the upstream received it, and send the result back in the provider's shape. The fakes
(tests/e2e/fake_providers.py) reject what the real providers reject, and the negative controls at the end
prove that they do, so a bridge that produced an invalid request would fail these tests.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from mcp_gateway.bridge.messages import EMPTY_RESULT_TEXT
from mcp_gateway.bridge.messages import anthropic as anthropic_messages
from mcp_gateway.bridge.messages import openai as openai_messages
from mcp_gateway.bridge.reverse import StreamNameMapper
from mcp_gateway.bridge.session import call_tool, load_tools
from mcp_gateway.bridge.tool_choice import map_tool_choice
from mcp_gateway.bridge.tools import ConvertedTools
from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    LOOPBACK,
    SPECS_DIR,
    UPSTREAM_API_SPEC,
    Gateway,
    UpstreamAPI,
    free_port,
    http_ready,
    list_all_tools,
    running_gateway,
    start_process,
    stopping,
    write_config,
)

GITHUB_ALLOWED_TOOLS = ["repos_get", "issues_get*", "issues_create*", "actions_*-selected-repositor*-organization"]
GITHUB_TOOL_COUNT = 19
ECHO_TOOL_COUNT = 15

# PUT /orgs/{org}/actions/permissions/repositories with {"selected_repository_ids": [...]}; 77 characters.
LONG_TOOL = "github-actions_set-selected-repositories-enabled-github-actions-organization"
REPOSITORY_IDS = [1296269, 42]
# The caller forces the tool by its own name, in the OpenAI form; the bridge renames it for each provider.
FORCE_LONG_TOOL: Json = {"type": "function", "function": {"name": LONG_TOOL}}

OPENAI_MODEL = "gpt-4.1"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
GEMINI_MODEL = "gemini-2.5-flash"
MAX_TOKENS = 1024
REQUEST_TIMEOUT_SECONDS = 30.0

Json = Any
"""A request value as plain JSON data. The SDKs type request fields as TypedDicts; the bridge returns plain dicts
of the same JSON, which a type checker cannot match to them."""


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    servers = {
        "echo": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}},
        "github": {
            "openapi": {"spec": str(SPECS_DIR / "github-api.json"), "baseUrl": upstream_api.base_url},
            "allowedTools": GITHUB_ALLOWED_TOOLS,
        },
    }
    config = write_config(tmp_path_factory.mktemp("bridge-gateway"), servers)
    with running_gateway(config, e2e_log_dir) as running:
        yield running


@pytest.fixture(scope="module")
def fake_provider(e2e_log_dir: Path) -> Iterator[str]:
    """Base URL of the fake providers process."""
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "-m", "tests.e2e.fake_providers", "--host", LOOPBACK, "--port", str(port)]
    process = start_process("fake-providers", command, ready=http_ready(f"{base_url}/healthz"), log_dir=e2e_log_dir)
    with stopping(process):
        yield base_url


@pytest.fixture
async def openai_sdk(fake_provider: str) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official OpenAI client, pointed at the fake (no retries: a 400 must surface at once)."""
    base_url = f"{fake_provider}/openai/v1"
    async with openai.AsyncOpenAI(
        base_url=base_url, api_key="test", max_retries=0, timeout=REQUEST_TIMEOUT_SECONDS
    ) as client:
        yield client


@pytest.fixture
async def anthropic_sdk(fake_provider: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The official Anthropic client, pointed at the fake."""
    base_url = f"{fake_provider}/anthropic"
    async with anthropic.AsyncAnthropic(
        base_url=base_url, api_key="test", max_retries=0, timeout=REQUEST_TIMEOUT_SECONDS
    ) as client:
        yield client


async def gemini_generate(fake_provider: str, body: dict[str, Any]) -> httpx.Response:
    """POST a generateContent body as Google's REST API takes it."""
    url = f"{fake_provider}/gemini/v1beta/models/{GEMINI_MODEL}:generateContent"
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as http:
        return await http.post(url, json=body, headers={"x-goog-api-key": "test"})


def instruction(provider_tool_name: str, arguments: dict[str, Any]) -> str:
    """The user text the fake model obeys (see tests/e2e/fake_providers.py)."""
    return f"call {provider_tool_name} with {json.dumps(arguments)}"


def new_org() -> str:
    """An organization name no other test (or earlier run against the same upstream) has used."""
    return f"octo-{uuid.uuid4().hex[:12]}"


def long_tool_arguments(org: str) -> dict[str, Any]:
    return {"org": org, "selected_repository_ids": REPOSITORY_IDS}


def org_path(org: str) -> str:
    return f"/orgs/{org}/actions/permissions/repositories"


def received_for(upstream_api: UpstreamAPI, org: str) -> list[dict[str, Any]]:
    return [request for request in upstream_api.received_requests() if request["raw_path"] == org_path(org)]


def assert_upstream_received_the_call(upstream_api: UpstreamAPI, org: str) -> None:
    [received] = received_for(upstream_api, org)
    assert received["method"] == "PUT"
    assert received["json"] == {"selected_repository_ids": REPOSITORY_IDS}


def offered(tools: ConvertedTools) -> list[Json]:
    """The tool definitions to send with a request."""
    return tools.definitions


def renamed_for_provider(tools: ConvertedTools, original: str) -> str:
    """The provider-side name of an over-long tool, checked to be a real rename the caller never sees."""
    provider_name = tools.name_map.to_target(original)
    assert provider_name != original
    assert tools.name_map.rewritten[provider_name] == original
    return provider_name


@pytest.mark.anyio
async def test_every_gateway_tool_is_offered_and_only_over_long_names_change(gateway: Gateway) -> None:
    async with gateway.client() as client:
        gateway_names = [tool.name for tool in await list_all_tools(client)]
        converted = {provider: await load_tools(client, provider) for provider in ("openai", "anthropic", "gemini")}
    assert len(gateway_names) == GITHUB_TOOL_COUNT + ECHO_TOOL_COUNT
    over_long = {name for name in gateway_names if len(name) > 64}
    assert LONG_TOOL in over_long
    assert set(converted["openai"].name_map.rewritten.values()) == over_long
    assert set(converted["gemini"].name_map.rewritten.values()) == over_long
    # Gateway names follow the MCP rule, which is Anthropic's: nothing needs renaming there.
    assert converted["anthropic"].name_map.rewritten == {}
    assert all(len(tools.definitions) == len(gateway_names) for tools in converted.values())


@pytest.mark.anyio
async def test_openai_chat_completions_round_trip(
    gateway: Gateway, upstream_api: UpstreamAPI, openai_sdk: openai.AsyncOpenAI
) -> None:
    org = new_org()
    async with gateway.client() as client:
        tools = await load_tools(client, "openai")
        provider_name = renamed_for_provider(tools, LONG_TOOL)
        user: Json = {"role": "user", "content": instruction(provider_name, long_tool_arguments(org))}
        completion = await openai_sdk.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[user],
            tools=offered(tools),
            tool_choice=map_tool_choice(FORCE_LONG_TOOL, "openai", tools.name_map),
        )

        assert completion.choices[0].finish_reason == "tool_calls"
        [provider_call] = completion.choices[0].message.tool_calls or []
        assistant = openai_messages.assistant_message(completion.model_dump(exclude_none=True), tools.name_map)
        assert assistant["tool_calls"][0]["function"]["name"] == LONG_TOOL
        assert received_for(upstream_api, org) == []
        tool_message = await call_tool(client, provider_call.model_dump(), tools, "openai")

    assert_upstream_received_the_call(upstream_api, org)
    # The caller's history holds original names; the conversion puts the provider's back for the request.
    history = openai_messages.convert_messages([user, assistant, tool_message], tools.name_map)
    assert history.messages[1]["tool_calls"][0]["function"]["name"] == provider_name
    messages: list[Json] = history.messages
    answer = await openai_sdk.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=offered(tools))
    assert answer.choices[0].finish_reason == "stop"
    assert org_path(org) in (answer.choices[0].message.content or "")


@pytest.mark.anyio
async def test_openai_responses_round_trip(
    gateway: Gateway, upstream_api: UpstreamAPI, openai_sdk: openai.AsyncOpenAI
) -> None:
    org = new_org()
    async with gateway.client() as client:
        tools = await load_tools(client, "openai-responses")
        provider_name = renamed_for_provider(tools, LONG_TOOL)
        user: Json = {"role": "user", "content": instruction(provider_name, long_tool_arguments(org))}
        response = await openai_sdk.responses.create(
            model=OPENAI_MODEL,
            input=[user],
            tools=offered(tools),
            tool_choice=map_tool_choice(FORCE_LONG_TOOL, "openai-responses", tools.name_map),
        )

        [function_call] = [item.model_dump(exclude_none=True) for item in response.output]
        assert function_call["type"] == "function_call"
        assert function_call["name"] == provider_name
        output = await call_tool(client, function_call, tools, "openai-responses")

    assert_upstream_received_the_call(upstream_api, org)
    assert output["type"] == "function_call_output"
    assert output["call_id"] == function_call["call_id"]
    items: list[Json] = [user, function_call, output]
    answer = await openai_sdk.responses.create(model=OPENAI_MODEL, input=items, tools=offered(tools))
    assert org_path(org) in answer.output_text


@pytest.mark.anyio
async def test_anthropic_messages_round_trip(
    gateway: Gateway, upstream_api: UpstreamAPI, anthropic_sdk: anthropic.AsyncAnthropic
) -> None:
    org = new_org()
    async with gateway.client() as client:
        tools = await load_tools(client, "anthropic")
        provider_name = tools.name_map.to_target(LONG_TOOL)
        user: Json = {"role": "user", "content": instruction(provider_name, long_tool_arguments(org))}
        message = await anthropic_sdk.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=MAX_TOKENS,
            messages=[user],
            tools=offered(tools),
            tool_choice=map_tool_choice(FORCE_LONG_TOOL, "anthropic", tools.name_map),
        )

        assert message.stop_reason == "tool_use"
        [tool_use] = [block.model_dump(exclude_none=True) for block in message.content]
        assert tool_use["type"] == "tool_use"
        tool_result = await call_tool(client, tool_use, tools, "anthropic")

    assert_upstream_received_the_call(upstream_api, org)
    assert tool_result["tool_use_id"] == tool_use["id"]
    assert "is_error" not in tool_result
    conversation: list[Json] = [
        user,
        {"role": "assistant", "content": [tool_use]},
        {"role": "user", "content": [tool_result]},
    ]
    answer = await anthropic_sdk.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=conversation, tools=offered(tools)
    )
    assert answer.stop_reason == "end_turn"
    assert org_path(org) in "".join(block.text for block in answer.content if block.type == "text")


@pytest.mark.anyio
async def test_gemini_generate_content_round_trip(
    gateway: Gateway, fake_provider: str, upstream_api: UpstreamAPI
) -> None:
    org = new_org()
    async with gateway.client() as client:
        tools = await load_tools(client, "gemini")
        provider_name = renamed_for_provider(tools, LONG_TOOL)
        declarations = [{"functionDeclarations": tools.definitions}]
        user = {"role": "user", "parts": [{"text": instruction(provider_name, long_tool_arguments(org))}]}
        tool_config = map_tool_choice(FORCE_LONG_TOOL, "gemini", tools.name_map)
        body = {"contents": [user], "tools": declarations, "toolConfig": tool_config}
        response = await gemini_generate(fake_provider, body)
        assert response.status_code == 200, response.text

        model_turn = response.json()["candidates"][0]["content"]
        [part] = model_turn["parts"]
        assert part["functionCall"]["name"] == provider_name
        function_response = await call_tool(client, part, tools, "gemini")

    assert_upstream_received_the_call(upstream_api, org)
    # Gemini pairs a response with its call by name: the provider's name, not the caller's.
    assert function_response["functionResponse"]["name"] == provider_name
    contents = [user, model_turn, {"role": "user", "parts": [function_response]}]
    answer = await gemini_generate(fake_provider, {"contents": contents, "tools": declarations})
    assert answer.status_code == 200, answer.text
    assert org_path(org) in answer.json()["candidates"][0]["content"]["parts"][0]["text"]


@pytest.mark.anyio
async def test_openai_strict_mode_nulls_for_optional_fields_do_not_reach_the_upstream(
    gateway: Gateway, upstream_api: UpstreamAPI, openai_sdk: openai.AsyncOpenAI
) -> None:
    """A strict schema must list every property as required, so the model fills optional ones with null."""
    customer = f"Ada {uuid.uuid4().hex[:12]}"
    order = {"customer": {"name": customer, "address": None}, "items": [{"sku": "A-1", "quantity": 2}]}
    optional_left_empty = {"source": None, "priority": None, "gift": None, "note": None, "body_source": None}
    async with gateway.client() as client:
        tools = await load_tools(client, "openai", strict=True)
        [definition] = [tool for tool in tools.definitions if tool["function"]["name"] == "echo-createOrder"]
        assert definition["function"]["strict"] is True
        assert set(definition["function"]["parameters"]["required"]) == {*order, *optional_left_empty}
        user: Json = {"role": "user", "content": instruction("echo-createOrder", {**order, **optional_left_empty})}
        completion = await openai_sdk.chat.completions.create(model=OPENAI_MODEL, messages=[user], tools=offered(tools))
        [provider_call] = completion.choices[0].message.tool_calls or []
        await call_tool(client, provider_call.model_dump(), tools, "openai")

    [received] = [
        request
        for request in upstream_api.received_requests()
        if request["raw_path"] == "/orders" and customer in request["body_text"]
    ]
    assert received["query"] == []
    assert received["json"] == {"customer": {"name": customer}, "items": [{"sku": "A-1", "quantity": 2}]}


@pytest.mark.anyio
async def test_openai_chat_stream_shows_the_caller_original_names(
    gateway: Gateway, upstream_api: UpstreamAPI, openai_sdk: openai.AsyncOpenAI
) -> None:
    org = new_org()
    async with gateway.client() as client:
        tools = await load_tools(client, "openai")
        provider_name = renamed_for_provider(tools, LONG_TOOL)
        mapper = StreamNameMapper("openai", tools.name_map)
        user: Json = {"role": "user", "content": instruction(provider_name, long_tool_arguments(org))}
        stream = await openai_sdk.chat.completions.create(
            model=OPENAI_MODEL, messages=[user], tools=offered(tools), stream=True
        )
        chunks = [chunk.model_dump(exclude_none=True) async for chunk in stream]
        seen = [mapper.reverse_event(chunk) for chunk in chunks]

        assert _streamed_chat_names(seen) == [LONG_TOOL]
        assert provider_name not in json.dumps(seen)
        provider_call = _assembled_chat_call(chunks)
        assert provider_call["function"]["name"] == provider_name
        tool_message = await call_tool(client, provider_call, tools, "openai")

    assert_upstream_received_the_call(upstream_api, org)
    assistant = {"role": "assistant", "content": None, "tool_calls": [provider_call]}
    messages: list[Json] = [user, assistant, tool_message]
    answer_stream = await openai_sdk.chat.completions.create(
        model=OPENAI_MODEL, messages=messages, tools=offered(tools), stream=True
    )
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in answer_stream if chunk.choices])
    assert org_path(org) in text


def _streamed_chat_names(chunks: list[dict[str, Any]]) -> list[str]:
    return [
        call["function"]["name"]
        for chunk in chunks
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls", [])
        if "name" in call.get("function", {})
    ]


def _assembled_chat_call(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """One streamed tool call put together from its deltas: id and name first, then argument fragments."""
    deltas = [call for chunk in chunks for choice in chunk["choices"] for call in choice["delta"].get("tool_calls", [])]
    first = deltas[0]
    arguments = "".join(delta["function"].get("arguments", "") for delta in deltas)
    function = {"name": first["function"]["name"], "arguments": arguments}
    return {"id": first["id"], "type": "function", "function": function}


@pytest.mark.anyio
async def test_anthropic_stream_shows_the_caller_original_names(
    gateway: Gateway, upstream_api: UpstreamAPI, anthropic_sdk: anthropic.AsyncAnthropic
) -> None:
    org = new_org()
    async with gateway.client() as client:
        tools = await load_tools(client, "anthropic")
        mapper = StreamNameMapper("anthropic", tools.name_map)
        provider_name = tools.name_map.to_target(LONG_TOOL)
        user: Json = {"role": "user", "content": instruction(provider_name, long_tool_arguments(org))}
        stream = await anthropic_sdk.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=[user], tools=offered(tools), stream=True
        )
        events = [event.model_dump(exclude_none=True) async for event in stream]
        seen = [mapper.reverse_event(event) for event in events]

        [started] = [event["content_block"] for event in seen if event["type"] == "content_block_start"]
        assert started["type"] == "tool_use"
        assert started["name"] == LONG_TOOL
        assert events[-1]["type"] == "message_stop"
        partial_json = "".join(
            event["delta"]["partial_json"] for event in events if event["type"] == "content_block_delta"
        )
        [raw_start] = [event["content_block"] for event in events if event["type"] == "content_block_start"]
        tool_use = {**raw_start, "input": json.loads(partial_json)}
        tool_result = await call_tool(client, tool_use, tools, "anthropic")

    assert_upstream_received_the_call(upstream_api, org)
    conversation: list[Json] = [
        user,
        {"role": "assistant", "content": [tool_use]},
        {"role": "user", "content": [tool_result]},
    ]
    answer_stream = await anthropic_sdk.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=conversation, tools=offered(tools), stream=True
    )
    answer_events = [event.model_dump() async for event in answer_stream]
    text = "".join(event["delta"].get("text", "") for event in answer_events if event["type"] == "content_block_delta")
    assert org_path(org) in text


@pytest.mark.anyio
async def test_an_openai_history_with_empty_texts_is_accepted_by_anthropic_once_converted(
    gateway: Gateway, anthropic_sdk: anthropic.AsyncAnthropic
) -> None:
    """Clients send `content: ""` beside tool calls, and tools that print nothing; Anthropic rejects both raw."""
    async with gateway.client() as client:
        tools = await load_tools(client, "anthropic")
    call = {"id": "toolu_history1", "type": "function", "function": {"name": LONG_TOOL, "arguments": "{}"}}
    history: list[Json] = [
        {"role": "user", "content": "Enable Actions for two repositories."},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "toolu_history1", "content": ""},
    ]
    converted = anthropic_messages.convert_messages(history, tools.name_map)
    messages: list[Json] = converted.messages
    answer = await anthropic_sdk.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=messages, tools=offered(tools)
    )
    assert answer.stop_reason == "end_turn"
    assert EMPTY_RESULT_TEXT in "".join(block.text for block in answer.content if block.type == "text")

    tool_use = {"type": "tool_use", "id": "toolu_history1", "name": LONG_TOOL, "input": {}}
    naive: list[Json] = [
        {"role": "user", "content": "Enable Actions for two repositories."},
        {"role": "assistant", "content": [{"type": "text", "text": ""}, tool_use]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_history1", "content": "ok"}]},
    ]
    with pytest.raises(anthropic.BadRequestError, match="text content blocks must be non-empty"):
        await anthropic_sdk.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=naive, tools=offered(tools)
        )


# --- Negative controls: the fakes reject what the real providers reject --------------------------------------

HELLO: Json = {"role": "user", "content": "hi"}
SLASHED_TOOL: Json = {
    "name": "repos/get",
    "description": "Get a repository.",
    "parameters": {"type": "object", "properties": {}},
}


@pytest.mark.anyio
async def test_openai_rejects_a_tool_name_with_a_slash(openai_sdk: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="repos/get"):
        await openai_sdk.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[HELLO],
            tools=[{"type": "function", "function": SLASHED_TOOL}],
        )


@pytest.mark.anyio
async def test_openai_rejects_the_gateway_tools_without_the_bridge(
    gateway: Gateway, openai_sdk: openai.AsyncOpenAI
) -> None:
    async with gateway.client() as client:
        unconverted: list[Json] = [
            {"type": "function", "function": {"name": tool.name, "parameters": tool.input_schema}}
            for tool in await list_all_tools(client)
        ]
    with pytest.raises(openai.BadRequestError, match=LONG_TOOL):
        await openai_sdk.chat.completions.create(model=OPENAI_MODEL, messages=[HELLO], tools=unconverted)


@pytest.mark.anyio
async def test_openai_rejects_a_tool_choice_under_the_caller_name(
    gateway: Gateway, openai_sdk: openai.AsyncOpenAI
) -> None:
    async with gateway.client() as client:
        tools = await load_tools(client, "openai")
    with pytest.raises(openai.BadRequestError, match="tool_choice"):
        await openai_sdk.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[HELLO],
            tools=offered(tools),
            tool_choice=FORCE_LONG_TOOL,
        )


@pytest.mark.anyio
async def test_openai_rejects_a_tool_message_that_answers_no_call(openai_sdk: openai.AsyncOpenAI) -> None:
    messages: list[Json] = [HELLO, {"role": "tool", "tool_call_id": "call_nobody", "content": "ok"}]
    with pytest.raises(openai.BadRequestError, match="role 'tool' must be a response"):
        await openai_sdk.chat.completions.create(model=OPENAI_MODEL, messages=messages)


@pytest.mark.anyio
async def test_responses_rejects_an_output_for_an_unknown_call(openai_sdk: openai.AsyncOpenAI) -> None:
    items: list[Json] = [HELLO, {"type": "function_call_output", "call_id": "call_nobody", "output": "ok"}]
    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        await openai_sdk.responses.create(model=OPENAI_MODEL, input=items)


@pytest.mark.anyio
async def test_anthropic_rejects_an_empty_text_block(anthropic_sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="text content blocks must be non-empty"):
        await anthropic_sdk.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=MAX_TOKENS,
            messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}],
        )


@pytest.mark.anyio
async def test_anthropic_rejects_a_tool_result_without_its_tool_use(anthropic_sdk: anthropic.AsyncAnthropic) -> None:
    tool: Json = {"name": "repos_get", "input_schema": {"type": "object", "properties": {}}}
    result: Json = {"type": "tool_result", "tool_use_id": "toolu_nobody", "content": "ok"}
    with pytest.raises(anthropic.BadRequestError, match="unexpected `tool_use_id`"):
        await anthropic_sdk.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": [result]}], tools=[tool]
        )


@pytest.mark.anyio
async def test_gemini_rejects_a_tool_name_with_a_slash(fake_provider: str) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [SLASHED_TOOL]}],
    }
    response = await gemini_generate(fake_provider, body)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "repos/get" in response.json()["error"]["message"]


@pytest.mark.anyio
async def test_gemini_rejects_a_function_response_under_the_caller_name(gateway: Gateway, fake_provider: str) -> None:
    """Gemini matches responses to calls by name, so answering under the original name of a renamed tool fails."""
    async with gateway.client() as client:
        tools = await load_tools(client, "gemini")
    provider_name = renamed_for_provider(tools, LONG_TOOL)
    contents = [
        {"role": "user", "parts": [{"text": "Enable Actions for two repositories."}]},
        {"role": "model", "parts": [{"functionCall": {"name": provider_name, "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": LONG_TOOL, "response": {"output": "ok"}}}]},
    ]
    response = await gemini_generate(
        fake_provider, {"contents": contents, "tools": [{"functionDeclarations": tools.definitions}]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
