"""McpUpstream against real MCP server processes over stdio, streamable HTTP and SSE.

The server is tests/e2e/mcp_upstream.py, started as a child process; every process a test starts is killed
when the test ends, whether it passed or not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.server import Server, ServerRequestContext

from mcp_gateway.upstreams.base import Health
from mcp_gateway.upstreams.mcp import McpUpstream
from mcp_gateway.upstreams.mcp_spec import McpServerSpec, McpTransport
from mcp_gateway.upstreams.tool_listing import list_all_tools

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_MODULE = "tests.e2e.mcp_upstream"
STARTUP_TIMEOUT = 20.0
TEST_TOOLS = ["echo", "add", "fail", "slow", "env_value", "whoami", "wrong_output", "repo.get"]

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


class ServerProcess:
    """The test MCP server on a loopback port, which a test may kill and start again on the same port."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        path = "/mcp" if self.transport == "http" else "/sse"
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        command = [sys.executable, "-m", SERVER_MODULE, "--transport", self.transport, "--port", str(self.port)]
        self.process = subprocess.Popen(command, cwd=REPO_ROOT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not is_listening(self.port):
            if self.process.poll() is not None:
                pytest.fail(f"the {self.transport} test server exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                pytest.fail(f"the {self.transport} test server did not listen on {self.port} in {STARTUP_TIMEOUT}s")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def running(transport: str) -> Iterator[ServerProcess]:
    server = ServerProcess(transport)
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def http_server() -> Iterator[ServerProcess]:
    with running("http") as server:
        yield server


@pytest.fixture(scope="module")
def sse_server() -> Iterator[ServerProcess]:
    with running("sse") as server:
        yield server


@pytest.fixture
def restartable_http_server() -> Iterator[ServerProcess]:
    """A server of this test's own, since the test kills it."""
    with running("http") as server:
        yield server


def stdio_spec(env: dict[str, str] | None = None, timeout: float = 30.0) -> McpServerSpec:
    return McpServerSpec(
        transport="stdio",
        command=sys.executable,
        args=("-m", SERVER_MODULE, "--transport", "stdio"),
        env=env or {},
        cwd=str(REPO_ROOT),
        timeout=timeout,
    )


@asynccontextmanager
async def started(spec: McpServerSpec, name: str = "test") -> AsyncIterator[McpUpstream]:
    upstream = McpUpstream(name, spec)
    await upstream.start()
    try:
        yield upstream
    finally:
        await upstream.aclose()


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def call(upstream: McpUpstream, tool: str, /, **arguments: Any) -> types.CallToolResult:
    return await upstream.call_tool(tool, arguments)


async def assert_serves_the_test_tools(upstream: McpUpstream, transport: str) -> None:
    assert upstream.health.state == "healthy", upstream.health
    assert upstream.health.detail == f"{len(TEST_TOOLS)} tools"
    # Exactly as listed upstream: `repo.get` is valid MCP but not valid for every provider, and renaming it is
    # the registry's job.
    tools = {tool.name: tool for tool in upstream.tools()}
    assert list(tools) == TEST_TOOLS
    assert tools["add"].input_schema["required"] == ["a", "b"]
    assert tools["add"].output_schema is not None

    echoed = await call(upstream, "echo", text="héllo")
    assert not echoed.is_error
    assert text_of(echoed) == "héllo"

    added = await call(upstream, "add", a=2, b=40)
    assert not added.is_error
    assert added.structured_content == {"result": 42}

    failed = await call(upstream, "fail", message="the upstream said no")
    assert failed.is_error
    assert text_of(failed) == "Error executing tool fail: the upstream said no"

    contradicting = await call(upstream, "wrong_output")
    assert contradicting.is_error
    assert text_of(contradicting) == (
        "server 'test': returned an invalid result for 'wrong_output': "
        "Invalid structured content returned by tool wrong_output: 'not a number' is not of type 'integer'"
    )

    identity = await call(upstream, "whoami")
    assert identity.structured_content is not None
    assert identity.structured_content["transport"] == transport


async def test_stdio_upstream_lists_and_calls_tools_with_the_configured_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PRIVATE_SETTING", "not-for-children")
    async with started(stdio_spec(env={"TEST_UPSTREAM_VALUE": "passed-through"})) as upstream:
        await assert_serves_the_test_tools(upstream, "stdio")
        configured = await call(upstream, "env_value", name="TEST_UPSTREAM_VALUE")
        private = await call(upstream, "env_value", name="GATEWAY_PRIVATE_SETTING")
        path = await call(upstream, "env_value", name="PATH")
    assert text_of(configured) == "passed-through"
    # Like Claude Desktop, the SDK gives a child only a safe base set (PATH, HOME, ...) plus its configured env.
    assert text_of(private) == ""
    assert text_of(path) == os.environ["PATH"]


async def test_streamable_http_upstream_lists_and_calls_tools_and_sends_headers(http_server: ServerProcess) -> None:
    spec = McpServerSpec(transport="http", url=http_server.url, headers={"X-Test-Header": "from-gateway"})
    async with started(spec) as upstream:
        await assert_serves_the_test_tools(upstream, "http")
        identity = await call(upstream, "whoami")
        assert identity.structured_content is not None
        assert identity.structured_content["x_test_header"] == "from-gateway"


async def test_concurrent_calls_share_one_connection(http_server: ServerProcess) -> None:
    async with started(McpServerSpec(transport="http", url=http_server.url)) as upstream:
        answers: dict[int, str] = {}

        async def echo(index: int) -> None:
            answers[index] = text_of(await call(upstream, "echo", text=f"call {index}"))

        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(echo, index)
    assert answers == {index: f"call {index}" for index in range(20)}


async def test_sse_upstream_lists_and_calls_tools_and_sends_headers(sse_server: ServerProcess) -> None:
    spec = McpServerSpec(transport="sse", url=sse_server.url, headers={"X-Test-Header": "from-gateway"})
    async with started(spec) as upstream:
        await assert_serves_the_test_tools(upstream, "sse")
        identity = await call(upstream, "whoami")
        assert identity.structured_content is not None
        assert identity.structured_content["x_test_header"] == "from-gateway"


async def test_a_command_that_does_not_exist_leaves_the_upstream_unhealthy() -> None:
    spec = McpServerSpec(transport="stdio", command="no-such-mcp-server-command", env={"API_TOKEN": "secret-token"})
    async with started(spec, name="ghost") as upstream:
        assert upstream.health.state == "unhealthy"
        assert upstream.health.detail.startswith(
            "server 'ghost': cannot connect to command 'no-such-mcp-server-command': FileNotFoundError"
        ), upstream.health.detail
        assert "secret-token" not in upstream.health.detail
        assert upstream.tools() == []

        result = await call(upstream, "echo", text="anyone?")
        assert result.is_error
        assert text_of(result).startswith("server 'ghost': cannot connect to command 'no-such-mcp-server-command'")


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_a_closed_port_leaves_the_upstream_unhealthy_without_leaking_secrets(transport: McpTransport) -> None:
    port = free_port()
    url = f"http://user:url-password@127.0.0.1:{port}/mcp?token=query-secret"
    spec = McpServerSpec(transport=transport, url=url, headers={"Authorization": "Bearer header-secret"})
    async with started(spec, name="closed") as upstream:
        detail = upstream.health.detail
        assert upstream.health.state == "unhealthy"
        assert detail.startswith(f"server 'closed': cannot connect to http://127.0.0.1:{port}/mcp: "), detail
        for secret in ("url-password", "query-secret", "header-secret"):
            assert secret not in detail
        assert upstream.tools() == []

        result = await call(upstream, "echo", text="anyone?")
        assert result.is_error
        assert text_of(result) == detail


async def test_a_restarted_http_upstream_recovers_on_the_next_call(restartable_http_server: ServerProcess) -> None:
    server = restartable_http_server
    async with started(McpServerSpec(transport="http", url=server.url), name="flaky") as upstream:
        assert not (await call(upstream, "echo", text="before")).is_error

        server.kill()
        during = await call(upstream, "echo", text="during")
        assert during.is_error
        assert text_of(during).startswith("server 'flaky': connection lost"), text_of(during)
        assert upstream.health.state == "unhealthy"

        await anyio.to_thread.run_sync(server.start)
        after = await call(upstream, "echo", text="after")
        assert not after.is_error, text_of(after)
        assert text_of(after) == "after"
        assert upstream.health == Health("healthy", f"{len(TEST_TOOLS)} tools")


async def test_a_dead_stdio_child_is_reported_then_restarted_on_the_next_call() -> None:
    async with started(stdio_spec(), name="child") as upstream:
        first = await call(upstream, "whoami")
        assert first.structured_content is not None
        os.kill(first.structured_content["pid"], signal.SIGKILL)

        lost = await call(upstream, "whoami")
        assert lost.is_error
        assert text_of(lost) == "server 'child': connection lost (Connection closed)"
        assert upstream.health.state == "unhealthy"
        assert upstream.health.detail.startswith(f"server 'child': connection to command '{sys.executable}' lost")

        second = await call(upstream, "whoami")
        assert second.structured_content is not None, text_of(second)
        assert second.structured_content["pid"] != first.structured_content["pid"]
        assert upstream.health == Health("healthy", f"{len(TEST_TOOLS)} tools")


async def test_a_call_over_the_timeout_is_an_error_and_the_connection_stays_usable(
    http_server: ServerProcess,
) -> None:
    async with started(McpServerSpec(transport="http", url=http_server.url, timeout=1.0)) as upstream:
        slow = await call(upstream, "slow", seconds=30)
        assert slow.is_error
        assert "did not answer within 1s" in text_of(slow)
        assert upstream.health.state == "healthy"
        assert text_of(await call(upstream, "echo", text="still here")) == "still here"


async def test_aclose_terminates_the_stdio_child() -> None:
    upstream = McpUpstream("child", stdio_spec())
    await upstream.start()
    try:
        identity = await call(upstream, "whoami")
        assert identity.structured_content is not None
        pid = identity.structured_content["pid"]
        assert process_exists(pid)
    finally:
        await upstream.aclose()
    assert not process_exists(pid)
    after_close = await call(upstream, "echo", text="late")
    assert after_close.is_error
    assert text_of(after_close) == "server 'child' is closed"


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_list_all_tools_follows_every_page() -> None:
    names = [f"tool{index}" for index in range(7)]

    async def list_in_pages_of_three(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        start = int(params.cursor) if params is not None and params.cursor else 0
        page = [types.Tool(name=name, input_schema={"type": "object"}) for name in names[start : start + 3]]
        next_cursor = str(start + 3) if start + 3 < len(names) else None
        return types.ListToolsResult(tools=page, next_cursor=next_cursor)

    server = Server("paged", on_list_tools=list_in_pages_of_three)
    async with Client(server, cache=None) as client:
        assert [tool.name for tool in await list_all_tools(client)] == names


def test_a_bearer_token_echoed_without_its_scheme_is_still_masked() -> None:
    spec = McpServerSpec(transport="http", url="http://127.0.0.1:9/mcp", headers={"Authorization": "Bearer tok-123456"})
    upstream = McpUpstream("quiet", spec)
    assert upstream._redact("401: invalid token tok-123456") == "401: invalid token ***"
