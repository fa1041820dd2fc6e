"""to_call_result and invoke: what the MCP client sees for every kind of upstream answer or failure."""

from __future__ import annotations

import base64
import gzip
import json
import socket
from typing import Any

import anyio
import mcp_types
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp_gateway.auth.outbound import ApiKeyAuth, BearerAuth
from mcp_gateway.http import httpx
from mcp_gateway.openapi import invoke as invoke_module
from mcp_gateway.openapi.invoke import invoke, to_call_result
from mcp_gateway.openapi.model import BodyBinding, HttpBinding, ParameterBinding, ToolSpec

REQUEST = httpx.Request("GET", "https://user:pw@api.example.com/items?api_key=s3cr3t&q=1")
SECRET = "s3cr3t"


def response(status: int = 200, **options: Any) -> httpx.Response:
    return httpx.Response(status, request=REQUEST, **options)


def only_text(result: mcp_types.CallToolResult) -> str:
    (content,) = result.content
    assert isinstance(content, mcp_types.TextContent)
    return content.text


class TestSuccess:
    def test_json_object_is_text_and_structured_content(self) -> None:
        result = to_call_result(response(json={"id": 1, "tags": ["a"]}))
        assert not result.is_error
        assert json.loads(only_text(result)) == {"id": 1, "tags": ["a"]}
        assert result.structured_content == {"id": 1, "tags": ["a"]}

    @pytest.mark.parametrize("value", [[1, 2], "text", 3, None])
    def test_non_object_json_is_wrapped_for_clients_that_require_an_object(self, value: Any) -> None:
        body = json.dumps(value).encode()
        result = to_call_result(response(content=body, headers={"content-type": "application/json"}))
        assert result.structured_content == {"result": value}

    def test_vendor_json_media_type(self) -> None:
        body = b'{"ok":true}'
        result = to_call_result(response(content=body, headers={"content-type": "application/problem+json"}))
        assert result.structured_content == {"ok": True}

    def test_wire_shape_uses_mcp_field_names(self) -> None:
        wire = to_call_result(response(json={"a": 1})).model_dump(by_alias=True, exclude_none=True)
        assert wire["structuredContent"] == {"a": 1}
        assert wire["isError"] is False

    def test_no_content(self) -> None:
        result = to_call_result(response(204))
        assert (only_text(result), result.is_error) == ("HTTP 204 No Content", False)

    def test_empty_body(self) -> None:
        assert only_text(to_call_result(response(200))) == "HTTP 200 OK (empty body)"

    def test_text_body(self) -> None:
        result = to_call_result(response(text="plain words", headers={"content-type": "text/plain"}))
        assert only_text(result) == "plain words"
        assert result.structured_content is None

    def test_invalid_json_falls_back_to_text(self) -> None:
        result = to_call_result(response(content=b"{oops", headers={"content-type": "application/json"}))
        assert (only_text(result), result.structured_content) == ("{oops", None)

    def test_json_without_content_type_is_recognised(self) -> None:
        assert to_call_result(response(content=b'{"a":1}')).structured_content == {"a": 1}

    def test_binary_is_an_embedded_blob_without_credentials_in_its_uri(self) -> None:
        png = b"\x89PNG\r\n\x1a\n\xff\x00"
        result = to_call_result(response(content=png, headers={"content-type": "image/png"}), secrets=[SECRET])
        summary, embedded = result.content
        assert isinstance(summary, mcp_types.TextContent)
        assert summary.text == "HTTP 200 OK: image/png, 10 bytes"
        assert isinstance(embedded, mcp_types.EmbeddedResource)
        blob = embedded.resource
        assert isinstance(blob, mcp_types.BlobResourceContents)
        assert base64.b64decode(blob.blob) == png
        assert blob.mime_type == "image/png"
        assert blob.uri == "https://api.example.com/items?api_key=***&q=1"

    def test_oversized_binary_is_described_not_embedded(self) -> None:
        big = b"\x00" * (5 * 1024 * 1024 + 1)
        result = to_call_result(response(content=big, headers={"content-type": "application/pdf"}))
        assert (
            only_text(result) == "HTTP 200 OK: application/pdf body of 5242881 bytes not returned (over the 5 MB limit)"
        )

    def test_secrets_echoed_in_a_success_body_are_redacted_everywhere(self) -> None:
        result = to_call_result(response(json={"echo": f"key={SECRET}", SECRET: 1}), secrets=[SECRET])
        assert SECRET not in only_text(result)
        assert result.structured_content == {"echo": "key=***", "***": 1}


class TestFailure:
    def test_json_error_is_compact_with_status_and_reason(self) -> None:
        result = to_call_result(response(404, json={"message": "Not Found", "docs": "https://x"}))
        assert result.is_error
        assert only_text(result) == 'HTTP 404 Not Found: {"message":"Not Found","docs":"https://x"}'

    def test_long_bodies_are_cut_to_the_excerpt_limit(self) -> None:
        result = to_call_result(response(500, text="x" * 50), max_excerpt=10)
        assert only_text(result) == "HTTP 500 Internal Server Error: xxxxxxxxxx… (40 more characters)"

    def test_secrets_in_error_bodies_are_redacted(self) -> None:
        result = to_call_result(response(401, text=f"bad token {SECRET}"), secrets=[SECRET])
        assert only_text(result) == "HTTP 401 Unauthorized: bad token ***"

    def test_error_without_body(self) -> None:
        assert only_text(to_call_result(response(503))) == "HTTP 503 Service Unavailable"

    def test_redirect_says_where_to(self) -> None:
        result = to_call_result(response(302, headers={"location": "https://elsewhere.example/x"}))
        assert (only_text(result), result.is_error) == (
            "HTTP 302 Found: redirected to https://elsewhere.example/x",
            True,
        )

    def test_binary_error_body_is_described(self) -> None:
        result = to_call_result(response(500, content=b"\xff\xfe\x00", headers={"content-type": "image/png"}))
        assert only_text(result) == "HTTP 500 Internal Server Error: <3 bytes of image/png>"


TOOL = ToolSpec(
    name="getItem",
    source_name="getItem",
    description="",
    input_schema={"type": "object", "properties": {}, "required": ["id"]},
    binding=HttpBinding("GET", "/items/{id}", (ParameterBinding("id", "id", "path", required=True),)),
)
QUERY_KEY = ApiKeyAuth.model_validate({"type": "apiKey", "in": "query", "name": "api_key", "value": SECRET})


def mock_client(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class TestInvoke:
    @pytest.mark.anyio
    async def test_connection_refused_is_an_error_result_without_the_key(self) -> None:
        port = closed_port()
        async with httpx.AsyncClient() as client:
            result = await invoke(client, TOOL, f"http://127.0.0.1:{port}", {"id": 7}, auth=QUERY_KEY)
        assert result.is_error
        assert only_text(result) == (
            f"upstream unreachable: GET http://127.0.0.1:{port}/items/7?api_key=***: connection refused"
        )

    @pytest.mark.anyio
    async def test_timeout_is_an_error_result(self) -> None:
        def slow(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        async with mock_client(slow) as client:
            result = await invoke(client, TOOL, "https://api.example.com", {"id": 1}, auth=QUERY_KEY)
        assert (result.is_error, only_text(result)) == (
            True,
            "upstream timed out after 5s (ReadTimeout): GET https://api.example.com/items/1?api_key=***",
        )

    @pytest.mark.anyio
    async def test_argument_errors_are_results_naming_the_argument(self) -> None:
        async with mock_client(lambda request: httpx.Response(200)) as client:
            result = await invoke(client, TOOL, "https://api.example.com", {"id": "..", "extra": 1})
        assert result.is_error
        assert only_text(result) == "invalid arguments for tool 'getItem': unknown argument 'extra'"

    @pytest.mark.anyio
    async def test_required_body_properties_from_the_schema_are_checked(self) -> None:
        tool = ToolSpec(
            name="create",
            source_name="create",
            description="",
            input_schema={"type": "object", "required": ["title"]},
            binding=HttpBinding(
                "POST", "/items", body=BodyBinding("application/json", properties=(("title", "title"),))
            ),
        )
        async with mock_client(lambda request: httpx.Response(201)) as client:
            result = await invoke(client, tool, "https://api.example.com", {})
        assert only_text(result) == "invalid arguments for tool 'create': missing required argument 'title'"

    @pytest.mark.anyio
    async def test_request_is_sent_and_response_converted_with_static_header_secrets_redacted(self) -> None:
        seen: list[httpx.Request] = []

        def echo(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                403, json={"saw": request.headers["x-api-key"], "bearer": request.headers["authorization"]}
            )

        async with mock_client(echo) as client:
            result = await invoke(
                client,
                TOOL,
                "https://api.example.com/v1",
                {"id": 5},
                auth=BearerAuth(token="t0ken-value"),
                headers={"X-Api-Key": "static-key"},
            )
        assert str(seen[0].url) == "https://api.example.com/v1/items/5"
        assert only_text(result) == 'HTTP 403 Forbidden: {"saw":"***","bearer":"Bearer ***"}'

    @pytest.mark.anyio
    async def test_compressed_responses_arrive_decoded(self) -> None:
        body = gzip.compress(json.dumps({"big": "x" * 1000}).encode())
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        async with mock_client(lambda request: httpx.Response(200, content=body, headers=headers)) as client:
            result = await invoke(client, TOOL, "https://api.example.com", {"id": 1})
        assert result.structured_content == {"big": "x" * 1000}

    @pytest.mark.anyio
    async def test_oversized_responses_are_refused_not_buffered(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(invoke_module, "MAX_RESPONSE_BYTES", 100)
        async with mock_client(lambda request: httpx.Response(200, content=b"x" * 101)) as client:
            result = await invoke(client, TOOL, "https://api.example.com", {"id": 1})
        assert (result.is_error, only_text(result)) == (
            True,
            "upstream response too large: GET https://api.example.com/items/1: over 100 bytes",
        )


async def echo_app(scope: Any, receive: Any, send: Any) -> None:
    """What a real ASGI server decoded from the request, sent back as JSON."""
    if scope["type"] != "http":
        return
    request = Request(scope, receive)
    received = {
        "raw_path": scope["raw_path"].decode(),
        "query": list(request.query_params.multi_items()),
        "header": request.headers.get("x-trace"),
        "cookies": dict(request.cookies),
        "form": list((await request.form()).multi_items()),
    }
    await JSONResponse(received)(scope, receive, send)


@pytest.mark.anyio
async def test_invoke_against_a_real_server() -> None:
    """A real ASGI server reads back each part exactly as the tool call meant it."""
    config = uvicorn.Config(echo_app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    tool = ToolSpec(
        name="submit",
        source_name="submit",
        description="",
        input_schema={"type": "object"},
        binding=HttpBinding(
            "POST",
            "/docs/{name}",
            (
                ParameterBinding("name", "name", "path", required=True),
                ParameterBinding("filter", "filter", "query", style="deepObject"),
                ParameterBinding("trace", "X-Trace", "header"),
                ParameterBinding("sid", "sid", "cookie"),
            ),
            BodyBinding("application/x-www-form-urlencoded", properties=(("meta", "meta"), ("draft", "draft"))),
        ),
    )
    arguments = {"name": "a/b", "filter": {"state": "open"}, "trace": "0", "sid": "", "meta": {"k": 1}, "draft": False}
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient() as client:
            result = await invoke(client, tool, f"http://127.0.0.1:{port}/api", arguments, auth=QUERY_KEY)
        server.should_exit = True
    assert not result.is_error
    assert result.structured_content == {
        "raw_path": "/api/docs/a%2Fb",
        # The server received the key; its echo is redacted on the way back like any other text.
        "query": [["filter[state]", "open"], ["api_key", "***"]],
        "header": "0",
        "cookies": {"sid": ""},
        "form": [["meta[k]", "1"], ["draft", "false"]],
    }


class TestCharset:
    """The body's text is decoded as httpx2 decodes it, whether or not Content-Type names a charset."""

    BODY = "Grüße, 東京".encode()

    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "text/plain; charset=latin-1",
            "text/plain; CHARSET=\"iso-8859-1\"",
            "text/plain; charset=no-such-codec",
            "application/json; charset=utf-8",
            "text/plain; format=flowed",
        ],
    )
    def test_text_matches_httpx(self, content_type: str) -> None:
        body = b'"' + self.BODY + b'"' if "json" in content_type else self.BODY
        expected = response(content=body, headers={"content-type": content_type}).text
        assert only_text(to_call_result(response(content=body, headers={"content-type": content_type}))) == expected

    def test_default_encoding_of_a_response_without_charset_still_applies(self) -> None:
        latin = response(content="café".encode("latin-1"), headers={"content-type": "text/plain"},
                         default_encoding="latin-1")
        assert only_text(to_call_result(latin)) == "café"

    def test_error_excerpt_is_decoded_alike(self) -> None:
        failed = response(500, content="Fehler: ü".encode("latin-1"),
                          headers={"content-type": "text/plain; charset=latin-1"})
        assert "Fehler: ü" in only_text(to_call_result(failed))

    @pytest.mark.parametrize("status", [200, 502])
    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            ("application/json; charset=utf-16", '{"a": 1}'.encode("utf-16-le")[:-1]),
            ("text/plain; charset=utf-32", "abc".encode("utf-32-le") + b"\x00"),
        ],
        ids=["utf-16-odd", "utf-32-short"],
    )
    def test_a_body_its_charset_cannot_decode_is_an_error_result(
        self, status: int, content_type: str, body: bytes
    ) -> None:
        with pytest.raises(UnicodeError):
            _ = response(status, content=body, headers={"content-type": content_type}).text
        result = to_call_result(response(status, content=body, headers={"content-type": content_type}))
        assert result.is_error
        charset = content_type.rsplit("=", 1)[1]
        media_type = content_type.split(";")[0]
        assert f"the {media_type} body ({len(body)} bytes) cannot be decoded as its declared charset '{charset}'" in (
            only_text(result)
        )
