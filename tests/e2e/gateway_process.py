"""Start and stop the real processes the end-to-end tests talk to: the gateway and its upstreams.

Every process runs from the repository root with this interpreter, writes its output to a log file (never a
pipe nobody reads), must become ready within a bounded time, and is always stopped — terminate, then kill.
A process that dies or never becomes ready raises `ProcessFailedToStart` carrying the tail of its log, so a
failing fixture says why instead of timing out somewhere else.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_gateway.http import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = REPO_ROOT / "specs"
UPSTREAM_API_SPEC = Path(__file__).resolve().parent / "upstream_api.yaml"
LOOPBACK = "127.0.0.1"

READY_TIMEOUT_SECONDS = 30.0
"""Importing the mcp SDK alone takes about 3 s on an idle machine, and several times that on a busy one."""
SETTLE_TIMEOUT_SECONDS = 30.0
"""How long every configured server may stay "starting" after the gateway answers /health."""
STOP_TIMEOUT_SECONDS = 5.0
_POLL_INTERVAL_SECONDS = 0.05
_LOG_TAIL_CHARACTERS = 4000

McpTransport = Literal["stdio", "http", "sse"]
ConnectMode = Literal["legacy", "auto", "2026-07-28"]


class ProcessFailedToStart(RuntimeError):
    """A process exited or did not become ready in time; the message ends with its log."""


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it, so parallel runs do not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def http_ready(url: str) -> Callable[[], bool]:
    """Readiness probe: GET `url` answers 200."""

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def port_ready(port: int) -> Callable[[], bool]:
    """Readiness probe: something accepts TCP connections on the loopback port."""

    def probe() -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1.0):
                return True
        except OSError:
            return False

    return probe


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self) -> str:
        return self.log()[-_LOG_TAIL_CHARACTERS:]

    def is_running(self) -> bool:
        return self.popen.poll() is None

    def wait_until_ready(self, ready: Callable[[], bool], timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Poll `ready()`; stop the process and raise with its log if it dies or time runs out."""
        command = " ".join(str(arg) for arg in self.popen.args) if isinstance(self.popen.args, list) else ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise ProcessFailedToStart(
                    f"{self.name} exited with code {self.popen.returncode} before it was ready: {command}\n"
                    f"--- log ---\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(_POLL_INTERVAL_SECONDS)
        self.stop()
        raise ProcessFailedToStart(
            f"{self.name} was not ready after {timeout:.0f}s: {command}\n--- log ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)


def launch_process(
    name: str, args: Sequence[str], *, log_dir: Path, env: Mapping[str, str] | None = None
) -> ManagedProcess:
    """Start `args` from the repository root without waiting for it; see `ManagedProcess.wait_until_ready`."""
    log_path = log_dir / f"{name}.log"
    process_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log_file:
        popen = subprocess.Popen(
            list(args), cwd=REPO_ROOT, env=process_env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file
        )
    return ManagedProcess(name, popen, log_path)


def start_process(
    name: str,
    args: Sequence[str],
    *,
    ready: Callable[[], bool],
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = READY_TIMEOUT_SECONDS,
) -> ManagedProcess:
    """Start `args` and wait until `ready()` is true, the process dies, or time runs out."""
    process = launch_process(name, args, log_dir=log_dir, env=env)
    process.wait_until_ready(ready, timeout)
    return process


@contextmanager
def stopping(process: ManagedProcess) -> Iterator[ManagedProcess]:
    """Yield the process and stop it however the block ends."""
    try:
        yield process
    finally:
        process.stop()


@dataclass
class UpstreamAPI:
    """The echo API of tests/e2e/upstream_api.py, running as its own process."""

    base_url: str
    process: ManagedProcess

    def received_requests(self) -> list[dict[str, Any]]:
        """What the API received (as its echo describes it) since the last `forget_received()`, oldest first."""
        requests: list[dict[str, Any]] = httpx.get(f"{self.base_url}/__received").json()["requests"]
        return requests

    def received_paths(self) -> list[str]:
        return [request["raw_path"] for request in self.received_requests()]

    def forget_received(self) -> None:
        httpx.delete(f"{self.base_url}/__received").raise_for_status()


@contextmanager
def running_upstream_api(log_dir: Path) -> Iterator[UpstreamAPI]:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    args = [sys.executable, "-m", "tests.e2e.upstream_api", "--host", LOOPBACK, "--port", str(port)]
    process = start_process("upstream-api", args, ready=http_ready(f"{base_url}/__healthz"), log_dir=log_dir)
    with stopping(process):
        yield UpstreamAPI(base_url, process)


def mcp_upstream_command(transport: McpTransport, *, port: int | None = None, tools: int = 0) -> list[str]:
    """The command line of tests/e2e/mcp_upstream.py; also what a stdio entry in servers.json runs."""
    command = [sys.executable, "-m", "tests.e2e.mcp_upstream", "--transport", transport]
    if port is not None:
        command += ["--host", LOOPBACK, "--port", str(port)]
    if tools:
        command += ["--tools", str(tools)]
    return command


def stdio_server_entry(*, tools: int = 0, **fields: Any) -> dict[str, Any]:
    """A servers.json entry that makes the gateway launch the test MCP server over stdio."""
    command, *args = mcp_upstream_command("stdio", tools=tools)
    return {"command": command, "args": args, "cwd": str(REPO_ROOT), **fields}


@dataclass
class McpUpstream:
    """A test MCP server listening on HTTP: `url` is its streamable-HTTP or SSE endpoint."""

    url: str
    process: ManagedProcess


@contextmanager
def running_mcp_upstreams(
    transports: Sequence[Literal["http", "sse"]], log_dir: Path, *, tools: int = 0
) -> Iterator[dict[str, McpUpstream]]:
    """One test MCP server per transport, launched together (each spends seconds importing the SDK)."""
    with ExitStack() as stack:
        launched: list[tuple[str, int, ManagedProcess]] = []
        for transport in transports:
            port = free_port()
            command = mcp_upstream_command(transport, port=port, tools=tools)
            process = launch_process(f"mcp-upstream-{transport}-{port}", command, log_dir=log_dir)
            stack.callback(process.stop)
            endpoint = "/mcp" if transport == "http" else "/sse"
            launched.append((f"http://{LOOPBACK}:{port}{endpoint}", port, process))
        upstreams: dict[str, McpUpstream] = {}
        for (url, port, process), transport in zip(launched, transports, strict=True):
            process.wait_until_ready(port_ready(port))
            upstreams[transport] = McpUpstream(url, process)
        yield upstreams


@dataclass
class Gateway:
    """A running `mcp-gateway serve` process and the config it was started with."""

    base_url: str
    config_path: Path
    process: ManagedProcess

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def server_url(self, server: str) -> str:
        return f"{self.base_url}/mcp/{server}"

    def client(self, server: str | None = None, *, mode: ConnectMode = "auto") -> Client:
        """An official MCP client for `/mcp`, or for `/mcp/{server}` when a server is named."""
        url = self.server_url(server) if server is not None else self.mcp_url
        return Client(url, mode=mode)

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.base_url}{path}", params=params, timeout=30.0)

    def get_json(self, path: str, **params: str) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, f"GET {path} -> {response.status_code}: {response.text[:500]}"
        return response.json()

    def server_status(self, name: str) -> dict[str, Any]:
        """This server's entry in GET /servers."""
        for entry in self.get_json("/servers"):
            if entry["name"] == name:
                return dict(entry)
        raise AssertionError(f"server {name!r} is not listed by GET /servers")

    def log(self) -> str:
        return self.process.log()

    def wait_until_settled(self, timeout: float = SETTLE_TIMEOUT_SECONDS) -> None:
        """Wait until no server is still "starting", so listings are complete (large specs load in the background)."""
        deadline = time.monotonic() + timeout
        starting = 0
        while time.monotonic() < deadline:
            # /health, not /servers: it answers without a key when the gateway requires keys.
            starting = self.get_json("/health")["servers"].get("starting", 0)
            if not starting:
                return
            time.sleep(_POLL_INTERVAL_SECONDS)
        raise ProcessFailedToStart(
            f"{starting} servers still starting after {timeout:.0f}s\n--- log ---\n{self.process.log_tail()}"
        )


def gateway_command(*args: str) -> list[str]:
    """`mcp-gateway ARGS` as this interpreter runs it (the console script is the same entry point)."""
    return [sys.executable, "-m", "mcp_gateway", *args]


def write_config(config_dir: Path, servers: Mapping[str, Any], **top_level: Any) -> Path:
    """Write servers.json (mcpServers format) into `config_dir`; extra top-level keys are written as given."""
    config_path = config_dir / "servers.json"
    config_path.write_text(json.dumps({**top_level, "mcpServers": dict(servers)}, indent=2), encoding="utf-8")
    return config_path


@contextmanager
def running_gateway(
    config_path: Path,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[Gateway]:
    """Serve `config_path` on a free loopback port until the block ends.

    Ready once GET /health answers 200 and no server is still starting.
    """
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    args = gateway_command("serve", "--config", str(config_path), "--host", LOOPBACK, "--port", str(port), *extra_args)
    process = start_process(
        f"gateway-{config_path.parent.name}-{port}",
        args,
        ready=http_ready(f"{base_url}/health"),
        log_dir=log_dir,
        env=env,
    )
    with stopping(process):
        gateway = Gateway(base_url, config_path, process)
        gateway.wait_until_settled()
        yield gateway


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `mcp-gateway ARGS` to completion and capture its output."""
    return subprocess.run(
        gateway_command(*args),
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class CliRuns:
    """Several `mcp-gateway` commands running at once (each spends seconds importing), collected by key."""

    def __init__(self, commands: Mapping[str, Sequence[str]], *, timeout: float = 120.0) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(commands)))
        self._runs = {key: self._pool.submit(run_cli, *args, timeout=timeout) for key, args in commands.items()}

    def __getitem__(self, key: str) -> subprocess.CompletedProcess[str]:
        """Wait for one command to finish and return it."""
        return self._runs[key].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@asynccontextmanager
async def keyed_client(url: str, headers: Mapping[str, str], mode: ConnectMode = "auto") -> AsyncIterator[Client]:
    """The official MCP client sending `headers` on every request, as Cursor does with its `headers` setting."""
    async with (
        httpx.AsyncClient(headers=dict(headers), timeout=30.0) as http_client,
        Client(streamable_http_client(url, http_client=http_client), mode=mode) as client,
    ):
        yield client


async def list_all_tools(client: Client) -> list[types.Tool]:
    """Every tool, following `next_cursor` page by page (a bounded number of pages)."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(1000):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools
    raise AssertionError("tools/list kept returning a next_cursor after 1000 pages")


def result_text(result: types.CallToolResult) -> str:
    """All text content of a tool result, joined by newlines."""
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def definition_names(definitions: list[dict[str, Any]]) -> list[str]:
    """Tool names from provider tool definitions, whatever the provider's wrapper looks like."""
    found: list[str] = []
    for definition in definitions:
        if isinstance(definition.get("function"), dict):  # OpenAI Chat Completions, Mistral
            found.append(definition["function"]["name"])
        elif isinstance(definition.get("functionDeclarations"), list):  # Gemini
            found.extend(declaration["name"] for declaration in definition["functionDeclarations"])
        elif isinstance(definition.get("toolSpec"), dict):  # Bedrock Converse
            found.append(definition["toolSpec"]["name"])
        else:  # Anthropic, OpenAI Responses, Cohere-style flat definitions
            found.append(definition["name"])
    return found


def original_names(name_map: Mapping[str, Any], provider_names: Sequence[str]) -> list[str]:
    """Undo a provider name map: `{"forward", "reverse"}` (as `NameMap` has it) or a flat provider -> original map."""
    reverse = name_map["reverse"] if isinstance(name_map.get("reverse"), dict) else name_map
    return [reverse.get(name, name) for name in provider_names]
