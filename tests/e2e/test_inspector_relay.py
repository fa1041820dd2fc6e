"""The MCP Inspector (its CLI mode) sees an upstream's prompts and resources through `/mcp/{server}` exactly as it
sees them on the upstream itself, the conformance suite's reference server.

Needs node and npm (the locked Inspector, the reference server and node 22, which the Inspector requires, come
from the npm registry, once); skipped, saying so, where they are missing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance import suite
from tests.e2e.gateway_process import Gateway, running_gateway, write_config

INSPECTOR_TIMEOUT_SECONDS = 60

REQUESTS = {
    "prompts/list": [],
    "prompts/get": ["--prompt-name", "test_prompt_with_arguments", "--prompt-args", "arg1=first", "arg2=second"],
    "prompts/get embedded": ["--prompt-name", "test_prompt_with_embedded_resource", "--prompt-args",
                             "resourceUri=test://example-resource"],
    "resources/list": [],
    "resources/templates/list": [],
    "resources/read": ["--uri", "test://static-text"],
    "resources/read template": ["--uri", "test://template/42/data"],
}
"""What the Inspector is asked, each on a fresh connection, as its CLI does."""


@pytest.fixture(scope="module")
def node() -> Path:
    try:
        return suite.install()
    except suite.SuiteUnavailable as error:
        pytest.skip(f"node 22 and the conformance reference server unavailable: {error}")


@pytest.fixture(scope="module")
def reference_url(node: Path, e2e_log_dir: Path) -> Iterator[str]:
    with suite.running_reference_server(node, e2e_log_dir) as url:
        yield url


@pytest.fixture(scope="module")
def gateway(reference_url: str, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path) -> Iterator[Gateway]:
    config = write_config(tmp_path_factory.mktemp("inspector-relay"), {"reference": {"url": reference_url}})
    with running_gateway(config, e2e_log_dir) as running:
        yield running


def _inspector_view(inspector: Path, node: Path, home: Path, url: str) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for label, arguments in REQUESTS.items():
        method = label.split()[0]
        command = [str(node), "node_modules/.bin/mcp-inspector", "--cli", url, "--transport", "http",
                   "--method", method, *arguments]
        # HOME: the Inspector keeps a catalog of servers there; not in the real home.
        completed = subprocess.run(command, cwd=inspector, capture_output=True, text=True,
                                   timeout=INSPECTOR_TIMEOUT_SECONDS, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
        assert completed.returncode == 0, f"{url} {label}:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
        view[label] = json.loads(completed.stdout)
    return view


def test_the_inspector_sees_prompts_and_resources_through_the_server_endpoint_as_directly(
    reference_url: str, gateway: Gateway, inspector: Path, node: Path, tmp_path: Path
) -> None:
    direct = _inspector_view(inspector, node, tmp_path, reference_url)
    relayed = _inspector_view(inspector, node, tmp_path, gateway.server_url("reference"))
    assert relayed == direct
    # ...and what is compared is the real thing, not two empty answers or two errors.
    prompts = {prompt["name"] for prompt in direct["prompts/list"]["prompts"]}
    assert {"test_simple_prompt", "test_prompt_with_arguments"} <= prompts
    assert "arg1='first'" in direct["prompts/get"]["messages"][0]["content"]["text"]
    assert direct["prompts/get embedded"]["messages"][0]["content"]["type"] == "resource"
    assert "test://static-text" in {resource["uri"] for resource in direct["resources/list"]["resources"]}
    assert direct["resources/templates/list"]["resourceTemplates"][0]["uriTemplate"] == "test://template/{id}/data"
    assert direct["resources/read"]["contents"][0]["text"]
    assert "42" in direct["resources/read template"]["contents"][0]["text"]
