"""`parsed_url`, the request URL without httpx2 parsing it whole, must be exactly what httpx2's parser makes of it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_gateway.http import httpx
from mcp_gateway.openapi.request import parsed_url

ORIGINS = [
    "http://127.0.0.1:8080",
    "https://API.Example.com",
    "https://api.example.com:443",
    "http://user:p%40ss@host:80",
    "http://[::1]:9000",
    "https://bücher.example",
    "HTTP://upper.example",
    "http://",
]
# Every printable ASCII character, the ones the parser quotes or treats specially included, and a few beyond.
TAIL_CHARACTERS = st.sampled_from([chr(code) for code in range(0x20, 0x7F)] + ["é", "\t", "\x7f", "%41", "%zz"])


def as_url(url: httpx.URL | str) -> httpx.URL:
    return url if isinstance(url, httpx.URL) else httpx.URL(url)


def parse_result(url: httpx.URL | str) -> object:
    return as_url(url)._uri_reference


def assert_parsed_alike(url: str) -> None:
    try:
        expected = httpx.URL(url)
    except httpx.InvalidURL:
        with pytest.raises(httpx.InvalidURL):
            parse_result(parsed_url(url))
        return
    fast = parsed_url(url)
    assert parse_result(fast) == expected._uri_reference
    assert str(as_url(fast)) == str(expected)
    assert httpx.Request("GET", fast).url == httpx.Request("GET", url).url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/items/item-42?limit=5&verbose=true&q=chairs",
        "http://127.0.0.1:8080/items/a%2Fb?q=%zz%41",
        "http://127.0.0.1:8080/a/./b/../c",
        "http://127.0.0.1:8080/a/.hidden/..x",
        "http://127.0.0.1:8080/items/{id}?q=a b",
        "http://127.0.0.1:8080?x=1",
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/p#frag",
        "http://127.0.0.1:8080/p?q=é",
        "https://api.example.com:443/x?y",
        "https://api.example.com/x?",
        "ftp://example.com/x",
        "http:/relative",
        "http://host:notaport/x",
        "http://127.0.0.1:8080/a?b=c?d/e",
        "http://127.0.0.1:8080#/",
        "http://127.0.0.1:8080?#/",
    ],
)
def test_request_urls_parse_as_httpx_parses_them(url: str) -> None:
    assert_parsed_alike(url)


def test_the_usual_url_takes_the_fast_path() -> None:
    # The test above would also pass if every URL fell back to httpx2: this one must not.
    assert isinstance(parsed_url("http://127.0.0.1:8080/items/item-42?limit=5&q=a+b"), httpx.URL)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ORIGINS), st.lists(TAIL_CHARACTERS, max_size=40).map("".join), st.booleans())
def test_any_tail_parses_as_httpx_parses_it(origin: str, tail: str, slash: bool) -> None:
    assert_parsed_alike(origin + ("/" if slash else "") + tail)
