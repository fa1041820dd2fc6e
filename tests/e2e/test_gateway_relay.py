"""`/mcp/{server}` relays its upstream: identity, capabilities, prompts, resources, templates, subscriptions,
completion, logging, progress, cancellation, sampling, elicitation, roots and list changes, the same as a direct
connection gives, and never one client's traffic to another.

The upstream is tests/e2e/relay_upstream.py, over streamable HTTP (compared with a direct connection) and stdio.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.session import ClientRequestContext

from tests.e2e.gateway_process import (
    LOOPBACK,
    REPO_ROOT,
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

# Logging and resources/subscribe are deprecated in the 2026-07-28 era, and relayed all the same.
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


@pytest.fixture(scope="module")
def relay_url(e2e_log_dir: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "tests.e2e.relay_upstream", "--transport", "http", "--port", str(port)]
    process = launch_process(f"relay-upstream-{port}", command, log_dir=e2e_log_dir)
    with stopping(process):
        process.wait_until_ready(port_ready(port))
        yield f"http://{LOOPBACK}:{port}/mcp"


@pytest.fixture(scope="module")
def gateway(relay_url: str, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path) -> Iterator[Gateway]:
    stdio = {
        "command": sys.executable,
        "args": ["-m", "tests.e2e.relay_upstream", "--label", "local"],
        "cwd": str(REPO_ROOT),
    }
    config = write_config(tmp_path_factory.mktemp("relay-gateway"), {"relay": {"url": relay_url}, "local": stdio})
    with running_gateway(config, e2e_log_dir) as running:
        yield running


class Peer:
    """A client with every client capability, recording what reaches it; `name` tells two of them apart."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.logs: list[types.LoggingMessageNotificationParams] = []
        self.notifications: list[types.ServerNotification] = []
        self.sampled: list[types.CreateMessageRequestParams] = []
        self.elicited: list[types.ElicitRequestParams] = []
        self.roots_asked = 0

    def client(self, url: str, mode: Any = "legacy", **options: Any) -> Client:
        return Client(
            url,
            mode=mode,
            logging_callback=self._log,
            message_handler=self._message,
            sampling_callback=self._sample,
            elicitation_callback=self._elicit,
            list_roots_callback=self._roots,
            **options,
        )

    async def _log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def logs_settled(self, count: int) -> None:
        """Notifications are handled in tasks of their own: wait for `count` logs (then a moment for any more)."""
        with anyio.fail_after(10):
            while len(self.logs) < count:
                await anyio.sleep(0.02)
        await anyio.sleep(0.1)

    async def _message(self, message: Any) -> None:
        if not isinstance(message, Exception):
            self.notifications.append(message)

    async def _sample(self, context: ClientRequestContext, params: types.CreateMessageRequestParams) -> Any:
        self.sampled.append(params)
        return types.CreateMessageResult(role="assistant", content=types.TextContent(text=f"{self.name}-llm"),
                                         model=f"model-{self.name}")

    async def _elicit(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> Any:
        self.elicited.append(params)
        return types.ElicitResult(action="accept", content={"name": self.name})

    async def _roots(self, context: ClientRequestContext) -> Any:
        self.roots_asked += 1
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///{self.name}")])


ERA_FIELDS = ("resultType", "ttlMs", "cacheScope")
"""Fields only the 2026-07-28 era has on these results; the rest must be the same in both eras."""


def _dump(model: Any) -> Any:
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    for field in ERA_FIELDS:
        dumped.pop(field, None)
    meta = dumped.get("_meta") or {}
    if meta.pop("io.modelcontextprotocol/serverInfo", None) is not None:
        assert meta.get("io.modelcontextprotocol/serverInfo") is None
        if not meta:
            dumped.pop("_meta")
    return dumped


@pytest.mark.anyio
async def test_the_endpoint_has_the_upstreams_identity_and_capabilities(gateway: Gateway) -> None:
    async with gateway.client("relay", mode="legacy") as client:
        info, capabilities, instructions = client.server_info, client.server_capabilities, client.instructions
    assert info is not None and (info.name, info.version) == ("relay-upstream", "1.2.3")
    assert instructions == "Use the tools to exercise a relay."
    assert capabilities.prompts is not None and capabilities.prompts.list_changed
    assert capabilities.resources is not None and capabilities.resources.subscribe
    assert capabilities.logging is not None and capabilities.completions is not None
    assert capabilities.tools is not None and capabilities.tools.list_changed


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", MODERN_ERA])
async def test_prompts_resources_and_completion_are_what_a_direct_client_gets(
    gateway: Gateway, relay_url: str, mode: Any
) -> None:
    async def everything(client: Client) -> list[Any]:
        first = await client.list_prompts()
        assert first.next_cursor is not None
        second = await client.list_prompts(cursor=first.next_cursor)
        return [
            _dump(first),
            _dump(second),
            _dump(await client.get_prompt("greet", {"name": "Ada"})),
            _dump(await client.list_resources()),
            _dump(await client.list_resource_templates()),
            _dump(await client.read_resource("memo://text")),
            _dump(await client.read_resource("memo://blob")),
            _dump(await client.read_resource("memo://notes/7")),
            _dump(await client.complete(types.PromptReference(name="greet"), {"name": "name", "value": "A"})),
            _dump(await client.complete(types.ResourceTemplateReference(uri="memo://notes/{id}"),
                                        {"name": "id", "value": "4"})),
            _dump(await client.call_tool("rich", {"n": 3})),
        ]

    async with Client(relay_url, mode="legacy") as direct:
        expected = await everything(direct)
    async with gateway.client("relay", mode=mode) as relayed:
        got = await everything(relayed)
    assert len(got[0]["prompts"]) + len(got[1]["prompts"]) == 121
    assert got == expected


@pytest.mark.anyio
async def test_the_upstreams_errors_come_back_unchanged(gateway: Gateway) -> None:
    async with gateway.client("relay", mode="legacy") as client:
        with pytest.raises(MCPError) as unknown_prompt:
            await client.get_prompt("nope")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("memo://missing")
    assert unknown_prompt.value.code == types.INVALID_PARAMS and "Unknown prompt: nope" in unknown_prompt.value.message
    assert missing.value.code == -32002 and "memo://missing" in missing.value.message


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", MODERN_ERA])
async def test_two_clients_each_get_only_their_own_progress(gateway: Gateway, mode: Any) -> None:
    received: dict[int, list[tuple[float, float | None]]] = {3: [], 5: []}

    async def run(steps: int) -> str:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            received[steps].append((progress, total))

        async with gateway.client("relay", mode=mode) as client:
            return result_text(await client.call_tool("progress", {"steps": steps}, progress_callback=on_progress))

    async with anyio.create_task_group() as group:
        for steps in received:
            group.start_soon(run, steps)
    assert received[3] == [(step, 3) for step in (1, 2, 3)]
    assert received[5] == [(step, 5) for step in (1, 2, 3, 4, 5)]


@pytest.mark.anyio
@pytest.mark.parametrize("server", ["relay", "local"])
async def test_two_clients_each_get_only_their_own_logs_sampling_elicitation_and_roots(
    gateway: Gateway, server: str
) -> None:
    alice, bob = Peer("alice"), Peer("bob")
    answers: dict[str, list[str]] = {}

    async def run(peer: Peer, level: types.LoggingLevel) -> None:
        async with peer.client(gateway.server_url(server)) as client:
            await client.set_logging_level(level)
            texts = []
            for tool, arguments in (("log", {"text": peer.name}), ("sample", {"prompt": "hi"}),
                                    ("elicit", {"question": "who?"}), ("roots", {}), ("whoami", {})):
                texts.append(result_text(await client.call_tool(tool, arguments)))
            await peer.logs_settled(1 if level == "warning" else 4)
            answers[peer.name] = texts

    async with anyio.create_task_group() as group:
        group.start_soon(run, alice, "warning")
        group.start_soon(run, bob, "debug")
    for peer, other, levels in ((alice, bob, ["warning"]), (bob, alice, ["debug", "info", "notice", "warning"])):
        logged, sampled, elicited, roots, whoami = answers[peer.name]
        session = whoami.split(" level ")[0]
        assert logged == f"{session} logged"
        assert [entry.level for entry in peer.logs] == levels
        assert all(entry.data == f"{session}: {peer.name}" for entry in peer.logs)
        assert sampled == f"{session} sampled: {peer.name}-llm (model-{peer.name})"
        assert elicited == f"{session} elicited: accept {{'name': '{peer.name}'}}"
        assert roots == f"{session} roots: file:///{peer.name}"
        assert len(peer.sampled) == len(peer.elicited) == 1
        assert other.name not in str([entry.data for entry in peer.logs])
    assert answers["alice"][4] != answers["bob"][4]  # two upstream sessions, one per client


@pytest.mark.anyio
async def test_a_clients_roots_change_reaches_its_own_upstream_session(gateway: Gateway) -> None:
    peer = Peer("rooted")
    async with peer.client(gateway.server_url("relay")) as client:
        before = result_text(await client.call_tool("whoami", {}))
        await client.send_roots_list_changed()
        with anyio.fail_after(10):
            after = before
            while after == before:
                await anyio.sleep(0.05)
                after = result_text(await client.call_tool("whoami", {}))
    assert "roots_changed 0" in before and "roots_changed 1" in after


@pytest.mark.anyio
async def test_resource_updates_reach_only_the_subscriber(gateway: Gateway) -> None:
    subscriber, bystander = Peer("subscriber"), Peer("bystander")
    async with subscriber.client(gateway.server_url("relay")) as watching, \
            bystander.client(gateway.server_url("relay")) as other:
        await watching.subscribe_resource("memo://text")
        await other.call_tool("touch", {"uri": "memo://text"})
        with anyio.fail_after(10):
            while not subscriber.notifications:
                await anyio.sleep(0.05)
        await watching.unsubscribe_resource("memo://text")
        await other.call_tool("touch", {"uri": "memo://text"})
        await watching.call_tool("whoami", {})
    [update] = [item for item in subscriber.notifications if isinstance(item, types.ResourceUpdatedNotification)]
    assert str(update.params.uri) == "memo://text"
    assert not [item for item in bystander.notifications if isinstance(item, types.ResourceUpdatedNotification)]


@pytest.mark.anyio
async def test_a_cancelled_call_is_cancelled_upstream(gateway: Gateway) -> None:
    async with gateway.client("relay", mode="legacy") as client:
        before = result_text(await client.call_tool("whoami", {}))
        with anyio.move_on_after(0.5):
            await client.call_tool("slow", {"seconds": 30})
        with anyio.fail_after(10):
            after = before
            while after == before:
                await anyio.sleep(0.05)
                after = result_text(await client.call_tool("whoami", {}))
    counted_before = int(before.rsplit(" ", 1)[1])
    assert after.rsplit(" ", 1)[1] == str(counted_before + 1)


@pytest.mark.anyio
async def test_an_upstream_that_gives_up_on_its_request_cancels_it_at_the_client(gateway: Gateway) -> None:
    cancelled = anyio.Event()

    async def slow_llm(context: ClientRequestContext, params: types.CreateMessageRequestParams) -> Any:
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        return types.CreateMessageResult(role="assistant", content=types.TextContent(text="late"), model="m")

    async with Client(gateway.server_url("relay"), mode="legacy", sampling_callback=slow_llm) as client:
        with anyio.fail_after(20):
            answer = result_text(await client.call_tool("impatient", {"seconds": 0.5}))
            await cancelled.wait()
    assert answer.endswith("gave up")


@pytest.mark.anyio
async def test_an_upstream_tool_list_change_reaches_connected_clients(gateway: Gateway) -> None:
    watcher = Peer("watcher")
    async with watcher.client(gateway.server_url("local")) as watching, gateway.client(mode="legacy") as everything:
        await watching.list_tools()
        await everything.call_tool("local-add_tool", {"name": "fresh"})
        with anyio.fail_after(10):
            while not any(isinstance(item, types.ToolListChangedNotification) for item in watcher.notifications):
                await anyio.sleep(0.05)
        names = {tool.name for tool in (await watching.list_tools()).tools}
        prefixed = {tool.name for tool in (await everything.list_tools()).tools}
    assert "fresh" in names and "local-fresh" in prefixed


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", MODERN_ERA])
async def test_the_gateway_endpoint_prefixes_prompts_and_routes_resources_by_uri(gateway: Gateway, mode: Any) -> None:
    async with gateway.client(mode=mode) as client:
        capabilities = client.server_capabilities
        prompts: list[types.Prompt] = []
        cursor: str | None = None
        for _ in range(10):
            page = await client.list_prompts(cursor=cursor)
            prompts += page.prompts
            cursor = page.next_cursor
            if cursor is None:
                break
        greeting = await client.get_prompt("local-greet", {"name": "Grace"})
        completion = await client.complete(types.PromptReference(name="relay-greet"), {"name": "name", "value": "G"})
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
        text = await client.read_resource("memo://text")
        note = await client.read_resource("memo://notes/42")
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("greet")
    if mode == "legacy":  # a client pinned to the modern era does not ask (it synthesizes an empty discovery)
        assert capabilities.prompts is not None and capabilities.resources is not None
        assert capabilities.logging is not None and capabilities.completions is not None
    names = [prompt.name for prompt in prompts]
    assert len(names) == len(set(names)) == 242
    assert names[:2] == ["relay-greet", "relay-filler_000"] and "local-filler_119" in names
    assert isinstance(greeting.messages[0].content, types.TextContent)
    assert greeting.messages[0].content.text == "Hello, Grace!"
    assert completion.completion.values == ["Grace"]
    # Both servers list memo://text and the notes template: each appears once, and the first server answers.
    assert [str(resource.uri) for resource in resources] == ["memo://text", "memo://blob"]
    assert [template.uri_template for template in templates] == ["memo://notes/{id}"]
    assert isinstance(text.contents[0], types.TextResourceContents)
    assert text.contents[0].text == "memo text from relay"
    assert isinstance(note.contents[0], types.TextResourceContents) and note.contents[0].text == "note 42"
    assert unknown.value.code == types.INVALID_PARAMS


@pytest.mark.anyio
async def test_the_gateway_endpoint_sets_the_log_level_on_every_upstream_for_this_client_only(gateway: Gateway) -> None:
    quiet, chatty = Peer("quiet"), Peer("chatty")
    async with quiet.client(gateway.mcp_url) as first, chatty.client(gateway.mcp_url) as second:
        await first.set_logging_level("error")
        await second.set_logging_level("info")
        for client in (first, second):
            for server in ("relay", "local"):
                await client.call_tool(f"{server}-log", {"text": "x"})
        await chatty.logs_settled(6)
    assert quiet.logs == []
    assert [entry.level for entry in chatty.logs] == ["info", "notice", "warning"] * 2


@pytest.mark.anyio
async def test_the_stdio_front_door_relays_the_same_way(gateway: Gateway) -> None:
    peer = Peer("desktop")
    command = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_gateway", "--log-level", "warning", "stdio", "--config", str(gateway.config_path)],
        cwd=str(REPO_ROOT),
    )
    client = Client(command, mode="legacy", logging_callback=peer._log, message_handler=peer._message,
                    sampling_callback=peer._sample, elicitation_callback=peer._elicit, list_roots_callback=peer._roots)
    with anyio.fail_after(60):
        async with client:
            prompt = await client.get_prompt("relay-greet", {"name": "Alan"})
            await client.set_logging_level("warning")
            sampled = result_text(await client.call_tool("local-sample", {"prompt": "hi"}))
            logged = result_text(await client.call_tool("relay-log", {"text": "stdio"}))
            await peer.logs_settled(1)
            progress: list[float] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append(value)

            await client.call_tool("relay-progress", {"steps": 2}, progress_callback=on_progress)
            await client.call_tool("relay-add_tool", {"name": "via_stdio"})
            while not any(isinstance(item, types.ToolListChangedNotification) for item in peer.notifications):
                await anyio.sleep(0.05)
            names = {tool.name for tool in (await client.list_tools()).tools}
    assert isinstance(prompt.messages[0].content, types.TextContent)
    assert prompt.messages[0].content.text == "Hello, Alan!"
    assert sampled.endswith("sampled: desktop-llm (model-desktop)")
    assert logged.endswith("logged") and [entry.level for entry in peer.logs] == ["warning"]
    assert progress == [1, 2]
    assert "relay-via_stdio" in names


@pytest.mark.anyio
async def test_a_subscription_on_the_gateway_endpoint_goes_to_the_server_listing_the_uri(gateway: Gateway) -> None:
    subscriber = Peer("aggregated")
    async with subscriber.client(gateway.mcp_url) as watching, gateway.client(mode="legacy") as other:
        await watching.subscribe_resource("memo://notes/9")
        await other.call_tool("relay-touch", {"uri": "memo://notes/9"})
        with anyio.fail_after(10):
            while not any(isinstance(item, types.ResourceUpdatedNotification) for item in subscriber.notifications):
                await anyio.sleep(0.05)
    [update] = [item for item in subscriber.notifications if isinstance(item, types.ResourceUpdatedNotification)]
    assert str(update.params.uri) == "memo://notes/9"


@pytest.mark.anyio
async def test_a_modern_client_answers_what_the_upstream_asks_it_in_its_own_era(gateway: Gateway) -> None:
    """A 2026-07-28 client's calls go over the upstream's modern-era channel, where the upstream asks by an
    "input required" result: the client gets it, answers, and calls again through the gateway."""
    peer = Peer("modern")
    async with peer.client(gateway.server_url("relay"), mode=MODERN_ERA) as client:
        sampled = result_text(await client.call_tool("sample", {"prompt": "hi"}))
        elicited = result_text(await client.call_tool("elicit", {"question": "who?"}))
    assert sampled.endswith("sampled: modern-llm (model-modern)"), sampled
    assert elicited.endswith("elicited: accept {'name': 'modern'}"), elicited
    assert len(peer.sampled) == len(peer.elicited) == 1
