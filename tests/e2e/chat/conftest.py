"""One gateway and one set of provider stand-ins for every chat test.

The gateway serves the echo API (OpenAPI), the test MCP server over streamable HTTP, a slice of the GitHub spec whose
base URL is the echo API, a server that is down, and a stdio server with more tools than OpenAI accepts. Its
`models` section points `openai`, `anthropic` and `gemini` at the stand-ins, and declares `local`, an
OpenAI-compatible server (the stand-in that accepts fields of its own) keyed from the environment; `impatient`,
with a one-second timeout; and `nowhere`, which nothing listens on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest

from tests.e2e.chat.helpers import KEYS, MANY_TOOLS, PROTOCOLS, Json
from tests.e2e.gateway_process import (
    SPECS_DIR,
    UPSTREAM_API_SPEC,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    free_port,
    running_gateway,
    stdio_server_entry,
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
        "github": {
            "openapi": {"spec": str(SPECS_DIR / "github-api.json"), "baseUrl": upstream_api.base_url},
            "allowedTools": ["repos_get", "actions_*-selected-repositor*-organization"],
        },
        "down": {"url": f"http://127.0.0.1:{free_port()}/mcp"},
        "many": stdio_server_entry(tools=MANY_TOOLS),
    }
    providers: dict[str, Json] = {
        protocol: {"baseUrl": stand_in.provider_url(protocol), "apiKey": KEYS[protocol], "maxRetries": 2}
        for protocol in PROTOCOLS
    }
    providers["local"] = {"protocol": "openai", "baseUrl": stand_in.provider_url("compatible"),
                          "apiKey": "${LOCAL_KEY}", "models": ["llama-local"]}
    providers["impatient"] = {"baseUrl": stand_in.provider_url("openai"), "apiKey": "k", "timeout": 1,
                              "maxRetries": 0}
    providers["nowhere"] = {"baseUrl": f"http://127.0.0.1:{free_port()}/v1", "apiKey": "k", "maxRetries": 1}
    config_dir = tmp_path_factory.mktemp("chat")
    config = write_config(config_dir, servers, models={"maxRounds": 12, "providers": providers})
    with running_gateway(config, e2e_log_dir, env={"LOCAL_KEY": "local-secret-key"},
                         extra_args=["--retry-interval", "0"]) as running:
        yield running


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official OpenAI client pointed at the gateway (no retries of its own: the gateway's are under test)."""
    async with openai.AsyncOpenAI(base_url=f"{gateway.base_url}/v1", api_key="unused", max_retries=0,
                                  timeout=60) as sdk:
        yield sdk
