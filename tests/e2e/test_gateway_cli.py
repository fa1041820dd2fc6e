"""The command line agrees with the running gateway: for every spec in specs/, `mcp-gateway preview --json`,
POST /openapi/preview and the tools the gateway registers are the same tools, because they share one code path.

Each CLI process spends seconds importing, so all of them run at once in one module fixture; every test then
reads the result of the command it is about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from mcp_gateway.bridge.targets import NAME_RULES
from mcp_gateway.http import httpx
from mcp_gateway.openapi.model import HTTP_METHODS
from tests.e2e.gateway_process import (
    SPECS_DIR,
    CliRuns,
    Gateway,
    definition_names,
    free_port,
    list_all_tools,
    original_names,
    running_gateway,
    write_config,
)

SPEC_FILES = sorted(path for path in SPECS_DIR.iterdir() if path.suffix in (".json", ".yaml", ".yml"))
GITHUB_SPEC = SPECS_DIR / "github-api.json"
USPTO_SPEC = SPECS_DIR / "uspto-3.0.yaml"
DUMMY_BASE_URL = "http://127.0.0.1:9"
# `export` runs on a config without the 13 MB GitHub spec; per-server output does not depend on other servers.
EXPORTS = [("openai", "uspto_3_0"), ("gemini", "petstore_swagger2")]


def server_name(spec: Path) -> str:
    """One gateway server per spec, named after the file: `github-api.json` -> `github_api`."""
    return re.sub(r"[^a-zA-Z0-9]", "_", spec.stem)


def count_operations(spec: Path) -> int:
    """Operations as written in the spec, counted independently of the gateway."""
    text = spec.read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text) if spec.suffix == ".json" else yaml.safe_load(text)
    return sum(
        1 for item in (document.get("paths") or {}).values() for method in item if method.lower() in HTTP_METHODS
    )


def servers_for(specs: list[Path]) -> dict[str, Any]:
    return {server_name(spec): {"openapi": {"spec": str(spec), "baseUrl": DUMMY_BASE_URL}} for spec in specs}


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    small = [spec for spec in SPEC_FILES if spec != GITHUB_SPEC]
    return {
        "full": write_config(tmp_path_factory.mktemp("cli-gateway"), servers_for(SPEC_FILES)),
        "small": write_config(tmp_path_factory.mktemp("cli-small"), servers_for(small)),
    }


@pytest.fixture(scope="module")
def cli(configs: dict[str, Path]) -> Iterator[CliRuns]:
    """Every CLI command these tests look at, launched together, by a key that says what it is."""
    commands = {f"preview --json {spec.name}": ["preview", str(spec), "--json"] for spec in SPEC_FILES}
    commands["preview uspto"] = ["preview", str(USPTO_SPEC)]
    commands["tools uspto_3_0"] = ["tools", "--config", str(configs["small"]), "--server", "uspto_3_0"]
    for provider, server in EXPORTS:
        commands[f"export {provider} {server}"] = [
            "export", "--provider", provider, "--server", server, "--config", str(configs["small"])
        ]
    commands["serve 0.0.0.0"] = [
        "serve", "--config", str(configs["small"]), "--host", "0.0.0.0", "--port", str(free_port())
    ]
    runs = CliRuns(commands, timeout=60.0)
    try:
        yield runs
    finally:
        runs.close()


@pytest.fixture(scope="module")
def gateway(configs: dict[str, Path], e2e_log_dir: Path) -> Iterator[Gateway]:
    with running_gateway(configs["full"], e2e_log_dir) as running:
        yield running


@pytest.fixture(scope="module")
def registered(gateway: Gateway) -> dict[str, list[str]]:
    """Tool names per server, as an MCP client sees them on /mcp/{server}."""

    async def names() -> dict[str, list[str]]:
        listed: dict[str, list[str]] = {}
        for spec in SPEC_FILES:
            async with gateway.client(server_name(spec)) as client:
                listed[server_name(spec)] = [tool.name for tool in await list_all_tools(client)]
        return listed

    return anyio.run(names)


def succeeded(cli: CliRuns, key: str) -> str:
    """The stdout of a command that must have exited 0."""
    completed = cli[key]
    assert completed.returncode == 0, f"`mcp-gateway {key}` failed:\n{completed.stderr[-2000:]}"
    return completed.stdout


def test_every_spec_is_under_test() -> None:
    assert {spec.name for spec in SPEC_FILES} >= {
        "github-api.json", "petstore-swagger2.json", "uspto-3.0.yaml", "webhook-example-3.1.yaml"
    }


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda spec: spec.name)
def test_cli_preview_rest_preview_and_registration_agree(
    gateway: Gateway, cli: CliRuns, registered: dict[str, list[str]], spec: Path
) -> None:
    from_cli = json.loads(succeeded(cli, f"preview --json {spec.name}"))
    response = httpx.post(f"{gateway.base_url}/openapi/preview", content=spec.read_bytes(), timeout=120.0)
    assert response.status_code == 200, response.text[:500]
    assert response.json() == from_cli
    preview_names = [tool["name"] for tool in from_cli["tools"]]
    assert sorted(preview_names) == sorted(registered[server_name(spec)])


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda spec: spec.name)
def test_every_operation_becomes_one_valid_uniquely_named_tool(registered: dict[str, list[str]], spec: Path) -> None:
    names = registered[server_name(spec)]
    assert len(names) == count_operations(spec)
    assert len(set(names)) == len(names)
    assert all(NAME_RULES["anthropic"].is_valid(name) for name in names)  # the MCP rule: [a-zA-Z0-9_-]{1,128}


def test_plain_preview_shows_name_method_and_path_of_each_tool(cli: CliRuns) -> None:
    printed = succeeded(cli, "preview uspto")
    for tool in json.loads(succeeded(cli, f"preview --json {USPTO_SPEC.name}"))["tools"]:
        assert tool["name"] in printed
        assert tool["path"] in printed
        assert tool["method"].upper() in printed.upper()


def test_tools_command_lists_one_servers_registered_tools(cli: CliRuns, registered: dict[str, list[str]]) -> None:
    printed = succeeded(cli, "tools uspto_3_0")
    for name in registered["uspto_3_0"]:
        assert name in printed
    for name in registered["petstore_swagger2"]:
        assert name not in printed


@pytest.mark.parametrize(("provider", "server"), EXPORTS, ids=[f"{p}-{s}" for p, s in EXPORTS])
def test_export_prints_the_same_provider_definitions_as_the_rest_listing(
    gateway: Gateway, cli: CliRuns, registered: dict[str, list[str]], provider: str, server: str
) -> None:
    exported = json.loads(succeeded(cli, f"export {provider} {server}"))
    listed = gateway.get_json("/tools", provider=provider, server=server)
    assert exported["tools"] == listed["tools"]
    assert exported["name_map"] == listed["name_map"]
    names = definition_names(exported["tools"])
    assert len(names) == len(set(names))
    assert sorted(original_names(exported["name_map"], names)) == sorted(registered[server])


def test_more_tools_than_the_provider_accepts_is_refused_with_the_limit_named(gateway: Gateway) -> None:
    over_limit = gateway.get("/tools", provider="openai", server="github_api")
    assert over_limit.status_code == 400
    assert "128" in over_limit.text


def test_serving_on_a_non_loopback_address_needs_an_explicit_flag(cli: CliRuns) -> None:
    refused = cli["serve 0.0.0.0"]
    assert refused.returncode != 0
    assert "--allow-remote" in refused.stderr
