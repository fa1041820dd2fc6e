"""The Python API against a real MCP server, connected in-process through the official client.

The server's tool names are hostile to providers (`repos/get` next to `repos_get`, `1st.tool`), its listing
comes in pages, and its tools answer with text, structured content, images and errors.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import mcp_types
import pytest
from mcp import Client, ClientSession
from mcp.server import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from mcp_gateway.bridge.messages.tool_results import format_tool_result, read_tool_call
from mcp_gateway.bridge.session import call_tool, list_all_tools, load_tools
from mcp_gateway.bridge.targets import PROVIDERS, Provider

_OBJECT = {"type": "object", "properties": {"q": {"type": "string"}}}
TOOLS = [
    mcp_types.Tool(name="repos/get", description="Get a repository.", input_schema=_OBJECT),
    mcp_types.Tool(name="repos_get", description="Get a repository, the other way.", input_schema=_OBJECT),
    mcp_types.Tool(name="1st.tool", description="The first tool.", input_schema=_OBJECT),
    mcp_types.Tool(name="stats", description="Structured numbers.", input_schema={"type": "object"}),
    mcp_types.Tool(name="snapshot", description="An image.", input_schema={"type": "object"}),
    mcp_types.Tool(name="broken", description="Always fails.", input_schema={"type": "object"}),
]
PAGE_SIZE = 2
PNG = "iVBORw0KGgo="


async def _list_tools(
    ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
) -> mcp_types.ListToolsResult:
    start = int(params.cursor) if params is not None and params.cursor else 0
    end = start + PAGE_SIZE
    return mcp_types.ListToolsResult(tools=TOOLS[start:end], next_cursor=str(end) if end < len(TOOLS) else None)


async def _call_tool(
    ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
) -> mcp_types.CallToolResult:
    arguments = params.arguments or {}
    if params.name == "stats":
        return mcp_types.CallToolResult(content=[], structured_content={"stars": 42})
    if params.name == "snapshot":
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(text="A cat."), mcp_types.ImageContent(data=PNG, mime_type="image/png")]
        )
    if params.name == "broken":
        return mcp_types.CallToolResult(content=[mcp_types.TextContent(text="upstream is down")], is_error=True)
    if params.name not in {tool.name for tool in TOOLS}:
        raise MCPError(code=-32602, message=f"unknown tool {params.name}")
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(text=f"{params.name} got {arguments.get('q')}")])


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with Client(Server("hostile-names", on_list_tools=_list_tools, on_call_tool=_call_tool)) as connected:
        yield connected


def _names(definitions: list[dict[str, Any]], provider: Provider) -> list[str]:
    if provider in ("openai", "mistral", "cohere"):
        return [definition["function"]["name"] for definition in definitions]
    if provider == "bedrock":
        return [definition["toolSpec"]["name"] for definition in definitions]
    return [definition["name"] for definition in definitions]


@pytest.mark.anyio
async def test_all_pages_are_listed_through_the_client_and_its_session(client: Client) -> None:
    via_client = await list_all_tools(client)
    via_session = await list_all_tools(client.session)
    assert isinstance(client.session, ClientSession)
    assert [tool.name for tool in via_client] == [tool.name for tool in TOOLS]
    assert [tool.name for tool in via_session] == [tool.name for tool in TOOLS]


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_load_tools_gives_provider_safe_names_that_map_back(client: Client, provider: Provider) -> None:
    tools = await load_tools(client, provider)
    names = _names(tools.definitions, provider)
    assert len(set(names)) == len(TOOLS)
    assert "repos_get" in names
    assert [tools.name_map.to_original(name) for name in names] == [tool.name for tool in TOOLS]


@pytest.mark.anyio
async def test_load_tools_accepts_provider_aliases(client: Client) -> None:
    assert (await load_tools(client.session, "claude")).provider == "anthropic"


def _tool_call(provider: Provider, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    if provider in ("openai", "mistral", "cohere"):
        return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
    if provider == "openai-responses":
        return {"type": "function_call", "call_id": "call_1", "name": name, "arguments": json.dumps(arguments)}
    if provider == "anthropic":
        return {"type": "tool_use", "id": "call_1", "name": name, "input": arguments}
    if provider == "gemini":
        return {"functionCall": {"name": name, "args": arguments}, "thoughtSignature": "CiQB"}
    return {"toolUse": {"toolUseId": "call_1", "name": name, "input": arguments}}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("openai", {"role": "tool", "tool_call_id": "call_1", "content": "repos/get got x"}),
        ("mistral", {"role": "tool", "tool_call_id": "call_1", "content": "repos/get got x"}),
        ("cohere", {"role": "tool", "tool_call_id": "call_1", "content": "repos/get got x"}),
        ("openai-responses", {"type": "function_call_output", "call_id": "call_1", "output": "repos/get got x"}),
        ("anthropic", {"type": "tool_result", "tool_use_id": "call_1", "content": "repos/get got x"}),
        ("gemini", {"functionResponse": {"name": "repos_get_2", "response": {"output": "repos/get got x"}}}),
        ("bedrock", {"toolResult": {"toolUseId": "call_1", "content": [{"text": "repos/get got x"}]}}),
    ],
)
async def test_a_provider_tool_call_runs_the_original_tool(
    client: Client, provider: Provider, expected: dict[str, Any]
) -> None:
    tools = await load_tools(client, provider)
    provider_name = tools.name_map.to_target("repos/get")
    assert provider_name == "repos_get_2"
    result = await call_tool(client, _tool_call(provider, provider_name, {"q": "x"}), tools.name_map, provider)
    assert result == expected


@pytest.mark.anyio
async def test_structured_content_is_sent_as_json(client: Client) -> None:
    bedrock = await load_tools(client, "bedrock")
    openai = await load_tools(client, "openai")
    gemini = await load_tools(client, "gemini")
    assert await call_tool(client, _tool_call("bedrock", "stats", {}), bedrock.name_map, "bedrock") == {
        "toolResult": {"toolUseId": "call_1", "content": [{"json": {"stars": 42}}]}
    }
    assert (await call_tool(client, _tool_call("openai", "stats", {}), openai.name_map, "openai"))[
        "content"
    ] == '{"stars": 42}'
    assert (await call_tool(client, _tool_call("gemini", "stats", {}), gemini.name_map, "gemini"))["functionResponse"][
        "response"
    ] == {"output": {"stars": 42}}


@pytest.mark.anyio
async def test_errors_are_flagged_the_way_each_provider_flags_them(client: Client) -> None:
    anthropic = await load_tools(client, "anthropic")
    bedrock = await load_tools(client, "bedrock")
    gemini = await load_tools(client, "gemini")
    assert await call_tool(client, _tool_call("anthropic", "broken", {}), anthropic.name_map, "anthropic") == {
        "type": "tool_result",
        "tool_use_id": "call_1",
        "content": "upstream is down",
        "is_error": True,
    }
    bedrock_call = _tool_call("bedrock", "broken", {})
    assert (await call_tool(client, bedrock_call, bedrock.name_map, "bedrock", bedrock_error_status=True))[
        "toolResult"
    ] == {
        "toolUseId": "call_1",
        "content": [{"text": "upstream is down"}],
        "status": "error",
    }
    assert (await call_tool(client, _tool_call("gemini", "broken", {}), gemini.name_map, "gemini"))["functionResponse"][
        "response"
    ] == {"error": "upstream is down"}


@pytest.mark.anyio
async def test_images_reach_anthropic_as_image_blocks(client: Client) -> None:
    tools = await load_tools(client, "anthropic")
    result = await call_tool(client, _tool_call("anthropic", "snapshot", {}), tools.name_map, "anthropic")
    assert result["content"] == [
        {"type": "text", "text": "A cat."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]


@pytest.mark.anyio
async def test_bad_arguments_and_unknown_tools_come_back_as_error_results(client: Client) -> None:
    tools = await load_tools(client, "openai")
    malformed = {"id": "call_1", "type": "function", "function": {"name": "repos_get", "arguments": '{"q": '}}
    bad = await call_tool(client.session, malformed, tools.name_map, "openai")
    assert bad["tool_call_id"] == "call_1" and "not valid JSON" in bad["content"]

    unknown = await call_tool(client, _tool_call("anthropic", "no_such_tool", {}), tools.name_map, "anthropic")
    assert unknown["is_error"] is True and "unknown tool no_such_tool" in unknown["content"]


@pytest.mark.anyio
async def test_bedrock_errors_leave_out_status_unless_asked_since_most_models_refuse_it(client: Client) -> None:
    # Bedrock accepts toolResult.status only for Amazon Nova and Anthropic Claude 3 and 4 models.
    bedrock = await load_tools(client, "bedrock")
    result = await call_tool(client, _tool_call("bedrock", "broken", {}), bedrock, "bedrock")
    assert result == {"toolResult": {"toolUseId": "call_1", "content": [{"text": "Error: upstream is down"}]}}


ECHO = mcp_types.Tool(name="list/items", input_schema={"type": "object", "properties": {"$top": {"type": "integer"}}})


async def _list_echo(
    ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
) -> mcp_types.ListToolsResult:
    return mcp_types.ListToolsResult(tools=[ECHO])


async def _echo_arguments(
    ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(text=json.dumps(params.arguments))])


@pytest.mark.anyio
async def test_renamed_argument_keys_reach_the_server_under_their_own_names() -> None:
    async with Client(Server("echo", on_list_tools=_list_echo, on_call_tool=_echo_arguments)) as echo:
        tools = await load_tools(echo, "openai")
        call = {"id": "c1", "type": "function", "function": {"name": "list_items", "arguments": '{"_top": 5}'}}
        assert (await call_tool(echo, call, tools, "openai"))["content"] == '{"$top": 5}'
        # A bare name map knows nothing of argument keys: the provider's key goes through as it came.
        assert (await call_tool(echo, call, tools.name_map, "openai"))["content"] == '{"_top": 5}'


def test_an_image_type_anthropic_refuses_becomes_a_note_not_a_rejected_request() -> None:
    call = read_tool_call({"type": "tool_use", "id": "toolu_1", "name": "draw", "input": {}}, "anthropic")
    svg = mcp_types.CallToolResult(content=[mcp_types.ImageContent(data="PHN2Zy8+", mime_type="image/svg+xml")])
    formatted = format_tool_result(call, svg, "anthropic")
    assert formatted["content"] == [
        {"type": "text", "text": "[image/svg+xml image not shown: Anthropic reads JPEG, PNG, GIF and WebP]"}]
