"""The test MCP server (tests/e2e/mcp_upstream.py) behind a wire-level shaper: a few modern-era tool calls are
answered the other ways a streamable-HTTP server may answer them, instead of the SDK server's plain JSON.

    python -m tests.e2e.lean_upstream --port N

- `streamed_echo`: an event stream holding a log notification, a priming event (an id, no data), then the answer;
- `resumed_echo`: an event stream that ends after its priming event; the answer comes on the GET that resumes it
  (`Last-Event-ID`), as a server that polls (SEP-1699) sends it;
- `moved_echo`: at /mcp, a 307 to /mcp/moved (same origin), which serves the same server;
- `tagged_echo`: answered by the SDK server as it is (plain JSON);
- `mismatched_echo`: refused with HEADER_MISMATCH unless the tools were listed (modern era) after its last
  refusal, as a server refuses a call to a tool that changed since the client listed it;
- `ask`: answered by the shaper, not the tool: an input-required result asking for a name, and a greeting once the
  call carries the answer;
- `verbatim` and `verbatim_counted` (whose output schema wants `{"n": integer}`): answered by the shaper with the
  `result` argument, a JSON text, as the result, byte for byte: results the SDK server would never write;
- `GET /posts`: how many `tools/call` POSTs each tool received, so a test can tell a call sent once from a call
  sent again.
The echo tools echo the text with the `X-Request-Id` the call was sent with ("-" without one).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter
from typing import Any, TypedDict

import mcp_types as types
import uvicorn
from mcp.server.mcpserver import Context

from tests.e2e.mcp_upstream import build_server

Scope = dict[str, Any]

MOVED_PATH = "/mcp/moved"


class Counted(TypedDict):
    n: int


def _request_id(ctx: Context) -> str:
    return str((ctx.headers or {}).get("x-request-id", "-"))


class Shaper:
    """ASGI middleware in front of the SDK's streamable-HTTP app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.posts: Counter[str] = Counter()
        self.parked: dict[str, bytes] = {}
        """Answers held back from a stream that ended early, by the event id a resuming GET names."""
        self._ids = itertools.count(1)
        self._refused = False
        """The last `mismatched_echo` call was refused, and no modern-era tools/list has arrived since."""
        self._relisted = False
        """A modern-era tools/list arrived after that refusal: the next `mismatched_echo` call is taken."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if scope["path"] == "/posts":
            await _respond(send, 200, "application/json", json.dumps(self.posts).encode())
            return
        resumed = self.parked.pop(headers.get("last-event-id", ""), None)
        if scope["method"] == "GET" and resumed is not None:
            await _respond(send, 200, "text/event-stream", _event(resumed, event_id=f"after-{next(self._ids)}"))
            return
        moved = scope["path"] == MOVED_PATH
        if moved:
            scope = {**scope, "path": "/mcp", "raw_path": b"/mcp"}
        if headers.get("mcp-method") == "tools/list" and self._refused:
            self._refused, self._relisted = False, True
        calls = scope["method"] == "POST" and headers.get("mcp-method") == "tools/call"
        tool = headers.get("mcp-name") if calls else None
        if tool is None:
            await self.app(scope, receive, send)
            return
        self.posts[tool] += 1
        if tool == "mismatched_echo" and self._relisted:
            self._relisted = False
            await self.app(scope, receive, send)
        elif tool == "mismatched_echo":
            self._refused = True
            error = {"code": types.HEADER_MISMATCH, "message": "the tool changed since it was listed"}
            message_id = json.loads(await _body(receive))["id"]
            await _respond(send, 400, "application/json", json.dumps({"jsonrpc": "2.0", "id": message_id,
                                                                       "error": error}).encode())
        elif tool in ("verbatim", "verbatim_counted"):
            call = json.loads(await _body(receive))
            answer = b'{"jsonrpc":"2.0","id":%s,"result":%s}' % (json.dumps(call["id"]).encode(),
                                                                  call["params"]["arguments"]["result"].encode())
            await _respond(send, 200, "application/json", answer)
        elif tool == "ask":
            answer = _ask(json.loads(await _body(receive)), headers.get("x-request-id", "-"))
            await _respond(send, 200, "application/json", answer)
        elif tool == "moved_echo" and not moved:
            await _respond(send, 307, "text/plain", b"moved", location=MOVED_PATH)
        elif tool in ("streamed_echo", "resumed_echo"):
            status, content_type, body = await _captured(self.app, scope, receive)
            if status != 200 or not content_type.startswith("application/json"):
                await _respond(send, status, content_type, body)
            elif tool == "streamed_echo":
                log = {"jsonrpc": "2.0", "method": "notifications/message",
                       "params": {"level": "info", "logger": "shaper", "data": "about to answer"}}
                stream = _event(json.dumps(log).encode()) + b"id: prime-1\ndata: \n\n" + _event(body, event_id="answer")
                await _respond(send, 200, "text/event-stream", stream)
            else:
                event_id = f"prime-{next(self._ids)}"
                self.parked[event_id] = body
                await _respond(send, 200, "text/event-stream", f"id: {event_id}\nretry: 0\ndata: \n\n".encode())
        else:
            await self.app(scope, receive, send)


def _ask(request: dict[str, Any], request_id: str) -> bytes:
    """An input request for a name, or, once the call carries the answer, a greeting (with the request id)."""
    answer = (request["params"].get("inputResponses") or {}).get("who")
    if isinstance(answer, dict) and answer.get("action") == "accept":
        greeting = f"hello {answer['content']['name']} {request_id}"
        # As the tool's own answer would be: its output schema (a string result) wants structured content.
        result: types.Result = types.CallToolResult(
            content=[types.TextContent(text=greeting)], structured_content={"result": greeting}
        )
    else:
        question = types.ElicitRequestFormParams(
            message="Who is there?", requested_schema={"type": "object", "properties": {"name": {"type": "string"}}}
        )
        asked = {"who": types.ElicitRequest(params=question)}
        result = types.InputRequiredResult(input_requests=asked, request_state="s1")
    wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": wire}).encode()


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _event(data: bytes, *, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: message\ndata: ".encode() + data + b"\n\n"


async def _respond(send: Any, status: int, content_type: str, body: bytes, *, location: str | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    if location is not None:
        headers.append((b"location", location.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _captured(app: Any, scope: Scope, receive: Any) -> tuple[int, str, bytes]:
    """The whole response the SDK's app gives to this request."""
    status, content_type, chunks = 500, "", []

    async def capture(message: dict[str, Any]) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            found = dict(message.get("headers", []))
            content_type = found.get(b"content-type", b"").decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, content_type, b"".join(chunks)


def build_app() -> Shaper:
    server = build_server("http", 0)

    @server.tool()
    def tagged_echo(text: str, ctx: Context) -> str:
        """Echo `text` and the call's X-Request-Id."""
        return f"{text} {_request_id(ctx)}"

    @server.tool()
    def streamed_echo(text: str, ctx: Context) -> str:
        """Echo `text` and the call's X-Request-Id; answered as an event stream with a notification first."""
        return f"{text} {_request_id(ctx)}"

    @server.tool()
    def resumed_echo(text: str, ctx: Context) -> str:
        """Echo `text` and the call's X-Request-Id; answered on the GET that resumes the call's stream."""
        return f"{text} {_request_id(ctx)}"

    @server.tool()
    def moved_echo(text: str, ctx: Context) -> str:
        """Echo `text` and the call's X-Request-Id; reached through a same-origin redirect."""
        return f"{text} {_request_id(ctx)}"

    @server.tool()
    def mismatched_echo(text: str, ctx: Context) -> str:
        """Echo `text` and the call's X-Request-Id; refused before it runs unless listed just before."""
        return f"{text} {_request_id(ctx)}"

    @server.tool(structured_output=False)
    def verbatim(result: str) -> str:
        """Answer with `result`, a JSON text, as the result (never runs: the shaper answers every call)."""
        return "unreachable"

    @server.tool()
    def verbatim_counted(result: str) -> Counted:
        """As `verbatim`, for a tool whose output schema wants a count."""
        return Counted(n=0)

    @server.tool()
    def ask() -> str:
        """Ask the client for a name (never runs: the shaper answers every call)."""
        return "unreachable"

    return Shaper(server.streamable_http_app())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
