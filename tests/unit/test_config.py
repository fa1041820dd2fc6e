"""servers.json: the mcpServers format, ${VAR} expansion, and errors that name file, server and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_gateway.config import ConfigError, expand_env, load_config, parse_config


def test_pasted_claude_desktop_config_loads_with_unknown_fields() -> None:
    document = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                           "env": {"DEBUG": "1"}, "autoApprove": ["read_file"], "someFutureField": {"x": 1}},
            "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer t"}},
            "events": {"url": "https://example.com/sse"},
            "typed": {"type": "sse", "url": "https://example.com/events"},
        },
    }
    config = parse_config(document, environ={})
    kinds = {entry.name: entry.kind for entry in config.servers}
    assert kinds == {"filesystem": "stdio", "remote": "http", "events": "sse", "typed": "sse"}
    assert all(entry.error is None for entry in config.servers)
    filesystem = config.servers[0].config
    assert filesystem is not None and filesystem.model_extra == {"autoApprove": ["read_file"],
                                                                 "someFutureField": {"x": 1}}


def test_env_expansion_with_defaults_and_escapes() -> None:
    env = {"TOKEN": "abc"}
    assert expand_env({"a": "Bearer ${TOKEN}", "b": ["${MISSING:-fallback}", "$${TOKEN}"]}, env) == {
        "a": "Bearer abc", "b": ["fallback", "${TOKEN}"]}


def test_missing_variable_names_the_server_and_field_and_keeps_the_others() -> None:
    document = {"mcpServers": {
        "github": {"openapi": {"spec": "x.json", "auth": {"type": "bearer", "token": "${GH_TOKEN}"}}},
        "ok": {"command": "echo"},
    }}
    config = parse_config(document, source="servers.json", environ={})
    github, ok = config.servers
    assert github.config is None
    assert github.error == (
        "servers.json: server 'github', field 'openapi.auth.token': environment variable GH_TOKEN is not set")
    assert ok.error is None and ok.kind == "stdio"


def test_validation_errors_name_file_server_and_field() -> None:
    document = {"mcpServers": {
        "bad_auth": {"openapi": {"spec": "s.yaml", "auth": {"type": "bearer"}}},
        "typo": {"openapi": {"spec": "s.yaml", "baseURL": "http://x"}},
        "nothing": {"args": ["x"]},
        "both": {"command": "x", "url": "http://x"},
        "not_object": 3,
    }}
    errors = {entry.name: entry.error for entry in parse_config(document, source="cfg.json", environ={}).servers}
    assert errors["bad_auth"] is not None and "cfg.json: server 'bad_auth'" in errors["bad_auth"]
    assert "openapi.auth.bearer.token" in errors["bad_auth"]
    assert errors["typo"] is not None and "openapi.baseURL" in errors["typo"]
    assert errors["nothing"] == "cfg.json: server 'nothing': needs one of 'openapi', 'command' or 'url'"
    assert errors["both"] is not None and "exactly one" in errors["both"]
    assert errors["not_object"] == "cfg.json: server 'not_object': expected an object, got int"


def test_secret_values_never_appear_in_errors() -> None:
    document = {"mcpServers": {"x": {"openapi": {"spec": "s", "auth": {"type": "bearer", "token": "s3cr3t"},
                                                 "timeout": -1}}}}
    entry = parse_config(document, environ={}).servers[0]
    assert entry.error is not None and "s3cr3t" not in entry.error


def test_whole_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.json: not valid JSON"):
        load_config(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"servers": {}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="'mcpServers'"):
        load_config(wrong)


def test_bundled_config_loads_without_any_environment() -> None:
    config = load_config(Path(__file__).parents[2] / "servers.json", environ={"MCP_GATEWAY_URL": "http://127.0.0.1:1"})
    assert [(entry.name, entry.kind, entry.error) for entry in config.servers] == [
        ("gateway", "openapi", None), ("github", "openapi", None)]


def test_empty_command_url_or_spec_is_an_error_for_that_server_only() -> None:
    document = {"mcpServers": {
        "cmd": {"command": "${CMD:-}"},
        "url": {"url": " "},
        "spec": {"openapi": {"spec": ""}},
        "ok": {"command": "echo"},
    }}
    errors = {entry.name: entry.error for entry in parse_config(document, source="s.json", environ={}).servers}
    assert errors == {
        "cmd": "s.json: server 'cmd', field 'command': must not be empty",
        "url": "s.json: server 'url', field 'url': must not be empty",
        "spec": "s.json: server 'spec', field 'openapi.spec': must not be empty",
        "ok": None,
    }


def test_base_url_must_be_absolute_http() -> None:
    document = {"mcpServers": {"api": {"openapi": {"spec": "s.yaml", "baseUrl": "127.0.0.1:9999"}}}}
    [entry] = parse_config(document, source="s.json", environ={}).servers
    assert entry.error == (
        "s.json: server 'api': field 'openapi.baseUrl': Value error, must be an absolute http:// or https:// URL")


def test_a_misspelt_field_of_ours_is_reported_with_a_suggestion(caplog: pytest.LogCaptureFixture) -> None:
    document = {"mcpServers": {"api": {"command": "x", "alowedTools": ["a"], "autoApprove": ["b"]}}}
    [entry] = parse_config(document, source="s.json", environ={}).servers
    assert entry.error is None
    assert "s.json: server 'api': field 'alowedTools' is not used by the gateway; did you mean 'allowedTools'?" in (
        caplog.text)
    assert "autoApprove" not in caplog.text


class TestConfigDigest:
    """The digest /health shows so an operator can see replicas whose configurations disagree."""

    def test_the_same_file_gives_the_same_digest_whatever_its_whitespace(self) -> None:
        document = {"mcpServers": {"a": {"url": "http://a.example/mcp"}}}
        compact = parse_config(document)
        spaced = parse_config(json.loads(json.dumps(document, indent=4)))
        assert compact.digest == spaced.digest
        assert len(compact.digest) == 16

    def test_a_changed_server_or_server_order_changes_it(self) -> None:
        base = parse_config({"mcpServers": {"a": {"url": "http://a/mcp"}, "b": {"url": "http://b/mcp"}}})
        changed = parse_config({"mcpServers": {"a": {"url": "http://a/mcp"}, "b": {"url": "http://c/mcp"}}})
        # Config order decides names (a collision suffix goes to the later server), so order is content.
        reordered = parse_config({"mcpServers": {"b": {"url": "http://b/mcp"}, "a": {"url": "http://a/mcp"}}})
        assert len({base.digest, changed.digest, reordered.digest}) == 3

    def test_secrets_from_the_environment_never_enter_it_but_a_different_key_does(self) -> None:
        document = {
            "mcpServers": {"a": {"url": "http://a/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}},
            "access": {"keys": {"admin": {"key": "${ADMIN_KEY}", "admin": True}}},
        }
        one = parse_config(document, environ={"TOKEN": "secret-1", "ADMIN_KEY": "mgw_key_one_0123456789"})
        other_token = parse_config(document, environ={"TOKEN": "secret-2", "ADMIN_KEY": "mgw_key_one_0123456789"})
        other_key = parse_config(document, environ={"TOKEN": "secret-1", "ADMIN_KEY": "mgw_key_two_0123456789"})
        # An upstream token is the deployment's Secret; it is not part of what the digest can tell apart...
        assert one.digest == other_token.digest
        # ...but gateway keys are, through their SHA-256: two replicas with different keys disagree visibly.
        assert one.digest != other_key.digest
