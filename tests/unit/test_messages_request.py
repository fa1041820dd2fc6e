"""Reading an Anthropic Messages request into the loop's terms: the conversation (answers of this door sent back
included), the connector's tools and credentials, tool_choice and the provider fields."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_gateway.auth.principal import UNRESTRICTED
from mcp_gateway.llm.errors import RequestError
from mcp_gateway.llm.models import ProviderConfig
from mcp_gateway.registry import Registry, ToolFilter
from mcp_gateway.server.messages_request import conversation, provider_params, read_tools
from tests.unit.test_registry import InMemoryUpstream, make_registry

pytestmark = pytest.mark.anyio

ORIGINS = {"http://127.0.0.1:8765"}
PNG = "iVBORw0KGgo="


@pytest.fixture
async def registry() -> Registry:
    built = make_registry(
        (InMemoryUpstream("github", ["repos_get", "issues_create", "search"]), ToolFilter()),
        (InMemoryUpstream("tools", ["echo", "search"]), ToolFilter()),
    )
    await built.start()
    return built


def test_tool_results_come_before_the_rest_of_their_user_turn() -> None:
    converted = conversation(
        [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        [{"role": "user", "content": [
            {"type": "text", "text": "Here:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
             "content": [{"type": "text", "text": "no such city"}]},
        ]}],
    )
    assert converted == [
        {"role": "system", "content": "Be brief.\n\nBe kind."},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "no such city", "is_error": True},
        {"role": "user", "content": [{"type": "text", "text": "Here:"},
                                     {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]},
    ]


def test_images_of_tool_results_follow_them_for_providers_whose_tool_messages_hold_text_only() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    turn = [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "a chart"}, image]},
        {"type": "tool_result", "tool_use_id": "t2", "content": "plain"},
        {"type": "text", "text": "Explain."},
    ]}]
    image_part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    assert conversation(None, turn)[0]["content"] == [{"type": "text", "text": "a chart"}, image_part]
    assert conversation(None, turn, media_in_tool_results=False) == [
        {"role": "tool", "tool_call_id": "t1", "content": "a chart"},
        {"role": "tool", "tool_call_id": "t2", "content": "plain"},
        {"role": "user", "content": [{"type": "text", "text": "[media returned by tool call t1]"}, image_part,
                                     {"type": "text", "text": "Explain."}]},
    ]


def test_an_answer_sent_back_becomes_the_rounds_it_was() -> None:
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    converted = conversation(None, [
        {"role": "user", "content": "Go."},
        {"role": "assistant", "content": [
            thinking,
            {"type": "text", "text": "Looking."},
            {"type": "mcp_tool_use", "id": "c1", "name": "add", "server_name": "t", "input": {"a": 1}},
            {"type": "tool_use", "id": "c2", "name": "weather", "input": {}},
            {"type": "mcp_tool_result", "tool_use_id": "c1", "is_error": False,
             "content": [{"type": "text", "text": "2"}]},
            {"type": "text", "text": "Next."},
            {"type": "mcp_tool_use", "id": "c3", "name": "add", "server_name": "t", "input": {}},
            {"type": "mcp_tool_result", "tool_use_id": "c3", "is_error": True, "content": "bad"},
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c2", "content": "sunny"}]},
    ])
    assert converted == [
        {"role": "user", "content": "Go."},
        {"role": "assistant", "content": "Looking.", "thinking_blocks": [thinking], "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}},
            {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "2"},
        {"role": "assistant", "content": "Next.", "tool_calls": [
            {"id": "c3", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c3", "content": "bad", "is_error": True},
        {"role": "tool", "tool_call_id": "c2", "content": "sunny"},
    ]


@pytest.mark.parametrize("messages", [
    [], "hi", [{"role": "tool", "content": "x"}], [{"role": "system", "content": 3}],
    [{"role": "user", "content": [{"text": "no type"}]}],
    [{"role": "user", "content": [{"type": "tool_result"}]}],
    [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}],
    [{"role": "assistant", "content": [{"type": "tool_use", "id": "x", "name": "y", "input": "z"}]}],
])
def test_malformed_conversations_are_400s(messages: Any) -> None:
    with pytest.raises(RequestError) as raised:
        conversation(None, messages)
    assert raised.value.status == 400


async def test_connector_servers_expand_in_both_forms(registry: Registry) -> None:
    body: dict[str, Any] = {"mcp_servers": [
        {"type": "url", "url": "/mcp/github", "name": "gh", "tool_configuration": {"allowed_tools": ["repos_*"]}},
        {"type": "url", "url": "mcp_gateway/mcp/tools", "name": "t", "tool_configuration": {"enabled": False}},
    ], "tools": [{"name": "mine", "input_schema": {"type": "object"}}]}
    read = read_tools(body, registry, UNRESTRICTED, ORIGINS, None)
    assert {name: (tool.label, tool.needs_approval) for name, tool in read.tools.mcp.items()} == {
        "repos_get": ("gh", False)}
    assert [tool.name for tool in read.tools.functions] == ["mine"]
    assert read.tools.function_definitions == {}  # written for Anthropic: every provider gets the conversion

    body = {"mcp_servers": [{"type": "url", "url": "http://127.0.0.1:8765/mcp", "name": "all"},
                            {"type": "url", "url": "/mcp/tools", "name": "unused"}],
            "tools": [{"type": "mcp_toolset", "mcp_server_name": "all",
                       "configs": {"github-search": {"enabled": False}, "tools-search": {"enabled": False}}}]}
    read = read_tools(body, registry, UNRESTRICTED, ORIGINS, None)
    assert sorted(read.tools.mcp) == ["github-issues_create", "github-repos_get", "tools-echo"]


@pytest.mark.parametrize(("body", "message"), [
    ({"mcp_servers": [{"type": "url", "url": "https://elsewhere.example/mcp", "name": "x"}]},
     "mcp_servers.0.url 'https://elsewhere.example/mcp' is not this gateway"),
    ({"mcp_servers": [{"type": "url", "url": "/mcp/nope", "name": "x"}]}, "unknown server 'nope'"),
    ({"mcp_servers": [{"type": "url", "url": "/mcp/tools", "name": "x"}, {"type": "url", "url": "/mcp/tools",
                                                                          "name": "x"}]}, "used more than once"),
    ({"mcp_servers": [{"type": "url", "url": "/mcp/tools", "name": "a"}, {"type": "url", "url": "/mcp/github",
                                                                          "name": "b"}]}, "'search'"),
    ({"mcp_servers": [{"type": "url", "url": "/mcp/tools", "name": "a"}],
      "tools": [{"type": "mcp_toolset", "mcp_server_name": "a", "configs": {"nope": {"enabled": True}}}]},
     "'nope' is no tool"),
    ({"mcp_servers": [{"type": "url", "url": "/mcp", "name": "a", "authorization_token": "t"}]},
     "authorization_token"),
    ({"tools": [{"name": "x"}]}, "input_schema"),
    ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
])
async def test_connector_mistakes_are_400s_naming_the_field(registry: Registry, body: Any, message: str) -> None:
    with pytest.raises(RequestError) as raised:
        read_tools(body, registry, UNRESTRICTED, ORIGINS, None)
    assert raised.value.status == 400 and message in raised.value.message


async def test_authorization_token_is_its_server_s_bearer_credential_unless_it_is_the_gateway_key(
    registry: Registry,
) -> None:
    def body(token: str) -> dict[str, Any]:
        return {"mcp_servers": [{"type": "url", "url": "/mcp/github", "name": "gh", "authorization_token": token}]}

    assert read_tools(body("user-token"), registry, UNRESTRICTED, ORIGINS, "gw-key").credentials == {
        "github": "Bearer user-token"}
    assert read_tools(body("gw-key"), registry, UNRESTRICTED, ORIGINS, "gw-key").credentials == {}


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, ("auto", None)),
    ({"type": "any", "disable_parallel_tool_use": True}, ("required", False)),
    ({"type": "none"}, ("none", None)),
    ({"type": "tool", "name": "echo"}, ({"type": "function", "function": {"name": "echo"}}, None)),
])
async def test_tool_choice_in_openai_terms(registry: Registry, choice: Any, expected: Any) -> None:
    read = read_tools({"tool_choice": choice}, registry, UNRESTRICTED, ORIGINS, None)
    assert (read.tool_choice, read.parallel_tool_calls) == expected


def provider(name: str, protocol: Any) -> ProviderConfig:
    return ProviderConfig(name=name, protocol=protocol, base_url="http://127.0.0.1:1")


def test_provider_fields_per_protocol() -> None:
    body = {"max_tokens": 9, "stop_sequences": ["END"], "temperature": 0.5, "top_k": 3, "metadata": {"user_id": "u"},
            "thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert provider_params(body, provider("anthropic", "anthropic")) == {
        "max_tokens": 9, "stop": ["END"], "temperature": 0.5, "top_k": 3, "metadata": {"user_id": "u"},
        "thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert provider_params(body, provider("openai", "openai")) == {
        "max_completion_tokens": 9, "stop": ["END"], "temperature": 0.5, "user": "u"}
    assert provider_params(body, provider("ollama", "openai"))["max_tokens"] == 9
    with pytest.raises(RequestError, match="max_tokens"):
        provider_params({}, provider("openai", "openai"))
