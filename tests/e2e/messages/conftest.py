"""One gateway and one set of provider stand-ins for the /v1/messages tests, driven by the official anthropic SDK.

The gateway serves the echo API (OpenAPI) and the test MCP server over streamable HTTP; its `models` section points
`openai`, `anthropic` and `gemini` at the stand-ins, which speak each provider's real wire format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anthropic
import pytest

from tests.e2e.chat.helpers import KEYS, PROTOCOLS, Json
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    running_gateway,
    write_config,
)
from tests.e2e.provider_standin import ProviderStandIn, running_provider_stand_in


@pytest.fixture(scope="package")
def stand_in(e2e_log_dir: Path) -> Iterator[ProviderStandIn]:
    with running_provider_stand_in(e2e_log_dir) as running:
        yield running


@pytest.fixture(scope="package")
def gateway(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn,
    tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path,
) -> Iterator[Gateway]:
    servers = {
        "echo": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}},
        "tools": {"url": mcp_http_upstream.url},
    }
    providers: dict[str, Json] = {
        protocol: {"baseUrl": stand_in.provider_url(protocol), "apiKey": KEYS[protocol], "maxRetries": 1}
        for protocol in PROTOCOLS
    }
    config = write_config(tmp_path_factory.mktemp("messages"), servers, models={"maxRounds": 12,
                                                                                  "providers": providers})
    with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0"]) as running:
        yield running


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The official Anthropic client pointed at the gateway (no retries of its own: the gateway's are under test)."""
    async with anthropic.AsyncAnthropic(base_url=gateway.base_url, api_key="unused", max_retries=0,
                                        timeout=60) as sdk:
        yield sdk
