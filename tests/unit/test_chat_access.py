"""The chat endpoint asks `principal_of` what the caller may see: a Principal bound in the ASGI scope (as the
access-control middleware binds it) narrows the servers and tools an mcp tool expands to."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from mcp_gateway.auth.principal import Principal, bind_principal
from mcp_gateway.http import httpx
from mcp_gateway.llm.models import parse_models
from mcp_gateway.registry import ToolFilter
from mcp_gateway.server.app import create_app
from tests.unit.test_registry import InMemoryUpstream, make_registry

pytestmark = pytest.mark.anyio

READER = Principal(name="reader", servers=("github",), tools=("repos_*",))


async def post_as(principal: Principal, tool: dict[str, Any]) -> httpx.Response:
    registry = make_registry(
        (InMemoryUpstream("github", ["repos/get", "issues/create"]), ToolFilter()),
        (InMemoryUpstream("tools", ["echo"]), ToolFilter()),
    )
    await registry.start()
    # Nothing listens on port 9: a request that passes expansion ends at the provider, unreachable.
    models = parse_models({"providers": {"openai": {"maxRetries": 0}}},
                          environ={"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    app = create_app(registry, models=models)

    async def authenticated(scope: Scope, receive: Receive, send: Send) -> None:
        bind_principal(scope, principal)
        await app(scope, receive, send)

    body = {"model": "openai/gpt-4.1", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "mcp", "server_label": "x", "require_approval": "never", **tool}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=authenticated),
                                 base_url="http://127.0.0.1") as http:
        return await http.post("/v1/chat/completions", json=body)


async def test_a_server_the_caller_may_not_see_is_unknown_to_it() -> None:
    response = await post_as(READER, {"server_url": "/mcp/tools"})
    assert response.status_code == 400
    assert "unknown server 'tools'; this gateway serves: github" in response.json()["error"]["message"]


async def test_a_tool_the_caller_may_not_see_matches_nothing() -> None:
    response = await post_as(READER, {"server_url": "/mcp/github", "allowed_tools": ["issues_create"]})
    assert response.status_code == 400
    assert "'issues_create' matches no tool" in response.json()["error"]["message"]


async def test_what_the_caller_may_see_goes_on_to_the_provider() -> None:
    response = await post_as(READER, {"server_url": "/mcp/github", "allowed_tools": ["repos_get"]})
    assert response.status_code == 502
    assert response.json()["error"]["message"].startswith("openai: cannot be reached")
