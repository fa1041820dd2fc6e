"""The official TypeScript MCP client sees an upstream's prompts and resources through `/mcp/{server}` exactly as it
sees them on the upstream itself. The upstream is the conformance suite's reference server (streamable HTTP, so the
same client script reaches it directly and through the gateway).

Needs node and npm (the client's locked SDK, the reference server and node 22 come from the npm registry, once);
skipped, saying so, where they are missing.
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

CLIENT_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def reference_url(e2e_log_dir: Path) -> Iterator[str]:
    try:
        node = suite.install()
    except suite.SuiteUnavailable as error:
        pytest.skip(f"conformance reference server unavailable: {error}")
    with suite.running_reference_server(node, e2e_log_dir) as url:
        yield url


@pytest.fixture(scope="module")
def gateway(reference_url: str, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path) -> Iterator[Gateway]:
    config = write_config(tmp_path_factory.mktemp("ts-client-relay"), {"reference": {"url": reference_url}})
    with running_gateway(config, e2e_log_dir) as running:
        yield running


def _typescript_view(ts_client: Path, url: str) -> dict[str, Any]:
    completed = subprocess.run(["node", "prompts_resources.mjs", url], cwd=ts_client, capture_output=True, text=True,
                               timeout=CLIENT_TIMEOUT_SECONDS)
    assert completed.returncode == 0, f"{url}:\n{completed.stderr[-3000:]}"
    view: dict[str, Any] = json.loads(completed.stdout)
    return view


def test_the_typescript_client_sees_prompts_and_resources_through_the_server_endpoint_as_directly(
    reference_url: str, gateway: Gateway, ts_client: Path
) -> None:
    direct = _typescript_view(ts_client, reference_url)
    relayed = _typescript_view(ts_client, gateway.server_url("reference"))
    # Nothing is removed before comparing: listings, prompt messages (text, image, embedded resource), resource
    # contents (text) and a template read are all deterministic on the reference server.
    assert relayed == direct
    # ...and what is compared is the real thing, not two empty answers.
    assert {"test_simple_prompt", "test_prompt_with_arguments"} <= {prompt["name"] for prompt in direct["prompts"]}
    with_arguments = direct["got"]["test_prompt_with_arguments"]["result"]["messages"][0]["content"]["text"]
    assert "arg1='arg1-value'" in with_arguments and "arg2='arg2-value'" in with_arguments
    assert direct["read"]["contents"][0]["uri"] == direct["resources"][0]["uri"]
    assert [template["uriTemplate"] for template in direct["templates"]] == ["test://template/{id}/data"]
    assert json.loads(direct["templateRead"]["contents"][0]["text"])["id"] == "id-42"
