"""Gateway keys on the chat front door, end to end: the official openai SDK sends a gateway key as its api_key,
the gateway expands `"type": "mcp"` tools only into what that key may see, and a model that calls past the key's
reach runs nothing. Assertions look at what the provider stand-in and the echo API actually received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from mcp_gateway.http import httpx
from tests.e2e.chat.helpers import (
    HELLO,
    KEYS,
    Json,
    marker,
    mcp_tool,
    offered_names,
    tool_results_sent,
    upstream_requests,
)
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    running_gateway,
    write_config,
)
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio

READER_KEY = "mgw_chat-reader-key-0123456789abcdef01"
TOOLS_ONLY_KEY = "mgw_chat-tools-only-key-fedcba98765432"
READER_TOOLS = {"echo-getItem", "echo-getStatus", "tools-echo"}
"""What the reader key's globs admit of the two servers, under /mcp's names."""


@pytest.fixture(scope="module")
def keyed_gateway(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn,
    tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path,
) -> Iterator[Gateway]:
    servers = {
        "echo": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}},
        "tools": {"url": mcp_http_upstream.url},
    }
    access = {"keys": {
        "reader": {"key": "${READER_KEY}", "servers": ["echo", "tools"],
                   "tools": ["echo/getItem", "echo/getS*", "tools/echo"]},
        "tools-only": {"key": "${TOOLS_ONLY_KEY}", "servers": ["tools"]},
    }}
    models = {"providers": {"openai": {"baseUrl": stand_in.provider_url("openai"), "apiKey": KEYS["openai"],
                                       "maxRetries": 0}}}
    config = write_config(tmp_path_factory.mktemp("chat-access"), servers, access=access, models=models)
    with running_gateway(config, e2e_log_dir, env={"READER_KEY": READER_KEY, "TOOLS_ONLY_KEY": TOOLS_ONLY_KEY},
                         extra_args=["--retry-interval", "0"]) as running:
        yield running


def sdk(gateway: Gateway, api_key: str, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{gateway.base_url}/v1", api_key=api_key, max_retries=0, timeout=60,
                              **options)


def recording(sent: list[httpx.Request]) -> httpx.AsyncClient:
    """An HTTP client for the SDK that keeps every request it sends, to check what went over the wire."""

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    return httpx.AsyncClient(event_hooks={"request": [keep]})


@pytest.fixture
async def reader(keyed_gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk(keyed_gateway, READER_KEY) as client:
        yield client


@pytest.fixture
async def tools_only(keyed_gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk(keyed_gateway, TOOLS_ONLY_KEY) as client:
        yield client


def without_names(text: str, *names: str) -> str:
    for name in names:
        text = text.replace(name, "NAME")
    return text


# --- authentication -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_no_key_or_a_wrong_key_is_401_and_no_model_is_asked(
    stream: bool, keyed_gateway: Gateway, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "Should never be asked."}])
    # The SDK drops a header only when the request itself omits it: that is how "no key at all" is sent.
    no_key: Json = {"Authorization": openai.Omit()}
    sent_without_key: list[httpx.Request] = []
    callers = [
        (sdk(keyed_gateway, "unused", http_client=recording(sent_without_key)), no_key),
        (sdk(keyed_gateway, "mgw_not-a-key-of-this-gateway-000000"), {}),
        (sdk(keyed_gateway, READER_KEY.upper()), {}),  # keys compare exactly
    ]
    for caller, headers in callers:
        async with caller:
            with pytest.raises(openai.AuthenticationError) as refused:
                await caller.chat.completions.create(model=f"openai/{model}", messages=HELLO, stream=stream,
                                                     tools=[mcp_tool("/mcp/tools", ["echo"])],
                                                     extra_headers=headers)
            assert refused.value.status_code == 401
            assert refused.value.response.headers["www-authenticate"].startswith("Bearer")
            with pytest.raises(openai.AuthenticationError):
                await caller.models.list(extra_headers=headers)
    assert len(sent_without_key) == 2 and all("authorization" not in sent.headers for sent in sent_without_key)
    assert stand_in.received(model) == []


# --- what the model is offered --------------------------------------------------------------------------------


async def test_each_key_offers_the_model_only_its_own_tools(
    keyed_gateway: Gateway, reader: openai.AsyncOpenAI, tools_only: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    offered: dict[str, set[str]] = {}
    for label, client, key in (("reader", reader, READER_KEY), ("tools-only", tools_only, TOOLS_ONLY_KEY)):
        model = stand_in.script([{"text": "Nothing to do."}])
        completion = await client.chat.completions.create(model=f"openai/{model}", messages=HELLO,
                                                          tools=[mcp_tool(keyed_gateway.mcp_url)])
        assert completion.choices[0].message.content == "Nothing to do."
        [received] = stand_in.received(model)
        offered[label] = set(offered_names("openai", received["body"]))
        # The provider gets its own key; the caller's gateway key goes no further than the gateway.
        assert received["headers"]["authorization"] == f"Bearer {KEYS['openai']}"
        assert key not in json.dumps(received)
    assert offered["reader"] == READER_TOOLS
    assert {"tools-echo", "tools-add"} <= offered["tools-only"]
    assert all(name.startswith("tools-") for name in offered["tools-only"])


async def test_a_server_endpoint_offers_only_the_keys_tools_of_that_server(
    reader: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "Nothing to do."}])
    await reader.chat.completions.create(model=f"openai/{model}", messages=HELLO,
                                         tools=[mcp_tool("mcp_gateway/mcp/echo", ["*"]), mcp_tool("/mcp/tools")])
    [received] = stand_in.received(model)
    assert sorted(offered_names("openai", received["body"])) == ["echo", "getItem", "getStatus"]


async def test_allowed_tools_naming_a_hidden_tool_answers_as_an_unknown_one(reader: openai.AsyncOpenAI) -> None:
    messages = {}
    for name in ("whoAmI", "noSuchOperation"):  # whoAmI exists on echo, outside the reader's globs
        with pytest.raises(openai.BadRequestError) as refused:
            await reader.chat.completions.create(model="openai/unused", messages=HELLO,
                                                 tools=[mcp_tool("/mcp/echo", [name])])
        messages[name] = without_names(refused.value.message, name)
    assert messages["whoAmI"] == messages["noSuchOperation"]
    assert "matches no tool" in messages["whoAmI"]


@pytest.mark.parametrize("spelling", ["path", "symbolic", "absolute", "label"])
async def test_a_server_the_key_cannot_see_answers_as_an_unknown_server(
    spelling: str, keyed_gateway: Gateway, tools_only: openai.AsyncOpenAI, stand_in: ProviderStandIn,
) -> None:
    def naming(server: str) -> Json:
        if spelling == "label":
            return {"type": "mcp", "server_label": server, "require_approval": "never"}
        url = {"path": f"/mcp/{server}", "symbolic": f"mcp_gateway/mcp/{server}",
               "absolute": keyed_gateway.server_url(server)}[spelling]
        return mcp_tool(url)

    model = stand_in.script([{"text": "Should never be asked."}])
    errors = {}
    for server in ("echo", "nosuch"):
        with pytest.raises(openai.BadRequestError) as refused:
            await tools_only.chat.completions.create(model=f"openai/{model}", messages=HELLO,
                                                     tools=[naming(server)])
        error = refused.value
        assert error.status_code == 400 and f"'{server}'" in error.message
        body: Json = error.body
        errors[server] = (without_names(error.message, server), body.get("param"), body.get("code"))
    assert errors["echo"] == errors["nosuch"]
    assert errors["echo"][0].endswith("this gateway serves: tools")
    assert stand_in.received(model) == []


# --- what the model calls -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["reader", "tools-only"])
async def test_a_hidden_tool_the_model_calls_is_not_run_and_reads_as_unknown(
    key: str, keyed_gateway: Gateway, reader: openai.AsyncOpenAI, tools_only: openai.AsyncOpenAI,
    stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    client = reader if key == "reader" else tools_only
    shown, hidden = marker(), marker()
    # The reader may use echo's getItem but not getFile; the tools-only key no echo tool at all.
    visible_call = ({"tool": "echo-getItem", "arguments": {"item_id": shown}} if key == "reader"
                    else {"tool": "tools-echo", "arguments": {"text": shown}})
    hidden_call = ({"tool": "echo-getFile", "arguments": {"file_name": hidden}} if key == "reader"
                   else {"tool": "echo-getItem", "arguments": {"item_id": hidden}})
    unknown_name = "echo-noSuchOperation"
    model = stand_in.script([
        {"calls": [visible_call, {**hidden_call, "hallucinated": True},
                   {"tool": unknown_name, "arguments": {}, "hallucinated": True}]},
        {"quote_results": True},
    ])
    completion = await client.chat.completions.create(model=f"openai/{model}", messages=HELLO,
                                                      tools=[mcp_tool(keyed_gateway.mcp_url)])
    assert completion.choices[0].finish_reason == "stop"
    # The hidden call reached no upstream; the visible one of the same turn did.
    assert upstream_requests(upstream_api, hidden) == []
    if key == "reader":
        assert upstream_requests(upstream_api, f"/items/{shown}") == [f"/items/{shown}?"]
    visible_result, hidden_result, unknown_result = tool_results_sent("openai", stand_in.received(model)[1]["body"])
    assert shown in visible_result
    assert hidden not in hidden_result
    assert without_names(hidden_result, hidden_call["tool"]) == without_names(unknown_result, unknown_name)
    assert "is not among this request's tools" in hidden_result
    records = {call["name"]: call for call in completion.model_extra["mcp_gateway"]["calls"]}
    assert records[visible_call["tool"]]["status"] == "completed"

    def shape(record: Json) -> Json:
        return {field: record[field] for field in ("server", "round", "status", "is_error")}

    assert shape(records[hidden_call["tool"]]) == shape(records[unknown_name]) == {
        "server": "", "round": 1, "status": "failed", "is_error": True
    }


async def test_approving_a_hidden_call_runs_nothing_and_answers_as_an_unknown_one(
    keyed_gateway: Gateway, tools_only: openai.AsyncOpenAI, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    """A conversation may carry calls the caller wrote itself; approving one the key cannot see runs nothing."""
    hidden = marker()
    model = stand_in.script([{"text": "Should never be asked."}])
    messages = {}
    for name in ("echo-getItem", "echo-noSuchOperation"):
        conversation: Json = [
            *HELLO,
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_smuggled", "type": "function",
                 "function": {"name": name, "arguments": json.dumps({"item_id": hidden})}},
            ]},
        ]
        with pytest.raises(openai.BadRequestError) as refused:
            await tools_only.chat.completions.create(model=f"openai/{model}", messages=conversation,
                                                     tools=[mcp_tool(keyed_gateway.mcp_url)],
                                                     extra_body={"mcp_approvals": {"call_smuggled": True}})
        messages[name] = refused.value.message
    assert messages["echo-getItem"] == messages["echo-noSuchOperation"]
    assert "call_smuggled" in messages["echo-getItem"]
    assert upstream_requests(upstream_api, hidden) == []
    assert stand_in.received(model) == []
