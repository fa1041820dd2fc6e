"""Outbound auth: configured as in servers.json, placed on the request, and never shown."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from pydantic import TypeAdapter, ValidationError

from mcp_gateway.auth.outbound import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    OutboundAuth,
    header_secrets,
    is_secret_header,
    redact,
)
from mcp_gateway.openapi.invoke import build_request
from mcp_gateway.openapi.model import HttpBinding, ParameterBinding

AUTH: TypeAdapter[OutboundAuth] = TypeAdapter(OutboundAuth)
BINDING = HttpBinding(
    "GET",
    "/items",
    (
        ParameterBinding("api_key", "api_key", "query"),
        ParameterBinding("q", "q", "query"),
        ParameterBinding("sid", "sid", "cookie"),
    ),
)


def request_with(config: dict[str, Any], arguments: dict[str, Any] | None = None, **options: Any) -> Any:
    return build_request(
        BINDING, "https://api.example.com", arguments or {}, auth=AUTH.validate_python(config), **options
    )


def test_bearer_from_servers_json() -> None:
    auth = AUTH.validate_python({"type": "bearer", "token": "t0k"})
    assert isinstance(auth, BearerAuth)
    assert request_with({"type": "bearer", "token": "t0k"}).headers["Authorization"] == "Bearer t0k"
    assert auth.secrets() == ["t0k"]


def test_api_key_in_query_is_added_after_parameters() -> None:
    auth = AUTH.validate_python({"type": "apiKey", "in": "query", "name": "api_key", "value": "k"})
    assert isinstance(auth, ApiKeyAuth)
    assert auth.in_ == "query"
    request = request_with({"type": "apiKey", "in": "query", "name": "api_key", "value": "k&1"}, {"q": "x"})
    assert request.url.query == b"q=x&api_key=k%261"


def test_api_key_in_query_replaces_a_parameter_of_the_same_name() -> None:
    request = request_with({"type": "apiKey", "in": "query", "name": "api_key", "value": "real"}, {"api_key": "guess"})
    assert request.url.params.get_list("api_key") == ["real"]


def test_api_key_in_header_wins_over_static_headers() -> None:
    config = {"type": "apiKey", "in": "header", "name": "X-Api-Key", "value": "k"}
    request = request_with(config, headers={"x-api-key": "stale", "X-Other": "1"})
    assert request.headers.get_list("X-Api-Key") == ["k"]
    assert request.headers["X-Other"] == "1"


def test_api_key_in_cookie_joins_cookie_parameters() -> None:
    request = request_with({"type": "apiKey", "in": "cookie", "name": "session", "value": "s3"}, {"sid": 1})
    assert request.headers["Cookie"] == "sid=1; session=s3"


def test_basic_from_servers_json() -> None:
    request = request_with({"type": "basic", "username": "u", "password": "p"})
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()


def test_in_may_also_be_given_by_its_python_name() -> None:
    by_name = ApiKeyAuth(type="apiKey", in_="header", name="X-Key", value="v")
    assert by_name.in_ == "header"


@pytest.mark.parametrize(
    "config",
    [
        {"type": "bearer", "token": "t", "extra": 1},
        {"type": "apiKey", "in": "body", "name": "k", "value": "v"},
        {"type": "apiKey", "in": "query", "name": "", "value": "v"},
        {"type": "oauth", "token": "t"},
        {"type": "basic", "username": "u"},
    ],
)
def test_invalid_configs_are_rejected(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AUTH.validate_python(config)


@pytest.mark.parametrize(
    "config",
    [
        {"type": "bearer", "token": "s3cr3t-token"},
        {"type": "apiKey", "in": "query", "name": "api_key", "value": "s3cr3t-token"},
        {"type": "basic", "username": "u", "password": "s3cr3t-token"},
    ],
)
def test_secrets_do_not_show_in_repr_str_or_dump(config: dict[str, Any]) -> None:
    auth = AUTH.validate_python(config)
    for shown in (repr(auth), str(auth), str(auth.model_dump(mode="json")), auth.model_dump_json()):
        assert "s3cr3t-token" not in shown
    assert "s3cr3t-token" in auth.secrets()


def test_basic_auth_treats_the_encoded_pair_as_a_secret() -> None:
    auth = BasicAuth(username="u", password="p")
    assert base64.b64encode(b"u:p").decode() in auth.secrets()


def test_credential_like_static_headers_are_secrets() -> None:
    headers = {"Authorization": "a", "X-Api-Key": "b", "X-Auth-Token": "c", "Cookie": "d", "Accept": "e"}
    assert header_secrets(headers) == ["a", "b", "c", "d"]
    assert not is_secret_header("User-Agent")


def test_redact_removes_raw_and_url_encoded_forms() -> None:
    text = "key=a b/c&enc=a%20b%2Fc&plus=a+b%2Fc"
    assert redact(text, ["a b/c"]) == "key=***&enc=***&plus=***"


def test_redact_prefers_the_longest_secret() -> None:
    assert redact("token abcdef", ["abc", "abcdef"]) == "token ***"


def test_redact_ignores_empty_secrets() -> None:
    assert redact("unchanged", ["", ""]) == "unchanged"


def test_redact_covers_every_encoding_the_request_builder_writes() -> None:
    from mcp_gateway.openapi.serialize import encode_cookie_value, encode_query_value

    secret = 'p@ss w/rd"é+&'
    encoded = [secret, encode_query_value(secret), encode_cookie_value(secret), quote_plus(secret),
               json.dumps(secret), json.dumps(secret, ensure_ascii=False),
               base64.b64encode(f"user:{secret}".encode()).decode()]
    text = " | ".join(encoded)
    redacted = redact(text, BasicAuth(username="user", password=secret).secrets())
    for form in encoded:
        assert form.strip('"') not in redacted, form
