"""Inbound access: the `access` section, keys, principals, and per-user credential headers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from mcp_gateway.auth.keys import KEY_PREFIX, KeyRing, key_digest_hex, new_key
from mcp_gateway.auth.principal import UNRESTRICTED, Principal, visible
from mcp_gateway.auth.settings import AccessError, AccessSettings, Grant, KeyEntry, OAuthSettings, parse_access
from mcp_gateway.auth.tokens import TokenValidator
from mcp_gateway.auth.user_credentials import credentials_from, forwarded_credential, forwarding
from mcp_gateway.config import ConfigError, parse_config

KEY = "mgw_unit-test-key-0123456789"


def access(raw: Any, environ: dict[str, str] | None = None) -> AccessSettings:
    return parse_access(raw, source="servers.json", environ=environ or {})


def test_no_section_means_no_access_control() -> None:
    assert not access(None).enabled
    assert not parse_config({"mcpServers": {}}).access.enabled


def test_a_key_and_its_hash_identify_the_same_caller() -> None:
    settings = access({"keys": {
        "plain": {"key": "${KEY}", "servers": ["api"]},
        "hashed": {"sha256": hashlib.sha256(b"another-key-0123456789").hexdigest().upper(), "admin": True},
    }}, {"KEY": KEY})
    ring = KeyRing(settings.keys)
    plain = ring.principal(KEY)
    hashed = ring.principal("another-key-0123456789")
    assert plain is not None and plain.name == "plain" and plain.servers == ("api",) and not plain.admin
    assert hashed is not None and hashed.name == "hashed" and hashed.admin
    assert ring.principal(KEY + "x") is None
    assert ring.principal(hashlib.sha256(KEY.encode()).hexdigest()) is None  # the hash is not the key
    assert ring.principal("") is None


@pytest.mark.parametrize(
    ("raw", "environ", "message"),
    [
        ({"keys": {"a": {"key": "${MISSING}"}}}, {}, "environment variable MISSING is not set"),
        ({"keys": {"a": {"key": "${EMPTY:-}"}}}, {}, "shorter than 16 characters"),
        ({"keys": {"a": {}}}, {}, "exactly one of 'key' or 'sha256'"),
        ({"keys": {"a": {"key": KEY, "sha256": "0" * 64}}}, {}, "exactly one of 'key' or 'sha256'"),
        ({"keys": {"a": {"sha256": "xyz"}}}, {}, "64 hexadecimal digits"),
        ({"keys": {"a b": {"key": KEY}}}, {}, "key 'a b'"),
        ({"keys": {"a": {"key": KEY}, "b": {"key": KEY}}}, {}, "two keys are the same key"),
        ({"keys": {"a": {"key": KEY, "servres": ["x"]}}}, {}, "servres"),
        ({"oauth": {"issuer": "https://i", "jwksUri": "https://i/jwks", "resource": "https://g",
                    "algorithms": ["RS256", "HS256"]}}, {}, "only asymmetric algorithms"),
        ({"oauth": {"issuer": "https://i", "jwksUri": "file:///etc/keys", "resource": "https://g"}}, {},
         "absolute http"),
        ([], {}, "expected an object"),
    ],
)
def test_a_broken_access_section_stops_the_gateway_and_names_the_field(
    raw: Any, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(AccessError) as caught:
        access(raw, environ)
    assert message in str(caught.value)
    assert KEY not in str(caught.value)


def test_forwarding_user_credentials_is_for_openapi_and_url_servers_only() -> None:
    config = parse_config({"mcpServers": {
        "local": {"command": "server", "forwardUserAuthorization": True},
        "remote": {"url": "https://example.com/mcp", "forwardUserAuthorization": True},
    }})
    local, remote = config.servers
    assert local.error is not None and "forwardUserAuthorization" in local.error
    assert remote.error is None and remote.config is not None and remote.config.forward_user_authorization


def test_a_broken_access_section_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="access"):
        parse_config({"mcpServers": {}, "access": {"keys": {"a": {}}}})


def test_new_keys_are_distinct_prefixed_and_their_hash_matches() -> None:
    first, second = new_key(), new_key()
    assert first != second and first.startswith(KEY_PREFIX) and len(first) > 40
    entry = KeyEntry(sha256=key_digest_hex(first))
    assert KeyRing({"k": entry}).principal(first) is not None


def test_tool_patterns_match_the_listed_name_or_server_slash_name() -> None:
    principal = Principal("p", servers=("api", "tools"), tools=("get*", "tools/echo"))
    assert principal.sees_tool("api", "getItem")
    assert principal.sees_tool("tools", "echo")
    assert not principal.sees_tool("api", "echo")
    assert not principal.sees_tool("other", "getItem")
    assert not principal.unrestricted and UNRESTRICTED.unrestricted


def test_token_grants_never_combine_servers_of_one_with_tools_of_another() -> None:
    settings = OAuthSettings(
        issuer="https://issuer.example", jwks_uri="https://issuer.example/jwks", resource="https://gw.example",
        grants={"a": Grant(servers=["api"], tools=["get*"]), "b": Grant(servers=["tools"], tools=["echo"])},
    )
    principal = TokenValidator(settings)._principal_from({"sub": "u", "iss": settings.issuer, "scope": "a b"})
    assert principal.sees_tool("api", "getItem") and principal.sees_tool("tools", "echo")
    assert not principal.sees_tool("api", "echo") and not principal.sees_tool("tools", "getItem")
    assert not principal.admin
    nothing = TokenValidator(settings)._principal_from({"sub": "u", "iss": settings.issuer, "scope": "c"})
    assert not nothing.sees_server("api")
    groups = TokenValidator(settings.model_copy(update={"claim": "groups"}))
    assert groups._principal_from({"sub": "u", "iss": "i", "groups": ["b"]}).sees_tool("tools", "echo")
    nested = TokenValidator(settings.model_copy(update={"claim": "realm_access.roles"}))
    roles = {"sub": "u", "iss": "i", "realm_access": {"roles": ["a"]}}
    assert nested._principal_from(roles).sees_tool("api", "getItem")
    assert not nested._principal_from({"sub": "u", "iss": "i", "realm_access": "a"}).sees_server("api")


class Entry:
    def __init__(self, server: str, server_name: str) -> None:
        self.server = server
        self.server_name = server_name


def test_visible_keeps_order_and_only_what_the_caller_sees() -> None:
    entries = [Entry("api", "getItem"), Entry("api", "delete"), Entry("tools", "echo")]
    principal = Principal("p", servers=("api",), tools=("get*",))
    assert [entry.server_name for entry in visible(entries, principal)] == ["getItem"]
    assert visible(entries, UNRESTRICTED) == entries


def test_user_credentials_are_read_per_server_and_scoped_to_the_call() -> None:
    headers = {"X-MCP-GitHub-Authorization": "Bearer own", "x-mcp-api-authorization": " ", "authorization": "x"}
    found = credentials_from(headers)
    assert found == {"github": "Bearer own"}
    assert forwarded_credential("GitHub") is None
    with forwarding(found):
        assert forwarded_credential("GitHub") == "Bearer own"
        assert forwarded_credential("api") is None
    assert forwarded_credential("GitHub") is None


def test_keys_new_prints_a_pasteable_entry(capsys: pytest.CaptureFixture[str]) -> None:
    from mcp_gateway.cli import main

    assert main(["keys", "new", "ci"]) == 0
    out = capsys.readouterr().out
    key = out.split(": ", 1)[1].split()[0]
    entry_line = out.strip().splitlines()[-1]
    document = {"mcpServers": {}, "access": {"keys": json.loads("{" + entry_line + "}")}}
    settings = parse_config(document).access
    principal = KeyRing(settings.keys).principal(key)
    assert principal is not None and principal.name == "ci"
    assert key not in entry_line
