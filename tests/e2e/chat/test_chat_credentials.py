"""The caller's own upstream credentials on the chat front door, end to end: an `mcp` tool's
`headers.Authorization`, or an `x-mcp-{server}-authorization` request header, reaches the servers configured with
`forwardUserAuthorization` when the model calls their tools (and only those servers), as on `/mcp` itself.
Assertions look at what the echo API actually received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.e2e.chat.helpers import HELLO, KEYS, marker, mcp_tool
from tests.e2e.gateway_process import UPSTREAM_API_SPEC, Gateway, UpstreamAPI, running_gateway, write_config
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio

HEADER_TOKEN = "user-token-from-the-tool-headers-7f3a"
REQUEST_TOKEN = "user-token-from-the-request-header-91c2"


@pytest.fixture(scope="module")
def forwarding_gateway(
    upstream_api: UpstreamAPI, stand_in: ProviderStandIn, tmp_path_factory: pytest.TempPathFactory,
    e2e_log_dir: Path,
) -> Iterator[Gateway]:
    api = {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}
    servers = {
        "api": {"openapi": api, "forwardUserAuthorization": True, "allowedTools": ["whoAmI"]},
        "other": {"openapi": api, "allowedTools": ["whoAmI"]},
    }
    models = {"providers": {"openai": {"baseUrl": stand_in.provider_url("openai"), "apiKey": KEYS["openai"],
                                       "maxRetries": 0}}}
    config = write_config(tmp_path_factory.mktemp("chat-credentials"), servers, models=models)
    with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0"]) as running:
        yield running


def received_by_request_id(upstream_api: UpstreamAPI) -> dict[str | None, dict[str, object]]:
    return {request["headers"].get("x-request-id"): request for request in upstream_api.received_requests()}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_an_mcp_tools_authorization_header_reaches_only_the_server_that_forwards_it(
    stream: bool, forwarding_gateway: Gateway, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    upstream_api.forget_received()
    ids = {"api": marker(), "other": marker()}
    model = stand_in.script([
        {"calls": [{"tool": "api-whoAmI", "arguments": {"X-Request-Id": ids["api"]}},
                   {"tool": "other-whoAmI", "arguments": {"X-Request-Id": ids["other"]}}]},
        {"text": "done"},
    ])
    tools = [mcp_tool("/mcp", ["api-whoAmI"], server_label="api", headers={"Authorization": f"Bearer {HEADER_TOKEN}"}),
             mcp_tool("/mcp", ["other-whoAmI"], server_label="other")]
    async with openai.AsyncOpenAI(base_url=f"{forwarding_gateway.base_url}/v1", api_key="unused", max_retries=0,
                                  timeout=60) as client:
        if stream:
            async with client.chat.completions.stream(model=f"openai/{model}", messages=HELLO,
                                                      tools=tools) as events:
                completion = await events.get_final_completion()
        else:
            completion = await client.chat.completions.create(model=f"openai/{model}", messages=HELLO, tools=tools)
    assert completion.choices[0].message.content == "done"
    received = received_by_request_id(upstream_api)
    assert received[ids["api"]]["headers"]["authorization"] == f"Bearer {HEADER_TOKEN}"  # type: ignore[index]
    assert "authorization" not in received[ids["other"]]["headers"]  # type: ignore[operator]
    # The credential is the caller's: it never comes back to them or to the model.
    assert HEADER_TOKEN not in completion.model_dump_json()
    assert HEADER_TOKEN not in json.dumps(stand_in.received(model))


async def test_an_x_mcp_server_authorization_request_header_reaches_its_server(
    forwarding_gateway: Gateway, stand_in: ProviderStandIn, upstream_api: UpstreamAPI,
) -> None:
    upstream_api.forget_received()
    request_id = marker()
    model = stand_in.script([
        {"calls": [{"tool": "whoAmI", "arguments": {"X-Request-Id": request_id}}]},
        {"text": "done"},
    ])
    async with openai.AsyncOpenAI(base_url=f"{forwarding_gateway.base_url}/v1", api_key="unused", max_retries=0,
                                  timeout=60) as client:
        await client.chat.completions.create(
            model=f"openai/{model}", messages=HELLO, tools=[mcp_tool("/mcp/api", ["whoAmI"])],
            extra_headers={"x-mcp-api-authorization": f"Bearer {REQUEST_TOKEN}"},
        )
    received = received_by_request_id(upstream_api)
    assert received[request_id]["headers"]["authorization"] == f"Bearer {REQUEST_TOKEN}"  # type: ignore[index]


async def test_headers_other_than_authorization_are_refused(
    forwarding_gateway: Gateway, stand_in: ProviderStandIn,
) -> None:
    model = stand_in.script([{"text": "Should never be asked."}])
    async with openai.AsyncOpenAI(base_url=f"{forwarding_gateway.base_url}/v1", api_key="unused", max_retries=0,
                                  timeout=60) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(
                model=f"openai/{model}", messages=HELLO,
                tools=[mcp_tool("/mcp/api", ["whoAmI"], headers={"X-Forwarded-For": "10.0.0.1"})],
            )
    assert "X-Forwarded-For" in refused.value.body["message"]  # type: ignore[index]
    assert stand_in.received(model) == []
