"""The MCP project's own `server-everything` behind the gateway, over stdio: what a client sees through
`/mcp/everything` is what it sees when it launches the server itself.

The server comes from the npm registry (installed once into ~/.cache/mcp-gateway-tests); skipped, saying so,
where node or npm is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext

from tests.e2e.gateway_process import Gateway, result_text, running_gateway, write_config

PACKAGE = "@modelcontextprotocol/server-everything"
VERSION = "2026.8.31"
INSTALL_TIMEOUT_SECONDS = 300

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


@pytest.fixture(scope="module")
def everything_command() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run server-everything (npm package) and are not installed")
    home = Path(os.environ.get("MCP_GATEWAY_TEST_CACHE", Path.home() / ".cache" / "mcp-gateway-tests"))
    target = home / f"server-everything-{VERSION}"
    entry = target / "node_modules" / PACKAGE / "dist" / "index.js"
    if not entry.exists():
        target.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(target),
             f"{PACKAGE}@{VERSION}"],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False,
        )
        assert done.returncode == 0 and entry.exists(), f"npm install {PACKAGE} failed:\n{done.stderr[-3000:]}"
    return [node, str(entry), "stdio"]


@pytest.fixture(scope="module")
def gateway(
    everything_command: list[str], tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    command, *args = everything_command
    config = write_config(tmp_path_factory.mktemp("everything"), {"everything": {"command": command, "args": args}})
    with running_gateway(config, e2e_log_dir) as running:
        yield running


class Answers:
    """Client callbacks that answer the server's requests and remember them."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def sampling(self, context: ClientRequestContext, params: types.CreateMessageRequestParams) -> Any:
        self.asked.append("sampling")
        return types.CreateMessageResult(role="assistant", content=types.TextContent(text="sampled!"), model="m")

    async def elicitation(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> Any:
        self.asked.append("elicitation")
        return types.ElicitResult(action="decline")

    async def roots(self, context: ClientRequestContext) -> Any:
        self.asked.append("roots")
        return types.ListRootsResult(roots=[types.Root(uri="file:///work")])

    def client(self, server: StdioServerParameters | str) -> Client:
        return Client(server, mode="legacy", sampling_callback=self.sampling, elicitation_callback=self.elicitation,
                      list_roots_callback=self.roots)


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def _session_view(client: Client) -> dict[str, Any]:
    """Everything a client sees that does not depend on time or randomness."""
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    prompts = await client.list_prompts()
    first_resource = (await client.list_resources()).resources[0]
    view = {
        "server": _dump(client.server_info),
        "instructions": client.instructions,
        "tools": sorted(tool.name for tool in (await client.list_tools()).tools),
        "prompts": _dump(prompts),
        "args-prompt": _dump(await client.get_prompt("args-prompt", {"city": "Lisbon", "state": "PT"})),
        "resources": _dump(await client.list_resources()),
        "templates": _dump(await client.list_resource_templates()),
        "read": _dump(await client.read_resource(first_resource.uri)),
        "completion": _dump(await client.complete(types.PromptReference(name="completable-prompt"),
                                                  {"name": "department", "value": "E"})),
        "echo": _dump(await client.call_tool("echo", {"message": "hi"})),
        "image": _dump(await client.call_tool("get-tiny-image", {})),
        "structured": _dump(await client.call_tool("get-structured-content", {"location": "New York"})),
        "annotated": _dump(await client.call_tool("get-annotated-message", {"messageType": "error"})),
        "links": _dump(await client.call_tool("get-resource-links", {"count": 2})),
        "sampling": result_text(await client.call_tool("trigger-sampling-request", {"prompt": "hi"})),
        "roots": result_text(await client.call_tool("get-roots-list", {})),
        "long": result_text(await client.call_tool("trigger-long-running-operation", {"duration": 0.3, "steps": 3},
                                                   progress_callback=on_progress)),
    }
    view["progress"] = progress
    return view


@pytest.mark.anyio
async def test_a_client_sees_server_everything_through_the_gateway_as_it_does_directly(
    gateway: Gateway, everything_command: list[str]
) -> None:
    command, *args = everything_command
    direct_answers, relayed_answers = Answers(), Answers()
    with anyio.fail_after(60):
        async with direct_answers.client(StdioServerParameters(command=command, args=args)) as direct:
            expected = await _session_view(direct)
        async with relayed_answers.client(gateway.server_url("everything")) as relayed:
            got = await _session_view(relayed)
    assert got == expected
    assert "trigger-sampling-request" in got["tools"] and got["progress"] == [1, 2, 3]
    assert "sampled!" in got["sampling"] and "file:///work" in got["roots"]
    # The server also asks for roots on a timer 350 ms after a session starts, so how often it asks is a race;
    # what it asks, and that the answers come from this client, is not.
    assert set(relayed_answers.asked) == set(direct_answers.asked) == {"sampling", "roots"}
