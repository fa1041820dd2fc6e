"""`--log-format json` and request ids on a real gateway: one JSON object per log line, the request's id on the
lines written for it, in its response and on the upstream request it caused; no key in any line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import (
    UPSTREAM_API_SPEC,
    Gateway,
    UpstreamAPI,
    free_port,
    keyed_client,
    result_text,
    running_gateway,
    write_config,
)

ADMIN_KEY = "mgw_logging-admin-key-0123456789abcdef"
UPSTREAM_TOKEN = "upstream-token-for-the-logging-test-55"
PROVIDER_KEY = "sk-provider-key-for-the-logging-test-66"

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def gateway(
    upstream_api: UpstreamAPI, tmp_path_factory: pytest.TempPathFactory, e2e_log_dir: Path
) -> Iterator[Gateway]:
    servers = {
        "api": {"openapi": {"spec": str(UPSTREAM_API_SPEC), "baseUrl": upstream_api.base_url,
                            "headers": {"Authorization": f"Bearer {UPSTREAM_TOKEN}"}}},
    }
    # A provider nothing listens on: a chat request fails, and the gateway logs that while answering it.
    models = {"providers": {"nowhere": {"baseUrl": f"http://127.0.0.1:{free_port()}/v1", "apiKey": PROVIDER_KEY,
                                        "maxRetries": 0}}}
    config = write_config(tmp_path_factory.mktemp("logging"), servers, models=models,
                          access={"keys": {"admin": {"key": ADMIN_KEY, "admin": True}}})
    with running_gateway(config, e2e_log_dir, extra_args=["--log-format", "json"]) as running:
        yield running


def log_lines(gateway: Gateway) -> list[dict[str, Any]]:
    lines = [line for line in gateway.log().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(line, dict) and {"time", "level", "logger", "message"} <= set(line) for line in parsed)
    return parsed


def get_tools(gateway: Gateway, request_id: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Request-Id": request_id}
    return httpx.get(f"{gateway.base_url}/tools", headers=headers, timeout=30)


def test_a_sane_request_id_is_kept_and_returned_and_an_odd_one_replaced(gateway: Gateway) -> None:
    assert get_tools(gateway, "trace-0001").headers["x-request-id"] == "trace-0001"
    for odd in ("has spaces in it", "x" * 129, "quote\"d"):
        assigned = get_tools(gateway, odd).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", assigned), assigned
    # Without one, each request gets its own.
    first, second = (httpx.get(f"{gateway.base_url}/health").headers["x-request-id"] for _ in range(2))
    assert first != second


async def test_the_request_id_reaches_the_upstream_and_the_log_lines_of_that_request(
    gateway: Gateway, upstream_api: UpstreamAPI
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Request-Id": "mcp-call-42"}
    async with keyed_client(gateway.mcp_url, headers) as client:
        result = await client.call_tool("api-getItem", {"item_id": "logged-item-1"})
        assert not result.is_error, result_text(result)
    [received] = [request for request in upstream_api.received_requests()
                  if request["raw_path"].startswith("/items/logged-item-1")]
    assert received["headers"]["x-request-id"] == "mcp-call-42"
    assert received["headers"]["authorization"] == f"Bearer {UPSTREAM_TOKEN}"
    get_tools(gateway, "trace-0002")
    chat = httpx.post(f"{gateway.base_url}/v1/chat/completions", timeout=30,
                      headers={"Authorization": f"Bearer {ADMIN_KEY}", "X-Request-Id": "chat-7"},
                      json={"model": "nowhere/m", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code >= 500 and chat.headers["x-request-id"] == "chat-7"

    lines = log_lines(gateway)
    [access] = [line for line in lines if line.get("request_id") == "trace-0002"]
    assert (access["logger"], access["method"], access["path"], access["status"]) == (
        "uvicorn.access", "GET", "/tools", 200)
    assert {line["path"] for line in lines if line.get("request_id") == "mcp-call-42"} == {"/mcp"}
    # The gateway's own lines written while answering carry the id too, not only the access line.
    chat_loggers = {line["logger"] for line in lines if line.get("request_id") == "chat-7"}
    assert "mcp_gateway.server.loop_response" in chat_loggers
    startup = [line for line in lines if "listening on" in line["message"]]
    assert startup and "request_id" not in startup[0]
    text = gateway.log()
    assert ADMIN_KEY not in text and UPSTREAM_TOKEN not in text and PROVIDER_KEY not in text
