"""build_request: tool arguments + an HTTP binding become exactly the request the OpenAPI document describes."""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import mcp_types
import pytest

from mcp_gateway.auth.outbound import BearerAuth
from mcp_gateway.http import httpx
from mcp_gateway.openapi import invoke as invoke_module
from mcp_gateway.openapi.invoke import ArgumentError, build_request, invoke
from mcp_gateway.openapi.model import BodyBinding, FieldEncoding, HttpBinding, ParameterBinding, ToolSpec
from mcp_gateway.openapi.request import HeaderError

BASE = "https://api.example.com/v3"


def param(name: str, location: str = "query", *, argument: str | None = None, **options: Any) -> ParameterBinding:
    return ParameterBinding(argument=argument or name, name=name, location=location, **options)  # type: ignore[arg-type]


def build(
    *parameters: ParameterBinding,
    arguments: dict[str, Any],
    path: str = "/items",
    method: str = "GET",
    body: BodyBinding | None = None,
    **options: Any,
) -> httpx.Request:
    binding = HttpBinding(method=method, path=path, parameters=parameters, body=body)
    return build_request(binding, BASE, arguments, **options)


def query(request: httpx.Request) -> str:
    return request.url.query.decode()


def raw_path(request: httpx.Request) -> str:
    return request.url.raw_path.decode().partition("?")[0]


def multipart(request: httpx.Request) -> list[Message]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.read())
    return list(message.iter_parts())


class TestPath:
    def test_base_url_path_prefix_is_kept_with_or_without_trailing_slash(self) -> None:
        binding = HttpBinding("GET", "/pets/{id}", (param("id", "path", required=True),))
        for base in ("https://api.example.com/v3", "https://api.example.com/v3/"):
            assert str(build_request(binding, base, {"id": 7}).url) == "https://api.example.com/v3/pets/7"

    def test_a_value_cannot_leave_its_segment(self) -> None:
        request = build(param("name", "path"), path="/files/{name}", arguments={"name": "a/b?c#d%e f"})
        assert raw_path(request) == "/v3/files/a%2Fb%3Fc%23d%25e%20f"
        assert request.url.query == b""

    def test_traversal_text_inside_a_value_is_encoded_into_one_segment(self) -> None:
        request = build(param("name", "path"), path="/files/{name}", arguments={"name": "../../etc/passwd"})
        assert raw_path(request) == "/v3/files/..%2F..%2Fetc%2Fpasswd"

    @pytest.mark.parametrize("value", [".", "..", "..."])
    def test_values_made_only_of_dots_are_rejected(self, value: str) -> None:
        with pytest.raises(ArgumentError, match="'name'"):
            build(param("name", "path"), path="/files/{name}", arguments={"name": value})

    def test_empty_value_is_rejected_because_it_would_address_the_parent(self) -> None:
        with pytest.raises(ArgumentError, match="'id'"):
            build(param("id", "path"), path="/pets/{id}", arguments={"id": ""})

    def test_label_style_cannot_produce_a_dot_segment_either(self) -> None:
        with pytest.raises(ArgumentError, match="'id'"):
            build(param("id", "path", style="label"), path="/pets/{id}", arguments={"id": ""})

    def test_missing_path_argument_is_named(self) -> None:
        with pytest.raises(ArgumentError, match="missing required path argument 'owner'"):
            build(param("owner", "path", required=True), path="/repos/{owner}", arguments={})

    def test_argument_key_may_differ_from_wire_name(self) -> None:
        parameter = param("id", "path", argument="path_id")
        assert raw_path(build(parameter, path="/pets/{id}", arguments={"path_id": "x"})) == "/v3/pets/x"

    def test_falsy_values_fill_the_path(self) -> None:
        parameters = (param("n", "path"), param("flag", "path"))
        request = build(*parameters, path="/a/{n}/{flag}", arguments={"n": 0, "flag": False})
        assert raw_path(request) == "/v3/a/0/false"

    def test_placeholder_within_a_segment(self) -> None:
        request = build(param("name", "path"), path="/files/{name}.json", arguments={"name": "report"})
        assert raw_path(request) == "/v3/files/report.json"

    def test_template_placeholder_without_parameter_is_an_argument_error(self) -> None:
        with pytest.raises(ArgumentError, match=r"\{id\}"):
            build(path="/pets/{id}", arguments={})

    @pytest.mark.parametrize(
        ("style", "explode", "value", "expected"),
        [
            ("simple", False, [3, 4, 5], "3,4,5"),
            ("simple", True, [3, 4, 5], "3,4,5"),
            ("simple", False, {"role": "admin", "n": 1}, "role,admin,n,1"),
            ("simple", True, {"role": "admin", "n": 1}, "role=admin,n=1"),
            ("simple", False, ["a,b", "c"], "a%2Cb,c"),
            ("label", False, 5, ".5"),
            ("label", False, [3, 4, 5], ".3,4,5"),
            ("label", True, [3, 4, 5], ".3.4.5"),
            ("label", False, {"role": "admin", "n": 1}, ".role,admin,n,1"),
            ("label", True, {"role": "admin", "n": 1}, ".role=admin.n=1"),
            ("matrix", False, 5, ";id=5"),
            ("matrix", False, "", ";id"),
            ("matrix", False, [3, 4, 5], ";id=3,4,5"),
            ("matrix", True, [3, 4, 5], ";id=3;id=4;id=5"),
            ("matrix", False, {"role": "admin", "n": 1}, ";id=role,admin,n,1"),
            ("matrix", True, {"role": "admin", "n": 1}, ";role=admin;n=1"),
            ("matrix", False, True, ";id=true"),
        ],
    )
    def test_styles(self, style: str, explode: bool, value: Any, expected: str) -> None:
        parameter = param("id", "path", style=style, explode=explode)
        assert raw_path(build(parameter, path="/pets/{id}", arguments={"id": value})) == f"/v3/pets/{expected}"


class TestQuery:
    @pytest.mark.parametrize(
        ("style", "explode", "value", "expected"),
        [
            ("form", True, [1, 2], "id=1&id=2"),
            ("form", False, [1, 2], "id=1,2"),
            ("form", True, {"a": 1, "b": 2}, "a=1&b=2"),
            ("form", False, {"a": 1, "b": 2}, "id=a,1,b,2"),
            ("form", False, ["x,y", "z"], "id=x%2Cy,z"),
            ("spaceDelimited", False, [1, 2], "id=1%202"),
            ("spaceDelimited", True, [1, 2], "id=1&id=2"),
            ("pipeDelimited", False, [1, 2], "id=1|2"),
            ("pipeDelimited", False, ["a|b", "c"], "id=a%7Cb|c"),
            ("deepObject", None, {"a": 1, "b": {"c": 2}}, "id[a]=1&id[b][c]=2"),
            ("deepObject", None, {"tags": ["x", "y"]}, "id[tags][]=x&id[tags][]=y"),
        ],
    )
    def test_styles(self, style: str, explode: bool | None, value: Any, expected: str) -> None:
        assert query(build(param("id", style=style, explode=explode), arguments={"id": value})) == expected

    def test_form_explode_is_the_default(self) -> None:
        assert query(build(param("id"), arguments={"id": [1, 2]})) == "id=1&id=2"

    def test_deep_object_example_from_the_brief(self) -> None:
        request = build(param("filter", style="deepObject"), arguments={"filter": {"a": 1, "b": {"c": 2}}})
        assert query(request) == "filter[a]=1&filter[b][c]=2"

    def test_deep_object_needs_an_object(self) -> None:
        with pytest.raises(ArgumentError, match="'filter'"):
            build(param("filter", style="deepObject"), arguments={"filter": "a"})

    def test_values_are_percent_encoded_unless_reserved_characters_are_allowed(self) -> None:
        value = "a/b:c&d#e f"
        plain = build(param("q"), arguments={"q": value})
        reserved = build(param("q", allow_reserved=True), arguments={"q": value})
        assert query(plain) == "q=a%2Fb%3Ac%26d%23e%20f"
        # `&` and `#` stay escaped even so: literal, they would end the parameter or the URL.
        assert query(reserved) == "q=a/b:c%26d%23e%20f"
        assert reserved.url.params["q"] == value

    def test_falsy_values_are_sent(self) -> None:
        parameters = (param("zero"), param("no"), param("empty"), param("none", explode=False))
        request = build(*parameters, arguments={"zero": 0, "no": False, "empty": "", "none": []})
        assert query(request) == "zero=0&no=false&empty=&none="

    def test_exploded_empty_array_has_no_pair_to_send(self) -> None:
        assert query(build(param("ids"), arguments={"ids": []})) == ""

    def test_absent_and_null_optional_arguments_are_omitted(self) -> None:
        request = build(param("a"), param("b"), param("c"), arguments={"b": None, "c": 1})
        assert query(request) == "c=1"

    @pytest.mark.parametrize("arguments", [{}, {"q": None}])
    def test_missing_required_argument_is_named(self, arguments: dict[str, Any]) -> None:
        with pytest.raises(ArgumentError, match="missing required query argument 'q'"):
            build(param("q", required=True), arguments=arguments)

    def test_repeated_keys_keep_the_order_of_the_binding(self) -> None:
        parameters = (param("tag", argument="tags"), param("sort"), param("tag", argument="more_tags"))
        request = build(*parameters, arguments={"more_tags": ["z"], "tags": ["b", "a"], "sort": "name"})
        assert query(request) == "tag=b&tag=a&sort=name&tag=z"

    def test_odd_wire_names_are_sent_as_written(self) -> None:
        parameters = (param("$select", argument="select"), param("filter[state]", argument="filter_state"))
        request = build(*parameters, arguments={"select": "id,name", "filter_state": "open"})
        assert query(request) == "$select=id%2Cname&filter[state]=open"
        assert request.url.params.multi_items() == [("$select", "id,name"), ("filter[state]", "open")]

    def test_base_url_query_is_kept(self) -> None:
        binding = HttpBinding("GET", "/items", (param("q"),))
        request = build_request(binding, "https://h.example/api?api-version=2024", {"q": "x"})
        assert str(request.url) == "https://h.example/api/items?api-version=2024&q=x"


class TestHeadersAndCookies:
    def test_header_parameters_are_sent_in_simple_style(self) -> None:
        parameters = (param("X-Ids", "header", argument="ids"), param("X-Flag", "header", argument="flag"))
        request = build(*parameters, arguments={"ids": [1, 2], "flag": False})
        assert request.headers["X-Ids"] == "1,2"
        assert request.headers["X-Flag"] == "false"

    def test_header_object_explode(self) -> None:
        request = build(param("X-Obj", "header", argument="o", explode=True), arguments={"o": {"a": 1, "b": "x"}})
        assert request.headers["X-Obj"] == "a=1,b=x"

    def test_header_values_cannot_inject_lines(self) -> None:
        with pytest.raises(ArgumentError, match="'h'"):
            build(param("X-H", "header", argument="h"), arguments={"h": "ok\r\nX-Evil: 1"})

    def test_cookie_parameters_share_one_cookie_header(self) -> None:
        parameters = (param("a", "cookie"), param("b", "cookie"), param("ids", "cookie", explode=False))
        request = build(*parameters, arguments={"a": 1, "b": "", "ids": [1, 2]})
        assert request.headers["Cookie"] == "a=1; b=; ids=1,2"
        assert request.headers.get_list("Cookie") == ["a=1; b=; ids=1,2"]

    def test_cookie_values_cannot_break_the_header(self) -> None:
        request = build(param("a", "cookie"), arguments={"a": "x; admin=1, y"})
        assert request.headers["Cookie"] == "a=x%3B%20admin=1%2C%20y"

    def test_static_headers_come_first_and_parameters_win(self) -> None:
        static = {"X-Client": "gateway", "X-Mode": "static", "Cookie": "s=1"}
        parameters = (param("X-Mode", "header", argument="mode"), param("c", "cookie"))
        request = build(*parameters, arguments={"mode": "param", "c": 2}, headers=static)
        assert request.headers["X-Client"] == "gateway"
        assert request.headers.get_list("X-Mode") == ["param"]
        assert request.headers["Cookie"] == "s=1; c=2"


class TestArguments:
    def test_unknown_arguments_are_rejected_by_name(self) -> None:
        with pytest.raises(ArgumentError, match="unknown arguments 'limt', 'ordr'"):
            build(param("limit"), arguments={"limt": 1, "ordr": "x"})

    def test_arguments_are_not_mutated(self) -> None:
        arguments = {"filter": {"a": [1, {"b": None}]}, "id": "x", "name": "n", "tags": ["a"]}
        snapshot = copy.deepcopy(arguments)
        body = BodyBinding("application/json", properties=(("name", "name"), ("tags", "tags")))
        build(
            param("filter", style="deepObject"),
            param("id", "path"),
            path="/i/{id}",
            method="POST",
            body=body,
            arguments=arguments,
        )
        assert arguments == snapshot


class TestJsonBody:
    def test_flattened_properties_map_argument_keys_to_property_names(self) -> None:
        body = BodyBinding("application/json", properties=(("body_id", "id"), ("title", "title"), ("due", "due")))
        request = build(method="POST", body=body, arguments={"body_id": 0, "title": "", "due": None})
        assert request.headers["Content-Type"] == "application/json"
        # null is kept in JSON: a PATCH uses it to clear a field.
        assert json.loads(request.read()) == {"id": 0, "title": "", "due": None}

    def test_whole_body_argument_and_vendor_media_type(self) -> None:
        body = BodyBinding("application/vnd.github+json", argument="body", required=True)
        request = build(method="POST", body=body, arguments={"body": [1, False]})
        assert request.headers["Content-Type"] == "application/vnd.github+json"
        assert request.read() == b"[1,false]"

    def test_any_media_type_is_sent_as_json(self) -> None:
        body = BodyBinding("*/*", argument="body")
        request = build(method="POST", body=body, arguments={"body": {"a": "é"}})
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.read()) == {"a": "é"}

    def test_optional_body_with_nothing_given_is_not_sent(self) -> None:
        body = BodyBinding("application/json", properties=(("name", "name"),))
        request = build(method="POST", body=body, arguments={})
        assert request.read() == b""
        assert "Content-Type" not in request.headers

    def test_required_flattened_body_with_nothing_given_is_an_empty_object(self) -> None:
        body = BodyBinding("application/json", required=True, properties=(("name", "name"),))
        assert build(method="POST", body=body, arguments={}).read() == b"{}"

    def test_missing_required_whole_body_is_named(self) -> None:
        with pytest.raises(ArgumentError, match="'payload'"):
            build(method="POST", body=BodyBinding("application/json", required=True, argument="payload"), arguments={})

    def test_body_content_type_replaces_a_static_one(self) -> None:
        body = BodyBinding("application/json", argument="body")
        request = build(method="POST", body=body, arguments={"body": {}}, headers={"content-type": "text/plain"})
        assert request.headers.get_list("Content-Type") == ["application/json"]


class TestFormBody:
    def test_nested_objects_become_deep_object_keys_and_arrays_explode(self) -> None:
        body = BodyBinding(
            "application/x-www-form-urlencoded",
            properties=(("name", "name"), ("meta", "metadata"), ("tags", "tags"), ("ok", "ok"), ("gone", "gone")),
        )
        arguments = {"name": "a b&c", "meta": {"k": {"n": 1}}, "tags": ["x", "y"], "ok": False, "gone": None}
        request = build(method="POST", body=body, arguments=arguments)
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert request.read() == b"name=a%20b%26c&metadata[k][n]=1&tags=x&tags=y&ok=false"
        assert parse_qsl(request.read().decode()) == [
            ("name", "a b&c"),
            ("metadata[k][n]", "1"),
            ("tags", "x"),
            ("tags", "y"),
            ("ok", "false"),
        ]

    def test_field_encoding_style_and_content_type_are_honoured(self) -> None:
        body = BodyBinding(
            "application/x-www-form-urlencoded",
            argument="form",
            encoding={
                "ids": FieldEncoding(style="form", explode=False),
                "point": FieldEncoding(style="form", explode=True),
                "doc": FieldEncoding(content_type="application/json"),
            },
        )
        arguments = {"form": {"ids": [1, 2], "point": {"x": 1, "y": 2}, "doc": {"a": [1]}}}
        request = build(method="POST", body=body, arguments=arguments)
        assert request.read() == b"ids=1,2&x=1&y=2&doc=%7B%22a%22%3A%5B1%5D%7D"

    def test_whole_form_body_must_be_an_object(self) -> None:
        body = BodyBinding("application/x-www-form-urlencoded", argument="form")
        with pytest.raises(ArgumentError, match="'form'"):
            build(method="POST", body=body, arguments={"form": [1]})


class TestMultipartBody:
    def test_fields_files_arrays_and_objects(self) -> None:
        body = BodyBinding(
            "multipart/form-data",
            properties=(("name", "name"), ("count", "count"), ("tags", "tags"), ("meta", "meta"), ("doc", "doc")),
        )
        arguments = {
            "name": "report",
            "count": 0,
            "tags": ["a", "b"],
            "meta": {"k": 1},
            "doc": {"filename": "r.txt", "content": "hello"},
        }
        request = build(method="POST", body=body, arguments=arguments)
        assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        parts = [(p.get_param("name", header="content-disposition"), p.get_filename(), p) for p in multipart(request)]
        assert [(name, filename) for name, filename, _ in parts] == [
            ("name", None),
            ("count", None),
            ("tags", None),
            ("tags", None),
            ("meta", None),
            ("doc", "r.txt"),
        ]
        payloads = [part.get_payload(decode=True) for _, _, part in parts]
        assert payloads == [b"report", b"0", b"a", b"b", b'{"k":1}', b"hello"]
        assert parts[4][2].get_content_type() == "application/json"
        assert parts[5][2].get_content_type() == "text/plain"

    def test_base64_file_object_and_binary_encoding(self) -> None:
        png = b"\x89PNG\r\n\x1a\n\x00\xff"
        body = BodyBinding(
            "multipart/form-data",
            properties=(("image", "image"), ("raw", "raw")),
            encoding={"raw": FieldEncoding(content_type="application/octet-stream")},
        )
        arguments = {
            "image": {"filename": "a.png", "contentBase64": base64.b64encode(png).decode(), "contentType": "image/png"},
            "raw": "plain text as bytes",
        }
        image, raw = multipart(build(method="POST", body=body, arguments=arguments))
        assert (image.get_filename(), image.get_content_type(), image.get_payload(decode=True)) == (
            "a.png",
            "image/png",
            png,
        )
        assert (raw.get_filename(), raw.get_content_type(), raw.get_payload(decode=True)) == (
            "raw",
            "application/octet-stream",
            b"plain text as bytes",
        )

    def test_invalid_base64_is_an_argument_error(self) -> None:
        body = BodyBinding("multipart/form-data", properties=(("f", "f"),))
        with pytest.raises(ArgumentError, match="'f'"):
            build(method="POST", body=body, arguments={"f": {"contentBase64": "not base64!"}})


class TestTextAndBinaryBodies:
    def test_text_body_is_the_string(self) -> None:
        body = BodyBinding("text/plain; charset=utf-8", argument="text")
        request = build(method="POST", body=body, arguments={"text": "héllo"})
        assert request.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert request.read() == "héllo".encode()

    def test_octet_stream_from_a_string_is_its_utf8_bytes(self) -> None:
        body = BodyBinding("application/octet-stream", argument="data")
        request = build(method="PUT", body=body, arguments={"data": "ü"})
        assert request.headers["Content-Type"] == "application/octet-stream"
        assert request.read() == b"\xc3\xbc"

    def test_binary_from_a_base64_file_object(self) -> None:
        body = BodyBinding("image/*", argument="data")
        file_object = {"contentBase64": base64.b64encode(b"\x00\x01").decode(), "contentType": "image/gif"}
        request = build(method="PUT", body=body, arguments={"data": file_object})
        assert request.headers["Content-Type"] == "image/gif"
        assert request.read() == b"\x00\x01"

    def test_binary_body_rejects_other_shapes(self) -> None:
        with pytest.raises(ArgumentError, match="'data'"):
            build(method="PUT", body=BodyBinding("application/octet-stream", argument="data"), arguments={"data": 1})


def test_content_described_query_parameter_is_sent_as_one_json_string() -> None:
    binding = HttpBinding(
        method="GET",
        path="/search",
        parameters=(ParameterBinding("filter", "filter", "query", content_type="application/json"),),
    )
    request = build_request(binding, "http://api.test", {"filter": {"status": "open", "ids": [1, 0]}})
    assert request.url.params.get("filter") == '{"status":"open","ids":[1,0]}'


class TestHeadersThatCannotBeSent:
    def test_non_ascii_header_argument_is_an_argument_error(self) -> None:
        with pytest.raises(ArgumentError) as raised:
            build(param("X-Name", "header"), arguments={"X-Name": "héllo"})
        assert str(raised.value) == "argument 'X-Name': header values must be ASCII (RFC 9110)"

    def test_non_ascii_inside_an_exploded_header_object_is_refused_too(self) -> None:
        with pytest.raises(ArgumentError, match="'o': header values must be ASCII"):
            build(param("X-Obj", "header", argument="o", explode=True), arguments={"o": {"city": "Zürich"}})

    def test_non_ascii_configured_header_names_the_header_not_the_value(self) -> None:
        with pytest.raises(HeaderError) as raised:
            build(arguments={}, headers={"X-Team": "Équipe-secret"})
        assert str(raised.value) == "configured header 'X-Team': header values must be ASCII (RFC 9110)"

    @pytest.mark.parametrize(
        ("headers", "message"),
        [
            ({"X Team": "a"}, "configured header 'X Team': not a valid header name (RFC 9110 token)"),
            ({"X-Tëam": "a"}, "configured header 'X-Tëam': not a valid header name (RFC 9110 token)"),
            ({"X-Team": "a\r\nX-Evil: 1"}, "configured header 'X-Team': header values cannot contain line breaks"),
        ],
    )
    def test_configured_headers_that_httpx_could_not_send_are_refused(
        self, headers: dict[str, str], message: str
    ) -> None:
        with pytest.raises(HeaderError, match=re.escape(message)):
            build(arguments={}, headers=headers)

    def test_a_credential_header_that_cannot_be_sent_is_refused_without_its_value(self) -> None:
        with pytest.raises(HeaderError) as raised:
            build(arguments={}, auth=BearerAuth(token="tøken"))
        assert str(raised.value) == "credential header 'Authorization': header values must be ASCII (RFC 9110)"


NAMED_TOOL = ToolSpec(
    name="greet",
    source_name="greet",
    description="",
    input_schema={"type": "object", "properties": {"X-Name": {"type": "string"}}},
    binding=HttpBinding("GET", "/greet", (param("X-Name", "header"),)),
)


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request should be sent")


class TestInvokeWhenTheRequestCannotBeBuilt:
    @pytest.mark.anyio
    async def test_a_non_ascii_header_argument_is_an_error_result(self) -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(never_called)) as client:
            result = await invoke(client, NAMED_TOOL, BASE, {"X-Name": "héllo"})
        assert result.is_error
        assert result.content == [
            mcp_types.TextContent(
                text="invalid arguments for tool 'greet': argument 'X-Name': header values must be ASCII (RFC 9110)"
            )
        ]

    @pytest.mark.anyio
    async def test_a_configured_header_that_cannot_be_sent_is_an_error_result(self) -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(never_called)) as client:
            result = await invoke(client, NAMED_TOOL, BASE, {}, headers={"X-Team": "Équipe"})
        assert result.is_error
        assert result.content == [
            mcp_types.TextContent(
                text="cannot call tool 'greet': configured header 'X-Team': header values must be ASCII (RFC 9110)"
            )
        ]

    @pytest.mark.anyio
    async def test_any_other_failure_is_an_error_result_naming_the_tool_and_logged_without_arguments(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        def unforeseen(*args: Any, **kwargs: Any) -> httpx.Request:
            raise UnicodeEncodeError("ascii", "héllo", 1, 2, "ordinal not in range(128)")

        monkeypatch.setattr(invoke_module, "build_request", unforeseen)
        async with httpx.AsyncClient(transport=httpx.MockTransport(never_called)) as client:
            with caplog.at_level(logging.WARNING, logger=invoke_module.__name__):
                result = await invoke(client, NAMED_TOOL, BASE, {"X-Name": "s3cret-value"})

        assert result.is_error
        assert result.content == [
            mcp_types.TextContent(text="cannot build the request for tool 'greet' (UnicodeEncodeError)")
        ]
        (record,) = caplog.records
        assert record.levelno == logging.WARNING and record.exc_info is not None
        assert "greet" in record.getMessage()
        assert "s3cret-value" not in caplog.text
