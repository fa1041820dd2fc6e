"""One gateway with gateway keys and one set of provider stand-ins for the /v1/responses tests.

The gateway serves the echo API (OpenAPI), the test MCP server over streamable HTTP, `me` (the echo API's whoAmI,
taking the caller's own credential), `down` (nothing listens) and a slice of the GitHub spec whose names are too
long for some providers.
`openai` is the stand-in's Responses API, `local` an OpenAI-compatible server that has only Chat Completions,
`anthropic` and `gemini` their own stand-ins. Two keys see everything: `alice`, whom the tests act as, and `bob`,
who must not see alice's responses. Stored responses go to a database in the test's temporary directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest

from tests.e2e.chat.helpers import KEYS, PROTOCOLS, Json
from tests.e2e.gateway_process import (
    SPECS_DIR,
    UPSTREAM_API_SPEC,
    Gateway,
    McpUpstream,
    UpstreamAPI,
    free_port,
    running_gateway,
    write_config,
)
from tests.e2e.provider_standin import ProviderStandIn, running_provider_stand_in

ALICE_KEY = "mgw_responses-alice-key-0123456789abcdef"
BOB_KEY = "mgw_responses-bob-key-fedcba9876543210ab"


@pytest.fixture(scope="package")
def stand_in(e2e_log_dir: Path) -> Iterator[ProviderStandIn]:
    with running_provider_stand_in(e2e_log_dir) as running:
        yield running


def responses_config(config_dir: Path, upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream,
                     stand_in: ProviderStandIn, *, github: bool = False) -> Path:
    servers: dict[str, Json] = {
        "echo": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url}},
        "tools": {"url": mcp_http_upstream.url},
        # Takes the caller's own credential: an mcp tool's Authorization header.
        "me": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url},
               "forwardUserAuthorization": True, "allowedTools": ["whoAmI"]},
        "down": {"url": f"http://127.0.0.1:{free_port()}/mcp"},
    }
    if github:
        # Names over OpenAI's and Gemini's 64 characters, for the provider names / MCP names tests.
        servers["github"] = {"openapi": {"spec": str(SPECS_DIR / "github-api.json"), "baseUrl": upstream_api.base_url},
                             "allowedTools": ["repos_get", "actions_*-selected-repositor*-organization"]}
    providers: dict[str, Json] = {
        protocol: {"baseUrl": stand_in.provider_url(protocol), "apiKey": KEYS[protocol], "maxRetries": 0}
        for protocol in PROTOCOLS
    }
    providers["local"] = {"protocol": "openai", "baseUrl": stand_in.provider_url("compatible"), "apiKey": "k",
                          "maxRetries": 0}
    access = {"keys": {"alice": {"key": "${ALICE_KEY}"}, "bob": {"key": "${BOB_KEY}"}}}
    return write_config(config_dir, servers, access=access, models={"maxRounds": 8, "providers": providers})


@pytest.fixture(scope="package")
def gateway(
    upstream_api: UpstreamAPI, mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn,
    tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path,
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("responses")
    config = responses_config(config_dir, upstream_api, mcp_http_upstream, stand_in, github=True)
    with running_gateway(config, e2e_log_dir, env={"ALICE_KEY": ALICE_KEY, "BOB_KEY": BOB_KEY},
                         extra_args=["--retry-interval", "0", "--responses-db",
                                     str(config_dir / "responses.sqlite3")]) as running:
        yield running


def sdk(gateway: Gateway, key: str = ALICE_KEY) -> openai.AsyncOpenAI:
    """The official OpenAI client pointed at the gateway (no retries of its own)."""
    return openai.AsyncOpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0, timeout=60)


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk(gateway) as alice:
        yield alice
