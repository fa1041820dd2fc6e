"""Plain tool calls to a modern-era HTTP upstream go out as one POST from the calling task
(upstreams/lean_calls.py), and answer exactly as the SDK client's path does.

The upstream is the SDK's own server behind a wire-level shaper (tests/e2e/lean_upstream.py) that answers some
calls as event streams, as a resumable stream, through a redirect, with HEADER_MISMATCH or an input request. A call
with a progress token takes the SDK client's path (it routes the upstream's progress), so every case is made both
ways through the gateway and compared; the shaper counts POSTs, which tells a call read on the lean path from one
sent again by the SDK client. Which task sends the POST (the caller's own, or one of the SDK client's) is checked
in process, on the upstream's HTTP client.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2 as httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from mcp_gateway.http import new_client
from mcp_gateway.server.wire_gates import MAX_BODY_BYTES
from mcp_gateway.upstreams import mcp as mcp_upstream
from mcp_gateway.upstreams.mcp import McpUpstream
from mcp_gateway.upstreams.mcp_spec import McpServerSpec
from mcp_gateway.upstreams.wire_result import WIRE_VERSION
from tests.e2e.gateway_process import (
    LOOPBACK,
    ConnectMode,
    Gateway,
    free_port,
    keyed_client,
    port_ready,
    running_gateway,
    start_process,
    stopping,
    write_config,
)
from tests.unit.test_wire_result import KEPT, REFUSED

pytestmark = pytest.mark.anyio

CALL_TIMEOUT = 3.0
"""The `hasty` server's per-call timeout (connecting is bounded by it too, so not much shorter)."""


@pytest.fixture(scope="module")
def shaped_url(e2e_log_dir: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "tests.e2e.lean_upstream", "--host", LOOPBACK, "--port", str(port)]
    process = start_process("lean-upstream", command, ready=port_ready(port), log_dir=e2e_log_dir)
    with stopping(process):
        yield f"http://{LOOPBACK}:{port}/mcp"


@pytest.fixture(scope="module")
def gateway(shaped_url: str, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path) -> Iterator[Gateway]:
    servers = {"shaped": {"url": shaped_url}, "hasty": {"url": shaped_url, "timeout": CALL_TIMEOUT}}
    config = write_config(tmp_path_factory.mktemp("lean-calls"), servers)
    with running_gateway(config, e2e_log_dir) as running:
        yield running


def posts(shaped_url: str) -> dict[str, int]:
    """How many tools/call POSTs each tool has received so far."""
    counts: dict[str, int] = httpx.get(shaped_url.removesuffix("/mcp") + "/posts", timeout=10).json()
    return counts


async def both_ways(
    gateway: Gateway, server: str, tool: str, arguments: dict[str, Any], mode: ConnectMode = "auto"
) -> tuple[Any, Any, str, str]:
    """The result of one call without a progress token (lean path) and one with (SDK path), as wire dicts, with
    the X-Request-Id each was sent under; `mode`: the calling client's era."""
    lean_id, sdk_id = f"lean-{secrets.token_hex(8)}", f"sdk-{secrets.token_hex(8)}"
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    async with keyed_client(gateway.server_url(server), {"X-Request-Id": lean_id}, mode) as client:
        lean = await client.call_tool(tool, arguments)
    async with keyed_client(gateway.server_url(server), {"X-Request-Id": sdk_id}, mode) as client:
        sdk = await client.call_tool(tool, arguments, progress_callback=on_progress)
    return wire(lean), wire(sdk), lean_id, sdk_id


def wire(result: types.CallToolResult) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def without_request_ids(result: dict[str, Any], *request_ids: str) -> Any:
    """The result with the request id the tool echoed blanked, in its text and its structured content, so the two
    paths compare."""
    text = json.dumps(result)
    for request_id in request_ids:
        text = text.replace(request_id, "<id>")
    return json.loads(text)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("echo", {"text": "plain"}),
        ("add", {"a": 40, "b": 2}),
        ("fail", {"message": "the upstream said no"}),
        ("wrong_output", {}),
        ("repo_get", {"owner": "octo", "repo": "gateway"}),
    ],
)
async def test_results_and_errors_are_the_sdk_clients(gateway: Gateway, tool: str, arguments: dict[str, Any]) -> None:
    lean, sdk, _, _ = await both_ways(gateway, "shaped", tool, arguments)
    assert lean == sdk


async def test_structured_content_errors_and_meta_come_through_whole(gateway: Gateway) -> None:
    added, _, _, _ = await both_ways(gateway, "shaped", "add", {"a": 40, "b": 2})
    failed, _, _, _ = await both_ways(gateway, "shaped", "fail", {"message": "no"})
    broken, _, _, _ = await both_ways(gateway, "shaped", "wrong_output", {})
    assert added["structuredContent"] == {"result": 42} and added["isError"] is False
    assert added["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "test-upstream"
    assert failed["isError"] is True and failed["content"][0]["text"] == "Error executing tool fail: no"
    assert broken["isError"] is True
    assert broken["content"][0]["text"].startswith("server 'shaped': returned an invalid result for 'wrong_output'")


async def test_a_plain_call_is_one_post_carrying_the_callers_request_id(gateway: Gateway, shaped_url: str) -> None:
    before = posts(shaped_url).get("tagged_echo", 0)
    lean, sdk, lean_id, sdk_id = await both_ways(gateway, "shaped", "tagged_echo", {"text": "hi"})
    assert lean["content"][0]["text"] == f"hi {lean_id}"
    assert sdk["content"][0]["text"] == f"hi {sdk_id}"
    assert posts(shaped_url)["tagged_echo"] == before + 2


async def test_an_event_stream_answer_with_a_notification_first_is_read_on_the_lean_path(
    gateway: Gateway, shaped_url: str
) -> None:
    before = posts(shaped_url).get("streamed_echo", 0)
    lean, sdk, lean_id, sdk_id = await both_ways(gateway, "shaped", "streamed_echo", {"text": "streamed"})
    assert lean["content"][0]["text"] == f"streamed {lean_id}"
    assert without_request_ids(lean, lean_id) == without_request_ids(sdk, sdk_id)
    assert posts(shaped_url)["streamed_echo"] == before + 2  # one POST each: nothing was sent twice


async def test_a_stream_that_ends_before_its_answer_is_resumed_not_sent_again(
    gateway: Gateway, shaped_url: str
) -> None:
    before = posts(shaped_url).get("resumed_echo", 0)
    lean, sdk, lean_id, sdk_id = await both_ways(gateway, "shaped", "resumed_echo", {"text": "resumed"})
    assert lean["content"][0]["text"] == f"resumed {lean_id}"  # the answer to the POST, fetched by the GET
    assert without_request_ids(lean, lean_id) == without_request_ids(sdk, sdk_id)
    assert posts(shaped_url)["resumed_echo"] == before + 2


async def test_a_redirect_is_left_to_the_sdk_client_which_follows_it(gateway: Gateway, shaped_url: str) -> None:
    before = posts(shaped_url).get("moved_echo", 0)
    lean, sdk, lean_id, sdk_id = await both_ways(gateway, "shaped", "moved_echo", {"text": "moved"})
    assert lean["content"][0]["text"] == f"moved {lean_id}"
    assert without_request_ids(lean, lean_id) == without_request_ids(sdk, sdk_id)
    # The redirected POST ran nothing. Lean: its POST, the SDK client's, the one it followed; SDK: its POST and
    # the one it followed.
    assert posts(shaped_url)["moved_echo"] == before + 5


async def test_a_call_over_the_timeout_is_the_same_error_and_the_server_stays_usable(gateway: Gateway) -> None:
    lean, sdk, _, _ = await both_ways(gateway, "hasty", "slow", {"seconds": 30})
    assert lean == sdk
    assert lean["isError"] is True
    assert lean["content"][0]["text"] == f"server 'hasty': tool 'slow' did not answer within {CALL_TIMEOUT:g}s"
    again, _, request_id, _ = await both_ways(gateway, "hasty", "tagged_echo", {"text": "still here"})
    assert again["content"][0]["text"] == f"still here {request_id}"


async def test_an_input_required_answer_is_left_to_the_sdk_client(gateway: Gateway, shaped_url: str) -> None:
    before = posts(shaped_url).get("ask", 0)
    # A handshake-era client without elicitation: the SDK client's input rounds, which refuse to ask.
    lean, sdk, _, _ = await both_ways(gateway, "shaped", "ask", {}, mode="legacy")
    assert lean == sdk
    assert lean["isError"] is True and "Elicitation not supported" in lean["content"][0]["text"]
    # Lean: its POST, then the SDK client's; SDK: its own.
    assert posts(shaped_url)["ask"] == before + 3


async def test_a_header_mismatch_is_left_to_the_sdk_client_which_lists_again_and_resends(
    gateway: Gateway, shaped_url: str
) -> None:
    before = posts(shaped_url).get("mismatched_echo", 0)
    lean, sdk, lean_id, sdk_id = await both_ways(
        gateway, "shaped", "mismatched_echo", {"text": "again"}, mode="legacy"
    )
    assert lean["content"][0]["text"] == f"again {lean_id}"
    assert without_request_ids(lean, lean_id) == without_request_ids(sdk, sdk_id)
    # Refused before it ran. Lean: its POST, the SDK client's (refused), the one after listing again; SDK: its
    # refused POST and the one after listing.
    assert posts(shaped_url)["mismatched_echo"] == before + 5


async def test_a_modern_era_caller_answers_the_upstreams_input_request_itself(
    gateway: Gateway, shaped_url: str
) -> None:
    async def answer(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        pass

    before = posts(shaped_url).get("ask", 0)
    lean_id, sdk_id = f"lean-{secrets.token_hex(8)}", f"sdk-{secrets.token_hex(8)}"
    url = gateway.server_url("shaped")
    results: list[types.CallToolResult] = []
    for headers, progress in (({"X-Request-Id": lean_id}, None), ({"X-Request-Id": sdk_id}, on_progress)):
        async with (
            httpx.AsyncClient(headers=headers, timeout=30.0) as http_client,
            Client(streamable_http_client(url, http_client=http_client), mode="auto", elicitation_callback=answer)
            as client,
        ):
            results.append(await client.call_tool("ask", {}, progress_callback=progress))
    lean, sdk = (wire(result) for result in results)
    # The input request went back to the caller, which called again with its answer: two calls each way.
    assert lean["content"][0]["text"] == f"hello Ada {lean_id}"
    assert without_request_ids(lean, lean_id) == without_request_ids(sdk, sdk_id)
    assert posts(shaped_url)["ask"] == before + 4


async def test_the_callers_own_task_sends_a_plain_call_and_the_sdk_client_sends_one_with_progress(
    shaped_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    senders: list[tuple[str | None, asyncio.Task[Any] | None]] = []

    def recording_client(**options: Any) -> httpx.AsyncClient:
        client = new_client(**options)

        async def record(request: httpx.Request) -> None:
            if request.headers.get("mcp-method") == "tools/call":
                senders.append((request.headers.get("mcp-name"), asyncio.current_task()))

        client.event_hooks["request"].append(record)
        return client

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        pass

    monkeypatch.setattr(mcp_upstream, "new_client", recording_client)
    upstream = McpUpstream("shaped", McpServerSpec(transport="http", url=shaped_url))
    await upstream.start()
    try:
        with anyio.fail_after(30):
            plain = await upstream.call_tool("echo", {"text": "plain"})
            with_progress = await upstream.call_tool("echo", {"text": "progress"}, on_progress=on_progress)
    finally:
        await upstream.aclose()
    assert [block.text for block in plain.content if isinstance(block, types.TextContent)] == ["plain"]
    assert not with_progress.is_error
    caller = asyncio.current_task()
    assert senders[0] == ("echo", caller)
    assert senders[1][0] == "echo" and senders[1][1] is not caller


VERBATIM = [("verbatim", result) for result in [*KEPT.values(), *REFUSED.values()]] + [
    ("verbatim_counted", {"content": [{"type": "text", "text": "1"}], "structuredContent": {"n": 1},
                          "resultType": "complete"}),
    ("verbatim_counted", {"content": [], "structuredContent": {"n": "one"}, "resultType": "complete"}),
    ("verbatim_counted", {"content": [], "resultType": "complete"}),
    ("verbatim_counted", {"content": [], "isError": True, "resultType": "complete"}),
]
VERBATIM_IDS = [*KEPT, *REFUSED, "output schema met", "output schema broken", "no structured content",
                "error result without structured content"]


@pytest.mark.parametrize(("tool", "result"), VERBATIM, ids=VERBATIM_IDS)
async def test_a_relayed_result_is_written_as_the_sdk_writes_it(
    gateway: Gateway, tool: str, result: dict[str, Any]
) -> None:
    # The same modern-era POST twice: as it is, it is answered before the SDK's transport, where a result in the
    # SDK's form is written from the upstream's own wire dict (upstreams/wire_result.py); padded past what that
    # path reads, the SDK's transport and handler answer it, through the SDK's parse and dump.
    meta = {types.PROTOCOL_VERSION_META_KEY: WIRE_VERSION, types.CLIENT_CAPABILITIES_META_KEY: {}}
    params = {"name": tool, "arguments": {"result": json.dumps(result)}, "_meta": meta}
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params})
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": WIRE_VERSION, "mcp-method": "tools/call", "mcp-name": tool}
    async with httpx.AsyncClient(timeout=30) as http:
        kept = await http.post(gateway.server_url("shaped"), content=body, headers=headers)
        sdk = await http.post(gateway.server_url("shaped"), content=body + " " * MAX_BODY_BYTES, headers=headers)
    assert (kept.status_code, kept.content) == (sdk.status_code, sdk.content)
