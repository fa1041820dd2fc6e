"""Gateway keys on /v1/messages through the official anthropic SDK: the key as `x-api-key` (the SDK's api_key, what
Claude Code sends) or as a bearer token (auth_token); a wrong key is an Anthropic-shaped 401 before any model is
asked; the connector's authorization_token reaches only its own server, and a copy of the gateway key never reaches
an upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tests.e2e.chat.helpers import KEYS, marker
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    running_gateway,
    write_config,
)
from tests.e2e.messages.helpers import HELLO, MCP_BETA, ask, blocks_of, connector
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio

KEY = "mgw_messages-caller-key-0123456789abcdef"
NARROW_KEY = "mgw_messages-narrow-key-fedcba9876543210"
USER_TOKEN = "user-token-for-api-only-5ac1"


@pytest.fixture(scope="module")
def keyed_gateway(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn,
    tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path,
) -> Iterator[Gateway]:
    api = {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}
    servers = {
        "api": {"openapi": api, "forwardUserAuthorization": True, "allowedTools": ["whoAmI", "getItem"]},
        "other": {"openapi": api, "allowedTools": ["whoAmI"]},
        "tools": {"url": mcp_http_upstream.url},
    }
    access = {"keys": {"caller": {"key": "${CALLER_KEY}"},
                       "narrow": {"key": "${NARROW_KEY}", "servers": ["tools"]}}}
    models = {"providers": {protocol: {"baseUrl": stand_in.provider_url(protocol), "apiKey": KEYS[protocol],
                                       "maxRetries": 0} for protocol in ("anthropic", "openai")}}
    config = write_config(tmp_path_factory.mktemp("messages-access"), servers, access=access, models=models)
    with running_gateway(config, e2e_log_dir, env={"CALLER_KEY": KEY, "NARROW_KEY": NARROW_KEY},
                         extra_args=["--retry-interval", "0"]) as running:
        yield running


def sdk(gateway: Gateway, **credentials: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.base_url, max_retries=0, timeout=60, **credentials)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_the_key_works_as_x_api_key_and_as_a_bearer_token(
    stream: bool, keyed_gateway: Gateway, stand_in: ProviderStandIn,
) -> None:
    for credentials in ({"api_key": KEY}, {"auth_token": KEY}):
        model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 3, "b": 4}}]}, {"quote_results": True}])
        async with sdk(keyed_gateway, **credentials) as client:
            answer = await ask(client, stream=stream, model=f"anthropic/{model}", messages=HELLO,
                               mcp_servers=[connector("/mcp/tools", "toolbox", ["add"])], betas=[MCP_BETA])
        assert answer["content"][-1]["text"] == "The tools answered: 7"
        # The gateway key stays with the gateway: the provider gets its own key only.
        received = stand_in.received(model)[0]
        assert received["headers"]["x-api-key"] == KEYS["anthropic"]
        assert KEY not in json.dumps(received)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_wrong_or_missing_key_is_an_anthropic_shaped_401(
    stream: bool, keyed_gateway: Gateway, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "Should never be asked."}])
    for credentials in ({"api_key": "mgw_not-a-key-of-this-gateway-000000"}, {"api_key": KEY.upper()},
                        {"auth_token": "wrong"}):
        async with sdk(keyed_gateway, **credentials) as client:
            with pytest.raises(anthropic.AuthenticationError) as refused:
                await ask(client, stream=stream, model=f"anthropic/{model}", messages=HELLO)
        body = refused.value.body
        assert isinstance(body, dict) and body["type"] == "error"
        assert body["error"]["type"] == "authentication_error" and "x-api-key" in body["error"]["message"]
        assert KEY.upper() not in json.dumps(body)
    assert stand_in.received(model) == []


async def test_a_key_sees_only_its_servers(keyed_gateway: Gateway, stand_in: ProviderStandIn) -> None:
    model = stand_in.script([{"text": "unused"}])
    async with sdk(keyed_gateway, api_key=NARROW_KEY) as client:
        with pytest.raises(anthropic.BadRequestError) as refused:
            await client.beta.messages.create(model=f"anthropic/{model}", max_tokens=10, messages=HELLO,
                                              mcp_servers=[connector("/mcp/api", "api")], betas=[MCP_BETA])
    assert "unknown server 'api'" in refused.value.body["error"]["message"]
    assert stand_in.received(model) == []


async def test_authorization_token_reaches_only_its_server_and_the_gateway_key_none(
    keyed_gateway: Gateway, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    upstream_api.forget_received()
    ids = {name: marker() for name in ("api", "other", "api-with-key")}
    model = stand_in.script([
        {"calls": [{"tool": "whoAmI", "arguments": {"X-Request-Id": ids["api"]}},
                   {"tool": "other-whoAmI", "arguments": {"X-Request-Id": ids["other"]}}]},
        {"text": "done"},
        {"calls": [{"tool": "whoAmI", "arguments": {"X-Request-Id": ids["api-with-key"]}}]},
        {"text": "done"},
    ])
    async with sdk(keyed_gateway, api_key=KEY) as client:
        servers = [connector("/mcp/api", "api", ["whoAmI"], authorization_token=USER_TOKEN),
                   connector("/mcp", "everything", ["other-whoAmI"])]
        answer = await ask(client, stream=False, model=f"anthropic/{model}", messages=HELLO, mcp_servers=servers,
                           betas=[MCP_BETA])
        assert not any(result["is_error"] for result in blocks_of(answer, "mcp_tool_result"))
        # The gateway key handed over as the token is the caller's own, not a credential for the upstream.
        servers = [connector("/mcp/api", "api", ["whoAmI"], authorization_token=KEY)]
        await ask(client, stream=False, model=f"anthropic/{model}", messages=HELLO, mcp_servers=servers,
                  betas=[MCP_BETA])
        # One token for every server could reach servers it was not meant for.
        with pytest.raises(anthropic.BadRequestError) as refused:
            await client.beta.messages.create(
                model=f"anthropic/{model}", max_tokens=10, messages=HELLO, betas=[MCP_BETA],
                mcp_servers=[connector("/mcp", "everything", ["*-whoAmI"], authorization_token=USER_TOKEN)])
        assert "authorization_token" in refused.value.body["error"]["message"]
    received = {request["headers"].get("x-request-id"): request for request in upstream_api.received_requests()}
    assert received[ids["api"]]["headers"].get("authorization") == f"Bearer {USER_TOKEN}"
    assert "authorization" not in received[ids["other"]]["headers"]
    assert "authorization" not in received[ids["api-with-key"]]["headers"]
    assert KEY not in json.dumps(upstream_api.received_requests())
