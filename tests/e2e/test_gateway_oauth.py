"""OAuth 2.1 bearer tokens from an external authorization server (tests/e2e/auth_server.py, a real process):
discovery through RFC 9728 metadata, and tokens valid, expired, for another audience or issuer, signed with an
unpublished key, and signed with a key rotated in after the gateway cached the JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from mcp_gateway.http import httpx
from tests.e2e.auth_server import CLIENT_ID, CLIENT_SECRET
from tests.e2e.gateway_process import (
    LOOPBACK,
    Gateway,
    free_port,
    http_ready,
    keyed_client,
    list_all_tools,
    running_gateway,
    start_process,
    stdio_server_entry,
    stopping,
    write_config,
)
from tests.e2e.test_gateway_access import INITIALIZE, MCP_HEADERS

pytestmark = pytest.mark.anyio


@dataclass
class AuthServer:
    base_url: str

    def token(self, **spec: Any) -> str:
        response = httpx.post(f"{self.base_url}/issue", json=spec, timeout=30)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def rotate(self) -> None:
        httpx.post(f"{self.base_url}/rotate", timeout=30).raise_for_status()

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = httpx.get(f"{self.base_url}/stats", timeout=30).json()
        return stats


@pytest.fixture(scope="module")
def auth_server(e2e_log_dir: Path) -> Iterator[AuthServer]:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    args = [sys.executable, "-m", "tests.e2e.auth_server", "--port", str(port)]
    process = start_process(f"auth-server-{port}", args, ready=http_ready(f"{base_url}/stats"), log_dir=e2e_log_dir)
    with stopping(process):
        yield AuthServer(base_url)


@pytest.fixture(scope="module")
def gateway(auth_server: AuthServer, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path) -> Iterator[Gateway]:
    config_dir = tmp_path_factory.mktemp("oauth-gateway")
    access = {
        "oauth": {
            "issuer": auth_server.base_url,
            "jwksUri": f"{auth_server.base_url}/jwks",
            # The gateway's own URL, known once it has bound its port.
            "resource": "${MCP_GATEWAY_URL}",
            "claim": "scope",
            "grants": {
                "echo": {"servers": ["tools"], "tools": ["echo"]},
                "math": {"servers": ["tools"], "tools": ["add"]},
            },
            # Rotation is tested right after the first fetch; production keeps the default cool-down.
            "jwksRefreshCooldown": 0,
        }
    }
    config_path = write_config(config_dir, {"tools": stdio_server_entry()}, access=access)
    with running_gateway(config_path, e2e_log_dir) as running:
        yield running


def initialize(gateway: Gateway, token: str) -> httpx.Response:
    return httpx.post(gateway.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
                      timeout=30)


def test_protected_resource_metadata_names_the_authorization_server(gateway: Gateway, auth_server: AuthServer) -> None:
    challenge = httpx.post(gateway.mcp_url, json=INITIALIZE, headers=MCP_HEADERS, timeout=30)
    assert challenge.status_code == 401
    header = challenge.headers["www-authenticate"]
    assert header.startswith("Bearer")
    metadata_url = header.split('resource_metadata="', 1)[1].split('"', 1)[0]
    assert metadata_url == f"{gateway.base_url}/.well-known/oauth-protected-resource"
    metadata = httpx.get(metadata_url, timeout=30).json()  # public: no token needed to discover
    assert metadata["resource"].rstrip("/") == gateway.base_url
    assert [server.rstrip("/") for server in metadata["authorization_servers"]] == [auth_server.base_url]
    assert set(metadata["scopes_supported"]) == {"echo", "math"}


async def test_a_valid_token_sees_the_tools_its_scopes_grant(gateway: Gateway, auth_server: AuthServer) -> None:
    token = auth_server.token(claims={"aud": gateway.base_url, "scope": "echo"})
    async with keyed_client(gateway.mcp_url, {"Authorization": f"Bearer {token}"}) as client:
        assert {tool.name for tool in await list_all_tools(client)} == {"tools-echo"}
    # The same resource spelled with a trailing slash, as some libraries write it.
    both = auth_server.token(claims={"aud": gateway.base_url + "/", "scope": "echo math unknown-scope"})
    async with keyed_client(gateway.server_url("tools"), {"Authorization": f"Bearer {both}"}) as client:
        assert {tool.name for tool in await list_all_tools(client)} == {"echo", "add"}


def test_rest_takes_the_same_tokens_and_shows_the_same_tools(gateway: Gateway, auth_server: AuthServer) -> None:
    token = auth_server.token(claims={"aud": gateway.base_url, "scope": "echo"})
    response = httpx.get(f"{gateway.base_url}/tools", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200
    assert [tool["name"] for tool in response.json()["tools"]] == ["tools-echo"]
    servers = httpx.get(f"{gateway.base_url}/servers", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert [(entry["name"], entry["tools"], "detail" in entry) for entry in servers.json()] == [("tools", 1, False)]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"lifetime": -120}, "expired"),
        ({"claims": {"aud": "http://another-resource.example"}}, "audience"),
        ({"claims": {"iss": "http://evil.example"}}, "issuer"),
        ({"unpublished_key": True}, "key"),
    ],
)
def test_an_invalid_token_is_refused_with_invalid_token(
    gateway: Gateway, auth_server: AuthServer, spec: dict[str, Any], reason: str
) -> None:
    claims = {"aud": gateway.base_url, "scope": "echo", **spec.pop("claims", {})}
    response = initialize(gateway, auth_server.token(claims=claims, **spec))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert reason in response.json()["error_description"]


def test_a_forged_token_reusing_a_published_kid_is_refused(gateway: Gateway, auth_server: AuthServer) -> None:
    genuine = auth_server.token(claims={"aud": gateway.base_url})
    published_kid = httpx.get(f"{auth_server.base_url}/jwks", timeout=30).json()["keys"][0]["kid"]
    forged = auth_server.token(claims={"aud": gateway.base_url}, unpublished_key=True, kid=published_kid)
    assert initialize(gateway, genuine).status_code == 200
    assert initialize(gateway, forged).status_code == 401


def test_unsigned_and_key_confusion_tokens_are_refused(gateway: Gateway, auth_server: AuthServer) -> None:
    claims = {"iss": auth_server.base_url, "aud": gateway.base_url, "sub": "mallory", "scope": "echo math",
              "exp": int(time.time()) + 300}
    unsigned = jwt.encode(claims, None, algorithm="none")
    # HS256 keyed with the published public key: the classic confusion of a verifier that trusts the header's alg.
    public_jwk = httpx.get(f"{auth_server.base_url}/jwks", timeout=30).json()["keys"][0]
    public_pem = jwt.PyJWK(public_jwk).key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    confused = hmac_jwt(claims, public_pem, kid=public_jwk["kid"])
    for token in (unsigned, confused):
        assert initialize(gateway, token).status_code == 401


def hmac_jwt(claims: dict[str, Any], secret: bytes, *, kid: str) -> str:
    """An HS256 JWT built by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""

    def encoded(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    header = encoded(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = encoded(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{encoded(signature)}"


def test_a_session_belongs_to_the_tokens_subject_not_to_one_token(gateway: Gateway, auth_server: AuthServer) -> None:
    first = auth_server.token(claims={"aud": gateway.base_url, "sub": "alice", "scope": "echo"})
    opened = initialize(gateway, first)
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]

    def list_tools(token: str) -> int:
        headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}", "mcp-session-id": session,
                   "mcp-protocol-version": "2025-06-18"}
        return httpx.post(gateway.mcp_url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                          headers=headers, timeout=30).status_code

    # A refreshed token for the same user keeps the session; another user's token finds no such session.
    assert list_tools(auth_server.token(claims={"aud": gateway.base_url, "sub": "alice", "scope": "echo"})) == 200
    assert list_tools(auth_server.token(claims={"aud": gateway.base_url, "sub": "mallory", "scope": "echo"})) == 404


def test_a_token_signed_with_a_rotated_in_key_is_accepted(gateway: Gateway, auth_server: AuthServer) -> None:
    before = auth_server.token(claims={"aud": gateway.base_url})
    assert initialize(gateway, before).status_code == 200  # the gateway now holds the JWKS in its cache
    auth_server.rotate()
    after = auth_server.token(claims={"aud": gateway.base_url})
    assert initialize(gateway, after).status_code == 200
    # The fetch that found the new key also dropped the retired one.
    assert initialize(gateway, before).status_code == 401


class MemoryTokenStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


async def test_the_official_client_discovers_the_authorization_server_and_gets_in(
    gateway: Gateway, auth_server: AuthServer
) -> None:
    """From nothing but the gateway's URL: 401 -> protected-resource metadata -> the authorization server's
    metadata -> a client-credentials token for this resource -> tools, as the SDK's OAuth provider does it."""
    jwt_before = auth_server.stats().get("jwt", 0)
    storage = MemoryTokenStorage()
    provider = ClientCredentialsOAuthProvider(
        server_url=gateway.mcp_url, storage=storage, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        scope="echo", issuer=auth_server.base_url,
    )
    async with (
        httpx.AsyncClient(auth=provider, timeout=30) as http_client,
        Client(streamable_http_client(gateway.mcp_url, http_client=http_client)) as client,
    ):
        # The SDK asks for the scopes the metadata advertises (all grants); the issued token carries both.
        assert {tool.name for tool in await list_all_tools(client)} == {"tools-echo", "tools-add"}
    assert auth_server.stats().get("jwt", 0) == jwt_before + 1
    assert storage.tokens is not None


def test_unreachable_keys_are_the_gateways_trouble_not_the_callers(
    auth_server: AuthServer, tmp_path: Path, e2e_log_dir: Path
) -> None:
    unreachable = f"http://{LOOPBACK}:{free_port()}"
    access = {"oauth": {"issuer": auth_server.base_url, "jwksUri": f"{unreachable}/jwks",
                        "resource": "${MCP_GATEWAY_URL}"}}
    config_path = write_config(tmp_path, {}, access=access)
    with running_gateway(config_path, e2e_log_dir) as gateway:
        response = initialize(gateway, auth_server.token(claims={"aud": gateway.base_url}))
        assert response.status_code == 503
        assert response.json()["error"] == "temporarily_unavailable"


def test_zz_no_token_or_secret_in_the_log(gateway: Gateway, auth_server: AuthServer) -> None:
    """Runs last: every token the authorization server issued in this module, and the client secret."""
    token = auth_server.token(claims={"aud": "http://another-resource.example"})
    assert initialize(gateway, token).status_code == 401
    log = gateway.log()
    assert "refused" in log
    issued = httpx.get(f"{auth_server.base_url}/issued", timeout=30).json()["tokens"]
    assert len(issued) > 10
    signatures = [token.rsplit(".", 1)[1] for token in issued]
    for secret in (*signatures, CLIENT_SECRET):
        assert secret not in log
