"""An upstream that serves only the 2026-07-28 era works through the gateway, for clients of either era.

The upstream is tests/e2e/relay_upstream.py with `--modern-only`: it refuses the `initialize` handshake. The
gateway tries the handshake, is refused, and lets the SDK negotiate (upstreams/era.py); `/mcp/{server}` and
`/mcp` then carry its tools, prompts, resources and completion as a direct modern-era client sees them, and
advertise what it offers. What the modern era does differently is translated: list changes and a client's
resource subscriptions are listened for, what the upstream asks a client comes as "input required" results, and
a client's log level is stamped on each of its requests.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, MCPError
from mcp.client.session import ClientRequestContext

from tests.e2e.gateway_process import (
    LOOPBACK,
    Gateway,
    free_port,
    launch_process,
    port_ready,
    result_text,
    running_gateway,
    stopping,
    write_config,
)

MODERN_ERA = "2026-07-28"
ERAS = ["legacy", MODERN_ERA]

# Logging is deprecated in the 2026-07-28 era, and relayed all the same.
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
ERA_FIELDS = ("resultType", "ttlMs", "cacheScope")
"""Fields only the 2026-07-28 era has on results; everything else must be what a direct client gets."""


@pytest.fixture(scope="module")
def modern_url(e2e_log_dir: Path) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "tests.e2e.relay_upstream", "--transport", "http", "--port", str(port),
        "--modern-only", "--label", "modern",
    ]
    process = launch_process(f"modern-upstream-{port}", command, log_dir=e2e_log_dir)
    with stopping(process):
        process.wait_until_ready(port_ready(port))
        yield f"http://{LOOPBACK}:{port}/mcp"


@pytest.fixture(scope="module")
def gateway(modern_url: str, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path) -> Iterator[Gateway]:
    config = write_config(tmp_path_factory.mktemp("modern-gateway"), {"modern": {"url": modern_url}})
    with running_gateway(config, e2e_log_dir) as running:
        yield running


def _dump(model: Any) -> Any:
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    for field in ERA_FIELDS:
        dumped.pop(field, None)
    meta = dumped.get("_meta") or {}
    meta.pop("io.modelcontextprotocol/serverInfo", None)
    if "_meta" in dumped and not meta:
        dumped.pop("_meta")
    return dumped


async def _everything(client: Client, prefix: str = "") -> list[Any]:
    first = await client.list_prompts()
    assert first.next_cursor is not None
    second = await client.list_prompts(cursor=first.next_cursor)
    greet = types.PromptReference(name=f"{prefix}greet")
    note = types.ResourceTemplateReference(uri="memo://notes/{id}")
    return [
        [prompt.name.removeprefix(prefix) for prompt in [*first.prompts, *second.prompts]],
        _dump(await client.get_prompt(f"{prefix}greet", {"name": "Ada"})),
        _dump(await client.list_resources()),
        _dump(await client.list_resource_templates()),
        _dump(await client.read_resource("memo://text")),
        _dump(await client.read_resource("memo://blob")),
        _dump(await client.read_resource("memo://notes/7")),
        _dump(await client.complete(greet, {"name": "name", "value": "A"})),
        _dump(await client.complete(note, {"name": "id", "value": "4"})),
        _dump(await client.call_tool(f"{prefix}rich", {"n": 3})),
    ]


def _error_codes(error: BaseException) -> list[int]:
    """The JSON-RPC error codes inside `error` (the SDK raises them out of a connect within exception groups)."""
    if isinstance(error, BaseExceptionGroup):
        return [code for inner in error.exceptions for code in _error_codes(inner)]
    return [error.code] if isinstance(error, MCPError) else []


@pytest.mark.anyio
async def test_the_upstream_refuses_the_handshake(modern_url: str) -> None:
    """What makes this upstream modern-only: a handshake-era client cannot connect to it directly."""
    try:
        async with Client(modern_url, mode="legacy"):
            pass
    except Exception as error:
        refused = error
    else:
        pytest.fail("a handshake-era client connected to the modern-only upstream")
    assert _error_codes(refused) == [types.UNSUPPORTED_PROTOCOL_VERSION]
    async with Client(modern_url, mode="auto") as direct:
        assert direct.protocol_version == MODERN_ERA


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_the_endpoint_serves_the_modern_upstream_as_a_direct_client_sees_it(
    gateway: Gateway, modern_url: str, mode: Any
) -> None:
    async with Client(modern_url, mode="auto") as direct:
        expected = await _everything(direct)
        expected_tools = [tool.name for tool in (await direct.list_tools()).tools]
    async with gateway.client("modern", mode=mode) as relayed:
        got = await _everything(relayed)
        tools = [tool.name for tool in (await relayed.list_tools()).tools]
        whoami = result_text(await relayed.call_tool("whoami", {}))
    assert len(got[0]) == 121 and got[4]["contents"][0]["text"] == "memo text from modern"
    assert got == expected
    assert tools == expected_tools
    assert whoami.startswith("session ")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_the_aggregate_endpoint_serves_it_under_prefixed_names(
    gateway: Gateway, modern_url: str, mode: Any
) -> None:
    async with Client(modern_url, mode="auto") as direct:
        expected = await _everything(direct)
    async with gateway.client(mode=mode) as aggregated:
        got = await _everything(aggregated, prefix="modern-")
        tools = {tool.name for tool in (await aggregated.list_tools()).tools}
    assert got == expected
    assert {"modern-whoami", "modern-rich", "modern-progress"} <= tools


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])  # "auto" discovers, then speaks the modern era
async def test_it_has_the_upstreams_identity_and_capabilities(gateway: Gateway, mode: Any) -> None:
    async with gateway.client("modern", mode=mode) as client:
        info, capabilities, era = client.server_info, client.server_capabilities, client.protocol_version
    assert (era == MODERN_ERA) == (mode == "auto")
    assert info is not None and (info.name, info.version) == ("relay-upstream", "1.2.3")
    assert capabilities.prompts is not None and capabilities.completions is not None
    assert capabilities.resources is not None and capabilities.resources.subscribe
    assert capabilities.logging is not None
    assert gateway.server_status("modern")["health"] == "healthy"


@pytest.mark.anyio
async def test_resource_updates_reach_only_the_subscriber(gateway: Gateway) -> None:
    """`resources/subscribe` does not exist in the modern era: the subscriber's own upstream session listens
    for the URIs it subscribed to (`subscriptions/listen`)."""
    updates: dict[str, list[str]] = {"subscriber": [], "bystander": []}

    def recorder(name: str) -> Any:
        async def record(message: Any) -> None:
            if isinstance(message, types.ResourceUpdatedNotification):
                updates[name].append(str(message.params.uri))

        return record

    url = gateway.server_url("modern")
    async with Client(url, mode="legacy", message_handler=recorder("subscriber")) as watching, \
            Client(url, mode="legacy", message_handler=recorder("bystander")) as other:
        await watching.subscribe_resource("memo://text")
        await other.call_tool("touch", {"uri": "memo://text"})
        await other.call_tool("touch", {"uri": "memo://blob"})
        with anyio.fail_after(10):
            while not updates["subscriber"]:
                await anyio.sleep(0.05)
        await watching.unsubscribe_resource("memo://text")
        await other.call_tool("touch", {"uri": "memo://text"})
        await watching.call_tool("whoami", {})
        await anyio.sleep(0.3)
    assert updates == {"subscriber": ["memo://text"], "bystander": []}


def _asking_client(url: str, name: str, mode: Any = "legacy") -> Client:
    """A client that answers sampling, elicitation and roots requests with its own `name`."""

    async def sample(context: ClientRequestContext, params: types.CreateMessageRequestParams) -> Any:
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text=f"{name}-llm"), model=f"model-{name}"
        )

    async def elicit(context: ClientRequestContext, params: types.ElicitRequestParams) -> Any:
        return types.ElicitResult(action="accept", content={"name": name})

    async def roots(context: ClientRequestContext) -> Any:
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///{name}")])

    return Client(url, mode=mode, sampling_callback=sample, elicitation_callback=elicit, list_roots_callback=roots)


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "server"), [("legacy", "modern"), (MODERN_ERA, "modern"), (MODERN_ERA, None)])
async def test_what_the_upstream_asks_is_answered_by_the_client_whose_call_needs_it(
    gateway: Gateway, mode: Any, server: str | None
) -> None:
    """The modern era asks by an "input required" result. A handshake-era client is asked by the gateway (a
    server-to-client request on its call's stream), which then calls again with the answer; a modern-era client
    gets the result itself, answers, and calls again through the gateway."""
    answers: dict[str, list[str]] = {}
    url = gateway.server_url(server) if server is not None else gateway.mcp_url
    prefix = "" if server is not None else "modern-"

    async def run(name: str) -> None:
        async with _asking_client(url, name, mode) as client:
            answers[name] = [
                result_text(await client.call_tool(prefix + tool, arguments))
                for tool, arguments in (("sample", {"prompt": "hi"}), ("elicit", {"question": "who?"}),
                                        ("roots", {}))
            ]

    async with anyio.create_task_group() as group:
        for name in ("alice", "bob"):
            group.start_soon(run, name)
    for name in ("alice", "bob"):
        sampled, elicited, roots = answers[name]
        assert sampled.endswith(f"sampled: {name}-llm (model-{name})"), sampled
        assert elicited.endswith(f"elicited: accept {{'name': '{name}'}}"), elicited
        assert roots.endswith(f"roots: file:///{name}"), roots


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", MODERN_ERA])
async def test_a_prompt_that_asks_is_answered_by_the_client_that_gets_it(gateway: Gateway, mode: Any) -> None:
    """prompts/get as tools/call above: a handshake-era client is asked by the gateway on its own upstream session;
    a modern-era client answers the "input required" result itself."""
    texts: dict[str, str] = {}

    async def run(name: str) -> None:
        async with _asking_client(gateway.server_url("modern"), name, mode) as client:
            prompt = await client.get_prompt("ask_name")
            content = prompt.messages[0].content
            assert isinstance(content, types.TextContent), content
            texts[name] = content.text

    async with anyio.create_task_group() as group:
        for name in ("alice", "bob"):
            group.start_soon(run, name)
    assert texts == {"alice": "Hello, alice!", "bob": "Hello, bob!"}


@pytest.mark.anyio
async def test_a_client_that_cannot_answer_gets_a_clear_error(gateway: Gateway) -> None:
    async with gateway.client("modern", mode="legacy") as old:
        result = await old.call_tool("sample", {"prompt": "hi"})
    # A modern-era client gets the question itself, and its own SDK says it cannot answer.
    async with gateway.client("modern", mode=MODERN_ERA) as modern:
        with pytest.raises(MCPError) as refused:
            await modern.call_tool("sample", {"prompt": "hi"})
    assert result.is_error
    assert "did not declare this capability" in result_text(result), result_text(result)
    assert "Sampling not supported" in refused.value.message


@pytest.mark.anyio
async def test_each_client_gets_its_own_logs_at_the_level_it_set(gateway: Gateway) -> None:
    """`logging/setLevel` has no upstream session to set in the modern era: the client's level rides on each of
    its requests instead, and the upstream's log messages come back to that client alone."""
    logs: dict[str, list[types.LoggingMessageNotificationParams]] = {"alice": [], "bob": []}

    async def run(name: str, level: types.LoggingLevel, expected: int) -> None:
        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            logs[name].append(params)

        async with Client(gateway.server_url("modern"), mode="legacy", logging_callback=on_log) as client:
            await client.set_logging_level(level)
            assert result_text(await client.call_tool("log", {"text": name})).endswith("logged")
            with anyio.fail_after(10):
                while len(logs[name]) < expected:
                    await anyio.sleep(0.02)
            await anyio.sleep(0.1)  # and no more than that

    async with anyio.create_task_group() as group:
        group.start_soon(run, "alice", "warning", 1)
        group.start_soon(run, "bob", "info", 3)
    assert [entry.level for entry in logs["alice"]] == ["warning"]
    assert [entry.level for entry in logs["bob"]] == ["info", "notice", "warning"]
    for name, entries in logs.items():
        assert all(str(entry.data).endswith(f": {name}") for entry in entries)


@pytest.mark.anyio
@pytest.mark.parametrize("server", ["modern", None])
async def test_its_list_changes_reach_clients_of_the_gateway(gateway: Gateway, server: str | None) -> None:
    """The upstream announces a new tool on its `subscriptions/listen` stream (the modern era has no other);
    the gateway lists its tools again and tells its own clients."""
    heard: list[Any] = []

    async def on_message(message: Any) -> None:
        heard.append(message)

    added = f"extra_{server or 'all'}"
    name = added if server is not None else f"modern-{added}"
    url = gateway.server_url(server) if server is not None else gateway.mcp_url
    async with Client(url, mode="legacy", message_handler=on_message) as client:
        assert name not in {tool.name for tool in (await client.list_tools()).tools}
        await client.call_tool("add_tool" if server is not None else "modern-add_tool", {"name": added})
        with anyio.fail_after(10):
            while not any(isinstance(item, types.ToolListChangedNotification) for item in heard):
                await anyio.sleep(0.05)
        assert name in {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.anyio
@pytest.mark.timeout(90)
async def test_a_modern_upstream_that_goes_down_is_noticed_without_a_call(
    tmp_path: Path, e2e_log_dir: Path
) -> None:
    """Noticed by the shared session's `subscriptions/listen` stream, which breaks (an upstream that does not
    serve it is probed with `server/discover` when idle: the modern era has no `ping`)."""
    port = free_port()
    command = [
        sys.executable, "-m", "tests.e2e.relay_upstream", "--transport", "http", "--port", str(port), "--modern-only",
    ]
    process = launch_process(f"modern-doomed-{port}", command, log_dir=e2e_log_dir)
    with stopping(process):
        process.wait_until_ready(port_ready(port))
        config = write_config(tmp_path, {"doomed": {"url": f"http://{LOOPBACK}:{port}/mcp"}})
        with running_gateway(config, e2e_log_dir, extra_args=["--retry-interval", "0"]) as gateway:
            assert gateway.server_status("doomed")["health"] == "healthy"
            process.stop()
            with anyio.move_on_after(45):
                while gateway.server_status("doomed")["health"] == "healthy":
                    await anyio.sleep(0.1)
            status = gateway.server_status("doomed")
    assert status["health"] == "unhealthy", status
