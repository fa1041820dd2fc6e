"""Following the tool loop in production: its metrics (model rounds, their latency and the tokens each provider
reported, by provider and model, as GET /metrics shows them) and the request id it passes on, through the official
openai SDK."""

from __future__ import annotations

import anyio
import openai
import pytest

from tests.e2e.chat.helpers import PROTOCOLS, Json, ask, marker, mcp_tool
from tests.e2e.gateway_process import Gateway, UpstreamAPI
from tests.e2e.metrics_scrape import scrape, total
from tests.e2e.provider_standin import ProviderStandIn

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_rounds_latency_and_tokens_are_counted_per_provider(
    protocol: str, gateway: Gateway, client: openai.AsyncOpenAI, stand_in: ProviderStandIn
) -> None:
    model = stand_in.script([
        {"calls": [{"tool": "add", "arguments": {"a": 1, "b": 2}}]},
        {"text": "Three."},
    ])
    before = await anyio.to_thread.run_sync(scrape, gateway.base_url)
    messages: Json = [{"role": "user", "content": "Add one and two."}]
    completion, summary, _ = await ask(client, stream=False, model=f"{protocol}/{model}", messages=messages,
                                       tools=[mcp_tool(gateway.server_url("tools"), ["add"])])
    after = await anyio.to_thread.run_sync(scrape, gateway.base_url)

    def grown(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    # Tests before this one used other models of the same provider, so the provider's totals are compared; the
    # model label itself is checked where it cannot have been folded into "other" yet.
    assert grown("mcp_gateway_llm_rounds_total", provider=protocol, outcome="ok") == 2
    assert grown("mcp_gateway_llm_round_duration_seconds_count", provider=protocol) == 2
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert grown("mcp_gateway_llm_tokens_total", provider=protocol, kind="prompt") == usage.prompt_tokens
    assert grown("mcp_gateway_llm_tokens_total", provider=protocol, kind="completion") == usage.completion_tokens
    assert grown("mcp_gateway_tool_calls_total", server="tools", tool="add", outcome="ok") == 1
    assert len(summary["rounds"]) == 2
    labelled = total(after, "mcp_gateway_llm_rounds_total", provider=protocol, model=model)
    assert labelled in (0, 2)
    assert labelled == 2 or total(after, "mcp_gateway_llm_rounds_total", provider=protocol, model="other") >= 2


async def test_a_failing_provider_is_counted_by_its_error_kind(gateway: Gateway, client: openai.AsyncOpenAI) -> None:
    before = await anyio.to_thread.run_sync(scrape, gateway.base_url)
    with pytest.raises(openai.APIError):
        await client.chat.completions.create(model="nowhere/any-model", messages=[{"role": "user", "content": "hi"}])
    after = await anyio.to_thread.run_sync(scrape, gateway.base_url)
    failed = {labels: number - before.get((name, labels), 0.0) for (name, labels), number in after.items()
              if name == "mcp_gateway_llm_rounds_total" and ("provider", "nowhere") in labels}
    assert sum(failed.values()) == 1
    [(labels, _)] = [(labels, grown) for labels, grown in failed.items() if grown]
    assert dict(labels)["outcome"] not in ("ok", "exception")


async def test_the_request_id_reaches_the_provider_on_every_round_and_the_upstream(
    gateway: Gateway, client: openai.AsyncOpenAI, stand_in: ProviderStandIn, upstream_api: UpstreamAPI
) -> None:
    item = marker()
    model = stand_in.script([
        {"calls": [{"tool": "getItem", "arguments": {"item_id": item}}]},
        {"text": "Found it."},
    ])
    raw = await client.chat.completions.with_raw_response.create(
        model=f"openai/{model}", messages=[{"role": "user", "content": "Find it."}],
        tools=[mcp_tool("mcp_gateway/mcp/echo", ["getItem"])],  # type: ignore[list-item]
        extra_headers={"X-Request-Id": f"chat-{item}"},
    )
    assert raw.headers["x-request-id"] == f"chat-{item}"
    assert [request["headers"].get("x-request-id") for request in stand_in.received(model)] == [f"chat-{item}"] * 2
    [received] = [request for request in upstream_api.received_requests() if item in request["raw_path"]]
    assert received["headers"]["x-request-id"] == f"chat-{item}"
