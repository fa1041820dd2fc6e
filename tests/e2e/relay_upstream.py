"""A small MCP server on the SDK's low-level API that uses every feature a gateway must relay, per session.

    python -m tests.e2e.relay_upstream --transport stdio|http [--host 127.0.0.1] [--port N] [--modern-only]

Prompts (`greet` with a completable argument, 120 `filler_*` prompts over two pages), resources (`memo://text`,
`memo://blob`, the template `memo://notes/{id}` with completion), subscriptions, logging with a per-session
level, and tools that report progress, log, sample, elicit, ask for roots, announce a resource update, or add a
tool (`tools/list_changed`). Every answer that depends on the caller says which session it came from, so a test
can tell two clients apart. `--modern-only` (HTTP) serves the 2026-07-28 era alone, see `modern_only`.
"""

from __future__ import annotations

import argparse
import base64
import json
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PROTOCOL_VERSION_HEADER,
    unsupported_protocol_version_rejection,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
FILLER_PROMPTS = 120
PAGE = 100
BLOB = bytes(range(256))

_tools: list[types.Tool] = []
_sessions: list[dict[str, Any]] = []
_label = {"name": "relay"}
_changes = InMemorySubscriptionBus()
"""List changes, for 2026-07-28 clients (`subscriptions/listen`): that era has no sessions to send them on."""
_cancelled = {"calls": 0}
"""Calls of `slow` cancelled so far, in this process (a modern-era caller has no session to count them in)."""


def _tool(name: str, description: str, properties: dict[str, Any] | None = None) -> types.Tool:
    schema: dict[str, Any] = {"type": "object", "properties": properties or {}}
    return types.Tool(name=name, description=description, input_schema=schema)


def _reset_tools() -> None:
    _tools[:] = [
        _tool("progress", "Report `steps` progress steps, then answer.", {"steps": {"type": "integer"}}),
        _tool("log", "Log `text` at every level; the session's level filters.", {"text": {"type": "string"}}),
        _tool("sample", "Ask the client's LLM to complete `prompt`.", {"prompt": {"type": "string"}}),
        _tool("impatient", "Ask the client's LLM, and give up (cancel the request) after `seconds`.",
              {"seconds": {"type": "number"}}),
        _tool("elicit", "Ask the client's user for a `name`.", {"question": {"type": "string"}}),
        _tool("roots", "List the client's roots."),
        _tool("touch", "Announce that `uri` changed (to sessions subscribed to it).", {"uri": {"type": "string"}}),
        _tool("add_tool", "Add a tool named `name` and announce the change.", {"name": {"type": "string"}}),
        _tool("whoami", "This session's number and log level."),
        _tool("slow", "Sleep `seconds`, reporting when cancelled.", {"seconds": {"type": "number"}}),
        _tool(
            "rich",
            "Every content kind, structured content and _meta.",
            {"$defs": {"n": {"type": "integer"}}, "n": {"$ref": "#/$defs/n"}},
        ),
    ]


def _state(ctx: ServerRequestContext[Any, Any]) -> dict[str, Any]:
    """Per-session state: a number (order of first request) and the session's log level and subscriptions."""
    state: dict[str, Any] = ctx.session._connection.state
    if "number" not in state:
        # A 2026-07-28 request has a connection of its own, gone with its answer: nothing to notify later.
        session = ctx.session if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS else None
        state.update(number=len(_sessions) + 1, level="debug", subscriptions=set(), session=session)
        _sessions.append(state)
    return state


def _text(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)])


async def call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    state = _state(ctx)
    arguments = params.arguments or {}
    me = f"session {state['number']}"
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and params.name in _ASKING:
        return _ask_in_the_modern_era(params, me)
    if params.name == "progress":
        steps = int(arguments.get("steps", 3))
        for step in range(1, steps + 1):
            await ctx.session.report_progress(step, steps, f"{me} step {step}")
        return _text(f"{me} did {steps} steps")
    if params.name == "log":
        threshold = LEVELS.index(state["level"])
        for level in LEVELS[:4]:
            if LEVELS.index(level) >= threshold:
                await ctx.session.send_log_message(
                    level, f"{me}: {arguments.get('text', '')}", logger="relay", related_request_id=ctx.request_id
                )
        return _text(f"{me} logged")
    if params.name == "sample":
        result = await ctx.session.create_message(
            [types.SamplingMessage(role="user", content=types.TextContent(text=str(arguments.get("prompt", ""))))],
            max_tokens=50,
            related_request_id=ctx.request_id,
        )
        content = result.content
        text = content.text if isinstance(content, types.TextContent) else repr(content)
        return _text(f"{me} sampled: {text} ({result.model})")
    if params.name == "impatient":
        with anyio.move_on_after(float(arguments.get("seconds", 0.5))):
            await ctx.session.create_message(
                [types.SamplingMessage(role="user", content=types.TextContent(text="take your time"))],
                max_tokens=5,
                related_request_id=ctx.request_id,
            )
            return _text(f"{me} got an answer")
        return _text(f"{me} gave up")
    if params.name == "elicit":
        schema: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
        answer = await ctx.session.elicit_form(
            str(arguments.get("question", "name?")), schema, related_request_id=ctx.request_id
        )
        return _text(f"{me} elicited: {answer.action} {answer.content}")
    if params.name == "roots":
        roots = await ctx.session.send_request(
            types.ListRootsRequest(), types.ListRootsResult, metadata=_related(ctx)
        )
        return _text(f"{me} roots: " + ",".join(str(root.uri) for root in roots.roots))
    if params.name == "touch":
        uri = str(arguments.get("uri", ""))
        for other in _sessions:
            if uri in other["subscriptions"] and other["session"] is not None:
                await other["session"].send_resource_updated(uri)
        await _changes.publish(ResourceUpdated(uri=uri))  # to 2026-07-28 clients listening for it
        return _text(f"{me} touched {uri}")
    if params.name == "add_tool":
        _tools.append(_tool(str(arguments.get("name", "added")), "Added at run time."))
        for other in _sessions:
            if other["session"] is not None:
                await other["session"].send_tool_list_changed()
        await _changes.publish(ToolsListChanged())  # to 2026-07-28 clients listening
        return _text(f"{me} added {arguments.get('name')}")
    if params.name == "whoami":
        return _text(
            f"{me} level {state['level']} roots_changed {state.get('roots_changed', 0)} "
            f"cancelled {_cancelled['calls']}"
        )
    if params.name == "slow":
        try:
            await anyio.sleep(float(arguments.get("seconds", 10)))
        except anyio.get_cancelled_exc_class():
            _cancelled["calls"] += 1
            raise
        return _text(f"{me} slept")
    if params.name == "rich":
        return types.CallToolResult(
            content=[
                types.TextContent(text="text", annotations=types.Annotations(audience=["user"], priority=0.5)),
                types.ImageContent(data=base64.b64encode(BLOB).decode(), mime_type="image/png"),
                types.AudioContent(data=base64.b64encode(BLOB).decode(), mime_type="audio/wav"),
                types.ResourceLink(uri="memo://text", name="memo"),
                types.EmbeddedResource(resource=types.TextResourceContents(uri="memo://text", text="embedded")),
            ],
            structured_content={"n": arguments.get("n", 0), "nested": {"list": [1, None, "x"]}},
            _meta={"example.com/trace": "abc"},
        )
    raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")


_ASKING = ("sample", "elicit", "roots")
"""Tools that ask the client something: in the 2026-07-28 era by an "input required" result, which the client
answers by calling again with the responses (there are no server-to-client requests in that era)."""


def _ask_in_the_modern_era(params: types.CallToolRequestParams, me: str) -> Any:
    arguments = params.arguments or {}
    answer = (params.input_responses or {}).get("ask")
    if answer is None:
        question: types.InputRequest
        if params.name == "sample":
            text = types.TextContent(text=str(arguments.get("prompt", "")))
            messages = [types.SamplingMessage(role="user", content=text)]
            question = types.CreateMessageRequest(
                params=types.CreateMessageRequestParams(messages=messages, max_tokens=50)
            )
        elif params.name == "elicit":
            schema: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}}
            question = types.ElicitRequest(
                params=types.ElicitRequestFormParams(message=str(arguments.get("question")), requested_schema=schema)
            )
        else:
            question = types.ListRootsRequest()
        return types.InputRequiredResult(input_requests={"ask": question}, request_state=params.name)
    if isinstance(answer, types.CreateMessageResult) and isinstance(answer.content, types.TextContent):
        return _text(f"{me} sampled: {answer.content.text} ({answer.model})")
    if isinstance(answer, types.ElicitResult):
        return _text(f"{me} elicited: {answer.action} {answer.content}")
    if isinstance(answer, types.ListRootsResult):
        return _text(f"{me} roots: " + ",".join(str(root.uri) for root in answer.roots))
    raise MCPError(types.INVALID_PARAMS, f"not an answer to {params.name}: {answer!r}")


def _related(ctx: ServerRequestContext[Any, Any]) -> Any:
    from mcp.shared.message import ServerMessageMetadata

    return ServerMessageMetadata(related_request_id=ctx.request_id)


async def list_tools(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None) -> Any:
    _state(ctx)
    return types.ListToolsResult(tools=list(_tools))


def _page(items: list[Any], cursor: str | None) -> tuple[list[Any], str | None]:
    start = int(cursor) if cursor else 0
    end = start + PAGE
    return items[start:end], (str(end) if end < len(items) else None)


async def list_prompts(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None) -> Any:
    prompts = [
        types.Prompt(
            name="greet",
            description="Greet someone.",
            arguments=[types.PromptArgument(name="name", description="Who", required=True)],
        ),
        *(types.Prompt(name=f"filler_{index:03d}", description="Filler.") for index in range(FILLER_PROMPTS)),
    ]
    page, next_cursor = _page(prompts, params.cursor if params else None)
    return types.ListPromptsResult(prompts=page, next_cursor=next_cursor)


async def get_prompt(ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams) -> Any:
    if params.name == "greet":
        name = (params.arguments or {}).get("name", "nobody")
        return types.GetPromptResult(
            description="A greeting",
            messages=[
                types.PromptMessage(role="user", content=types.TextContent(text=f"Hello, {name}!")),
                types.PromptMessage(
                    role="assistant",
                    content=types.ImageContent(data=base64.b64encode(BLOB).decode(), mime_type="image/png"),
                ),
            ],
        )
    if params.name == "ask_name":
        # Asks its client whom to greet: by an "input required" result in the 2026-07-28 era, else by elicitation.
        # Not listed, so the listings the relay tests compare keep their counts.
        schema: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}}
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            answer = (params.input_responses or {}).get("ask")
            if answer is None:
                question = types.ElicitRequest(
                    params=types.ElicitRequestFormParams(message="Whom to greet?", requested_schema=schema)
                )
                return types.InputRequiredResult(input_requests={"ask": question}, request_state="ask_name")
        else:
            answer = await ctx.session.elicit_form("Whom to greet?", schema, related_request_id=ctx.request_id)
        if not isinstance(answer, types.ElicitResult):
            raise MCPError(types.INVALID_PARAMS, f"not an answer to ask_name: {answer!r}")
        name = (answer.content or {}).get("name", "nobody")
        greeting = types.TextContent(text=f"Hello, {name}!")
        return types.GetPromptResult(messages=[types.PromptMessage(role="user", content=greeting)])
    if params.name.startswith("filler_"):
        return types.GetPromptResult(messages=[types.PromptMessage(role="user", content=types.TextContent(text="."))])
    raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {params.name}")


async def list_resources(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None) -> Any:
    return types.ListResourcesResult(
        resources=[
            types.Resource(uri="memo://text", name="text", mime_type="text/plain"),
            types.Resource(uri="memo://blob", name="blob", mime_type="application/octet-stream"),
        ]
    )


async def list_templates(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None) -> Any:
    return types.ListResourceTemplatesResult(
        resource_templates=[types.ResourceTemplate(uri_template="memo://notes/{id}", name="note")]
    )


async def read_resource(ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams) -> Any:
    uri = str(params.uri)
    if uri == "memo://text":
        text = f"memo text from {_label['name']}"
        contents: list[Any] = [types.TextResourceContents(uri=uri, text=text, mime_type="text/plain")]
    elif uri == "memo://blob":
        contents = [types.BlobResourceContents(uri=uri, blob=base64.b64encode(BLOB).decode())]
    elif uri.startswith("memo://notes/"):
        contents = [types.TextResourceContents(uri=uri, text=f"note {uri.rsplit('/', 1)[1]}")]
    else:
        raise MCPError(-32002, f"Resource not found: {uri}")
    return types.ReadResourceResult(contents=contents)


async def subscribe(ctx: ServerRequestContext[Any, Any], params: types.SubscribeRequestParams) -> Any:
    _state(ctx)["subscriptions"].add(str(params.uri))
    return types.EmptyResult()


async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: types.UnsubscribeRequestParams) -> Any:
    _state(ctx)["subscriptions"].discard(str(params.uri))
    return types.EmptyResult()


async def complete(ctx: ServerRequestContext[Any, Any], params: types.CompleteRequestParams) -> Any:
    ref = params.ref
    if isinstance(ref, types.PromptReference) and ref.name == "greet":
        values = [name for name in ("Ada", "Alan", "Grace") if name.startswith(params.argument.value)]
    elif isinstance(ref, types.ResourceTemplateReference) and ref.uri == "memo://notes/{id}":
        values = [f"{params.argument.value}{suffix}" for suffix in ("1", "2")]
    else:
        values = []
    return types.CompleteResult(completion=types.Completion(values=values, total=len(values)))


async def set_level(ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams) -> Any:
    _state(ctx)["level"] = params.level
    return types.EmptyResult()


async def roots_changed(ctx: ServerRequestContext[Any, Any], params: types.NotificationParams) -> None:
    state = _state(ctx)
    state["roots_changed"] = state.get("roots_changed", 0) + 1


def build_server() -> Server[Any]:
    _reset_tools()
    server: Server[Any] = Server(
        "relay-upstream",
        version="1.2.3",
        instructions="Use the tools to exercise a relay.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_completion=complete,
        on_subscriptions_listen=ListenHandler(_changes),
    )
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    server.add_notification_handler("notifications/roots/list_changed", types.NotificationParams, roots_changed)
    return server


def modern_only(app: ASGIApp) -> ASGIApp:
    """`app` (the SDK's streamable-HTTP app, which serves both eras) as a server of the 2026-07-28 era alone.

    The SDK has no setting for that: its session manager sends every request without a modern
    `MCP-Protocol-Version` header down the handshake path. So a handshake-era request (an `initialize`, a GET
    stream, a session DELETE) is refused here the way a modern-only server refuses it: a JSON-RPC
    UNSUPPORTED_PROTOCOL_VERSION error naming the versions it serves, at the SDK's HTTP status for that code."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request = Request(scope, receive)
        if request.headers.get(MCP_PROTOCOL_VERSION_HEADER) in MODERN_PROTOCOL_VERSIONS:
            await app(scope, receive, send)
            return
        request_id: Any = None
        requested = request.headers.get(MCP_PROTOCOL_VERSION_HEADER, "")
        if request.method == "POST":
            try:
                body = json.loads(await request.body())
                request_id = body.get("id")
                requested = str((body.get("params") or {}).get("protocolVersion", requested))
            except (ValueError, AttributeError):
                pass
        rejection = unsupported_protocol_version_rejection(requested)
        assert rejection is not None, "a handshake-era version is never a modern one"
        error = {"code": rejection.code, "message": rejection.message, "data": rejection.data}
        response = JSONResponse(
            {"jsonrpc": "2.0", "id": request_id, "error": error}, status_code=ERROR_CODE_HTTP_STATUS[rejection.code]
        )
        await response(scope, receive, send)

    return serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--label", default="relay", help="named in resource texts, to tell servers apart")
    parser.add_argument("--modern-only", action="store_true", help="HTTP: serve the 2026-07-28 era alone")
    args = parser.parse_args(argv)
    _label["name"] = args.label
    server = build_server()
    if args.transport == "stdio":

        async def serve() -> None:
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())

        anyio.run(serve)
    else:
        import uvicorn

        app: ASGIApp = server.streamable_http_app(host=args.host)
        if args.modern_only:
            app = modern_only(app)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
