"""Stored `/v1/responses` across replicas: two gateways sharing a real Redis (`--redis-url`) behind the shipped
HAProxy config, driven by the official openai SDK against the provider stand-in (the real Responses and Chat wire
formats). A response created through one replica is fetched and continued (`previous_response_id`) through the
other, and a chain of follow-ups through the balancer lands on both replicas, as their /metrics show.
And a gateway whose Redis does not answer says 503 store_unavailable, never pretending a response is not there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import redis.asyncio as redis

from tests.e2e.chat.helpers import KEYS, mcp_tool
from tests.e2e.gateway_process import LOOPBACK, Gateway, McpUpstream, free_port, write_config
from tests.e2e.metrics_scrape import scrape, value
from tests.e2e.provider_standin import ProviderStandIn, running_provider_stand_in
from tests.e2e.redis_server import running_redis
from tests.e2e.replica_cluster import running_gateways, running_haproxy, wait_until_balanced

pytestmark = pytest.mark.anyio

CHAIN = 6
TTL_DAYS = 2


@pytest.fixture(scope="module")
def stand_in(e2e_log_dir: Path) -> Iterator[ProviderStandIn]:
    with running_provider_stand_in(e2e_log_dir) as running:
        yield running


@pytest.fixture(scope="module")
def config_path(mcp_http_upstream: McpUpstream, stand_in: ProviderStandIn,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    providers = {"openai": {"baseUrl": stand_in.provider_url("openai"), "apiKey": KEYS["openai"], "maxRetries": 0}}
    return write_config(tmp_path_factory.mktemp("replica-responses"), {"tools": {"url": mcp_http_upstream.url}},
                        models={"maxRounds": 4, "providers": providers})


@pytest.fixture(scope="module")
def redis_url(e2e_log_dir: Path) -> Iterator[str]:
    with running_redis(e2e_log_dir) as url:
        yield url


@pytest.fixture(scope="module")
def replicas(config_path: Path, redis_url: str, e2e_log_dir: Path) -> Iterator[tuple[list[Gateway], str]]:
    """The two replicas and the balancer's URL."""
    # Each replica its own SQLite path too: were Redis not used, nothing could cross between them.
    shared = ["--redis-url", redis_url, "--retry-interval", "0", "--responses-ttl", str(TTL_DAYS)]
    arguments = [[*shared, "--responses-db", str(config_path.parent / f"replica-{index}.sqlite3")]
                 for index in range(2)]
    with running_gateways(config_path, e2e_log_dir, arguments) as gateways, running_haproxy(
        [gateway.base_url.removeprefix("http://") for gateway in gateways], e2e_log_dir
    ) as (balancer_url, _):
        wait_until_balanced(balancer_url, gateways)
        yield gateways, balancer_url


def sdk(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0, timeout=60)


def created(gateway: Gateway) -> float:
    return value(scrape(gateway.base_url), "mcp_gateway_http_requests_total", endpoint="/v1/responses", status="200")


def read_or_deleted(gateway: Gateway) -> float:
    return value(scrape(gateway.base_url), "mcp_gateway_http_requests_total",
                 endpoint="/v1/responses/{response_id}", status="200")


async def test_a_response_from_one_replica_is_fetched_and_continued_on_the_other(
    replicas: tuple[list[Gateway], str], stand_in: ProviderStandIn, redis_url: str
) -> None:
    (first, second), _ = replicas
    model = stand_in.script([{"calls": [{"tool": "add", "arguments": {"a": 3, "b": 4}}]}, {"text": "Seven."},
                             {"text": "You asked me to add 3 and 4."}])
    before = [(created(gateway), read_or_deleted(gateway)) for gateway in (first, second)]
    async with sdk(first.base_url) as via_first, sdk(second.base_url) as via_second:
        response = await via_first.responses.create(model=f"openai/{model}", input="Add 3 and 4.",
                                                    tools=[mcp_tool("/mcp/tools", ["add"])])
        assert response.output_text == "Seven."
        assert (await via_second.responses.retrieve(response.id)).output_text == "Seven."
        follow_up = await via_second.responses.create(model=f"openai/{model}", input="What did I ask?",
                                                      previous_response_id=response.id)
        assert follow_up.output_text == "You asked me to add 3 and 4."
        assert (await via_first.responses.retrieve(follow_up.id)).previous_response_id == response.id
        # Kept in the replicas' Redis for --responses-ttl days.
        async with redis.Redis.from_url(redis_url) as shared:
            keys = [key async for key in shared.scan_iter(match=f"*:{response.id}")]
            assert len(keys) == 1 and TTL_DAYS * 86_400 - 600 < await shared.ttl(keys[0]) <= TTL_DAYS * 86_400
        # Deleted through one replica, gone from both.
        await via_first.responses.delete(response.id)
        with pytest.raises(openai.NotFoundError):
            await via_second.responses.retrieve(response.id)
    # The follow-up reached the model with the whole conversation the first replica kept, tool result included.
    messages = stand_in.received(model)[2]["body"]["input"]
    assert any("7" in str(item.get("output", "")) for item in messages if item.get("type") == "function_call_output")
    after = [(created(gateway), read_or_deleted(gateway)) for gateway in (first, second)]
    assert after[0][0] - before[0][0] == 1 and after[1][0] - before[1][0] == 1
    # The first answered a GET and the DELETE, the second a GET (and the 404 after the DELETE).
    assert after[0][1] - before[0][1] == 2 and after[1][1] - before[1][1] == 1


async def test_a_chain_of_follow_ups_through_the_balancer_crosses_replicas(
    replicas: tuple[list[Gateway], str], stand_in: ProviderStandIn
) -> None:
    gateways, balancer_url = replicas
    model = stand_in.script([{"text": f"Answer {turn}."} for turn in range(CHAIN)])
    before = [created(gateway) for gateway in gateways]
    previous: str | None = None
    async with sdk(balancer_url) as client:
        for turn in range(CHAIN):
            response = await client.responses.create(model=f"openai/{model}", input=f"Question {turn}?",
                                                     previous_response_id=previous)
            assert response.output_text == f"Answer {turn}."
            previous = response.id
    served = [created(gateway) - count for gateway, count in zip(gateways, before, strict=True)]
    # Both replicas served part of the chain, so at least one follow-up read a response the other replica stored.
    assert sum(served) == CHAIN and all(served), served
    last = stand_in.received(model)[-1]["body"]["input"]
    said = [str(item) for item in last]
    assert all(any(f"Question {turn}?" in text for text in said) for turn in range(CHAIN))
    assert all(any(f"Answer {turn}." in text for text in said) for turn in range(CHAIN - 1))


async def test_a_redis_that_does_not_answer_is_503_store_unavailable(
    config_path: Path, stand_in: ProviderStandIn, e2e_log_dir: Path
) -> None:
    dead_redis = f"redis://:redis-password-never-logged@{LOOPBACK}:{free_port()}/0"
    with running_gateways(config_path, e2e_log_dir, [["--redis-url", dead_redis, "--retry-interval", "0"]]) as [gw]:
        model = stand_in.script([{"text": "Not kept."}])
        async with sdk(gw.base_url) as client:
            for attempt in (client.responses.retrieve("resp_anything"),
                            client.responses.create(model=f"openai/{model}", input="Hi.",
                                                    previous_response_id="resp_anything")):
                with pytest.raises(openai.InternalServerError) as failed:
                    await attempt
                assert failed.value.status_code == 503 and failed.value.code == "store_unavailable"
            # A response not asked to be kept needs no store.
            response = await client.responses.create(model=f"openai/{model}", input="Hi.", store=False)
            assert response.output_text == "Not kept."
        log = gw.log()
    assert "redis-password-never-logged" not in log
