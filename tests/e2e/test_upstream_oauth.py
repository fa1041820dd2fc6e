"""OAuth2 client credentials towards upstreams, against the local token endpoint of tests/e2e/auth_server.py,
which counts its requests, and its API that accepts only live tokens: one fetch for many concurrent calls, one
refresh and one retry after a 401, a refresh once a token expires, one token shared by servers with the same
credentials, and neither the client secret nor any token in a log or a result.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mcp_gateway.http import httpx
from tests.e2e.auth_server import CLIENT_ID, CLIENT_SECRET, PROTECTED_API, SHORT_LIFETIME_SECONDS
from tests.e2e.gateway_process import (
    LOOPBACK,
    Gateway,
    McpUpstream,
    free_port,
    http_ready,
    keyed_client,
    result_text,
    running_gateway,
    start_process,
    stopping,
    write_config,
)

pytestmark = pytest.mark.anyio

CONCURRENT_CALLS = 50

class TokenEndpoint:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def fetches(self, scope: str) -> int:
        counts: dict[str, int] = httpx.get(f"{self.base_url}/stats", timeout=30).json()
        return counts.get(f"scope:{scope}", 0)

    def stats(self) -> dict[str, int]:
        counts: dict[str, int] = httpx.get(f"{self.base_url}/stats", timeout=30).json()
        return counts

    def revoke_all(self) -> None:
        httpx.post(f"{self.base_url}/revoke", timeout=30).raise_for_status()

    def issued(self) -> list[str]:
        tokens: list[str] = httpx.get(f"{self.base_url}/issued", timeout=30).json()["tokens"]
        return tokens


@pytest.fixture(scope="module")
def token_endpoint(e2e_log_dir: Path) -> Iterator[TokenEndpoint]:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    args = [sys.executable, "-m", "tests.e2e.auth_server", "--port", str(port)]
    process = start_process(f"token-endpoint-{port}", args, ready=http_ready(f"{base_url}/stats"), log_dir=e2e_log_dir)
    with stopping(process):
        yield TokenEndpoint(base_url)


def client_credentials(
    token_endpoint: TokenEndpoint, *scopes: str, secret: str = "${CLIENT_SECRET}"
) -> dict[str, object]:
    return {
        "type": "oauth2ClientCredentials",
        "tokenUrl": f"{token_endpoint.base_url}/token",
        "clientId": CLIENT_ID,
        "clientSecret": secret,
        "scopes": list(scopes),
    }


@pytest.fixture(scope="module")
def gateway(
    token_endpoint: TokenEndpoint,
    mcp_http_upstream: McpUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_log_dir: Path,
) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("upstream-oauth-gateway")
    (config_dir / "protected.json").write_text(json.dumps(PROTECTED_API), encoding="utf-8")

    def protected(*scopes: str, secret: str = "${CLIENT_SECRET}") -> dict[str, object]:
        return {"openapi": {"spec": "protected.json", "baseUrl": f"{token_endpoint.base_url}/protected",
                            "auth": client_credentials(token_endpoint, *scopes, secret=secret)}}

    servers = {
        "protected": protected("read"),
        # Same credentials as "protected": the same cached token.
        "twin": protected("read"),
        "shortlived": protected("short"),
        "misconfigured": protected("read", secret="not-the-client-secret-0000"),
        "denied": protected("denied"),
        # The spec from a URL: fetched without the API's token, which is for the API alone.
        "fromurl": {"openapi": {"spec": f"{token_endpoint.base_url}/protected-openapi.json",
                                "baseUrl": f"{token_endpoint.base_url}/protected",
                                "auth": client_credentials(token_endpoint, "url")}},
        "remote": {"url": mcp_http_upstream.url, "auth": client_credentials(token_endpoint, "mcp")},
        # Each caller's own credential, on a session of its own.
        "peruser": {"url": mcp_http_upstream.url, "forwardUserAuthorization": True},
    }
    config_path = write_config(config_dir, servers)
    with running_gateway(config_path, e2e_log_dir, env={"CLIENT_SECRET": CLIENT_SECRET}) as running:
        yield running


results_seen: list[str] = []


async def call(gateway: Gateway, name: str, arguments: dict[str, object]) -> tuple[bool, str]:
    async with gateway.client() as client:
        result = await client.call_tool(name, arguments)
    text = result_text(result) + json.dumps(result.structured_content)
    results_seen.append(text)
    return bool(result.is_error), text


async def test_concurrent_first_calls_cause_exactly_one_token_fetch(
    gateway: Gateway, token_endpoint: TokenEndpoint
) -> None:
    assert token_endpoint.fetches("read") == 0  # nothing is fetched before a call needs it
    outcomes: list[tuple[bool, str]] = []

    async with gateway.client() as client:

        async def one(index: int) -> None:
            result = await client.call_tool("protected-getItem", {"id": str(index)})
            outcomes.append((bool(result.is_error), result_text(result)))

        async with anyio.create_task_group() as group:
            for index in range(CONCURRENT_CALLS):
                group.start_soon(one, index)
    assert [error for error, _ in outcomes] == [False] * CONCURRENT_CALLS, outcomes[:3]
    assert token_endpoint.fetches("read") == 1
    # A second server with the same credentials shares the token.
    assert (await call(gateway, "twin-getItem", {"id": "t"}))[0] is False
    assert token_endpoint.fetches("read") == 1


async def test_a_401_refreshes_once_and_retries_once(gateway: Gateway, token_endpoint: TokenEndpoint) -> None:
    assert (await call(gateway, "protected-getItem", {"id": "warm"}))[0] is False
    fetched, refused = token_endpoint.fetches("read"), token_endpoint.stats().get("protected_401", 0)
    token_endpoint.revoke_all()  # the cached token is now refused by the API
    is_error, text = await call(gateway, "protected-getItem", {"id": "after-revoke"})
    assert not is_error, text
    assert token_endpoint.fetches("read") == fetched + 1
    assert token_endpoint.stats().get("protected_401", 0) == refused + 1


async def test_an_expired_token_is_refreshed(gateway: Gateway, token_endpoint: TokenEndpoint) -> None:
    assert (await call(gateway, "shortlived-getItem", {"id": "1"}))[0] is False
    assert (await call(gateway, "shortlived-getItem", {"id": "2"}))[0] is False
    assert token_endpoint.fetches("short") == 1
    time.sleep(SHORT_LIFETIME_SECONDS + 0.2)
    is_error, text = await call(gateway, "shortlived-getItem", {"id": "3"})
    assert not is_error, text
    assert token_endpoint.fetches("short") == 2


async def test_an_mcp_upstream_gets_its_token(gateway: Gateway, token_endpoint: TokenEndpoint) -> None:
    async with gateway.client() as client:
        result = await client.call_tool("remote-whoami", {})
    # Not added to results_seen: an MCP upstream's result is relayed as it is, and this tool echoes what it got.
    assert not result.is_error, result_text(result)
    assert result.structured_content is not None
    assert result.structured_content["authorization"] in [f"Bearer {token}" for token in token_endpoint.issued()]
    assert token_endpoint.fetches("mcp") == 1


async def test_a_spec_fetched_from_a_url_never_gets_the_apis_token(
    gateway: Gateway, token_endpoint: TokenEndpoint
) -> None:
    assert token_endpoint.stats().get("spec", 0) >= 1
    assert token_endpoint.stats().get("spec_with_authorization", 0) == 0
    assert token_endpoint.fetches("url") == 0
    assert (await call(gateway, "fromurl-getItem", {"id": "1"}))[0] is False
    assert token_endpoint.fetches("url") == 1


async def test_a_token_the_api_never_accepts_is_not_fetched_again_on_every_call(
    gateway: Gateway, token_endpoint: TokenEndpoint
) -> None:
    for index in range(3):
        is_error, text = await call(gateway, "denied-getItem", {"id": str(index)})
        assert is_error and "401" in text
    assert token_endpoint.fetches("denied") == 1


async def test_an_mcp_upstream_gets_each_callers_own_credential_and_no_other(
    gateway: Gateway, token_endpoint: TokenEndpoint
) -> None:
    async def whoami(tool: str, credential: str | None) -> object:
        headers = {"x-mcp-peruser-authorization": credential} if credential else {}
        async with keyed_client(gateway.mcp_url, headers) as client:
            result = await client.call_tool(tool, {})
        assert not result.is_error, result_text(result)
        assert result.structured_content is not None
        return result.structured_content["authorization"]

    async with anyio.create_task_group() as group:
        seen: dict[str, object] = {}

        async def record(who: str, credential: str | None) -> None:
            seen[who] = await whoami("peruser-whoami", credential)

        for who, credential in (("alice", "Bearer alice-own-token"), ("bob", "Bearer bob-own-token"), ("anon", None)):
            group.start_soon(record, who, credential)
    assert seen == {"alice": "Bearer alice-own-token", "bob": "Bearer bob-own-token", "anon": None}
    # A credential for "peruser" never reaches another server, which keeps its own.
    other = await whoami("remote-whoami", "Bearer alice-own-token")
    assert other in [f"Bearer {token}" for token in token_endpoint.issued()]


async def test_a_rejected_client_secret_is_a_clear_error(gateway: Gateway, token_endpoint: TokenEndpoint) -> None:
    is_error, text = await call(gateway, "misconfigured-getItem", {"id": "1"})
    assert is_error
    assert f"cannot get an access token from {token_endpoint.base_url}/token: HTTP 401 (invalid_client)" in text
    assert "server 'misconfigured'" in text
    # Right after a failed fetch, calls fail at once with the same reason instead of asking again.
    asked = token_endpoint.stats()["token"]
    again_error, again = await call(gateway, "misconfigured-getItem", {"id": "2"})
    assert again_error and "HTTP 401 (invalid_client)" in again
    assert token_endpoint.stats()["token"] == asked


def test_zz_no_secret_or_token_in_the_log_or_any_result(gateway: Gateway, token_endpoint: TokenEndpoint) -> None:
    tokens = token_endpoint.issued()
    assert len(tokens) >= 3
    captured = [gateway.log(), *results_seen]
    assert "fetched an access token" in captured[0]
    for secret in (CLIENT_SECRET, *tokens):
        for text in captured:
            assert secret not in text
