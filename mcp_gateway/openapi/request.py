"""Tool arguments + HTTP binding -> one httpx.Request. Pure: no I/O, and the caller's arguments are only read.

Order of precedence for headers: static config headers first, then header parameters, then the body's
Content-Type, then credentials — so a parameter can refine config, and nothing can displace the credential.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache, partial
from typing import Any

from httpx2._urlparse import MAX_URL_LENGTH

from mcp_gateway.auth.outbound import CredentialSource
from mcp_gateway.http import httpx
from mcp_gateway.openapi.arguments import ArgumentError, provided, require
from mcp_gateway.openapi.body import encode_body
from mcp_gateway.openapi.model import HttpBinding, ParameterBinding
from mcp_gateway.openapi.serialize import (
    ValueShapeError,
    encode_cookie_value,
    encode_key,
    encode_query_value,
    expand_cookie,
    expand_header,
    expand_pairs,
    expand_path,
    join_pairs,
)

__all__ = ["ArgumentError", "HeaderError", "build_request", "join_url"]

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# RFC 9110 section 5.1: a field name is a token.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class HeaderError(ValueError):
    """A configured or credential header cannot be sent. The message names the header, never its value."""


def build_request(
    binding: HttpBinding,
    base_url: str,
    arguments: Mapping[str, Any],
    *,
    auth: CredentialSource | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Request:
    _reject_unknown(binding, arguments)
    path = _fill_path(binding, arguments)
    query: list[tuple[str, str]] = []
    cookies: list[tuple[str, str]] = []
    header_map = _HeaderMap()
    for name, value in (headers or {}).items():
        header_map.set(name, _checked_header(name, value, "configured"))
    for parameter in binding.parameters:
        if parameter.location == "path" or not _wanted(parameter, arguments):
            continue
        value = _content_encoded(parameter, arguments[parameter.argument])
        try:
            if parameter.location == "query":
                query.extend(
                    expand_pairs(
                        parameter.name,
                        value,
                        parameter.style,
                        parameter.explode,
                        encode_value=partial(encode_query_value, allow_reserved=parameter.allow_reserved),
                    )
                )
            elif parameter.location == "header":
                header_map.set(parameter.name, expand_header(value, parameter.explode))
            else:
                cookies.extend(expand_cookie(parameter.name, value, parameter.explode))
        except ValueShapeError as error:
            raise ArgumentError(f"argument '{parameter.argument}': {error}") from error

    body = encode_body(binding.body, arguments) if binding.body else None
    if body is not None:
        header_map.remove("content-type")
        if body.content_type:
            header_map.set("Content-Type", body.content_type)

    if auth is not None:
        credentials = auth.credentials()
        for name, secret in credentials.headers:
            header_map.set(name, _checked_header(name, secret, "credential"))
        query = _replace_pairs(query, [(encode_key(k), encode_query_value(v)) for k, v in credentials.query])
        cookies = _replace_pairs(cookies, [(encode_key(k), encode_cookie_value(v)) for k, v in credentials.cookies])
    if cookies:
        header_map.set("Cookie", "; ".join(filter(None, [header_map.get("cookie"), join_pairs(cookies, "; ")])))

    return httpx.Request(
        binding.method,
        parsed_url(join_url(base_url, path, query)),
        headers=header_map.items(),
        content=body.content if body and not body.parts else None,
        files=list(body.parts) if body and body.parts else None,
    )


def join_url(base_url: str, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
    """Append an expanded path to a base URL, keeping the base's own path prefix and query."""
    base, _, base_query = base_url.partition("#")[0].partition("?")
    url = base.rstrip("/") + ("" if path.startswith("/") else "/") + path
    query_string = "&".join(part for part in (base_query, join_pairs(query)) if part)
    return f"{url}?{query_string}" if query_string else url


# What httpx2's URL parser leaves exactly as written (printable ASCII outside its percent-encode sets; no '#'): a
# path and a query made only of these need neither quoting nor validating again.
_PLAIN_PATH = re.compile(r"[!$-;=@-_a-z|~]*")
_PLAIN_QUERY = re.compile(r"[!$-;=?-~]*")


def parsed_url(url: str) -> httpx.URL | str:
    """`url` as httpx2 parses it; the usual request URL (http(s), a plain path and query) without parsing it
    whole: its origin is parsed once per upstream, and the rest is taken as written, which is what the parser
    would make of it. Any other URL is returned as is, for httpx2 to parse.

    Why: httpx2 checks and quotes every character of every request URL in Python, ~12% of the gateway's CPU for
    an OpenAPI call (tests/unit/test_openapi_request.py compares both ways)."""
    scheme, separator, rest = url.partition("://")
    if separator != "://" or scheme not in ("http", "https") or len(url) > MAX_URL_LENGTH:
        return url
    authority_end = len(rest)
    # RFC 3986 ends the authority at "/", "?" or "#"; a fragment then fails the plain-path check and falls back.
    for delimiter in "/?#":
        position = rest.find(delimiter)
        if position != -1 and position < authority_end:
            authority_end = position
    path, question, query = rest[authority_end:].partition("?")
    if (
        not _PLAIN_PATH.fullmatch(path)
        or not _PLAIN_QUERY.fullmatch(query)
        or (path and not path.startswith("/"))
        or ("." in path and any(segment in (".", "..") for segment in path.split("/")))
    ):
        return url
    origin = _parsed_origin(url[: len(scheme) + 3 + authority_end])
    fast = httpx.URL.__new__(httpx.URL)
    fast._uri_reference = origin._replace(path=path, query=query if question else None)
    return fast


@lru_cache(maxsize=256)
def _parsed_origin(origin: str) -> Any:
    # httpx2's ParseResult of "scheme://authority" (host encoded, port normalised); a URL without a path has "".
    return httpx.URL(origin)._uri_reference


def _known_arguments(binding: HttpBinding) -> set[str]:
    known = {parameter.argument for parameter in binding.parameters}
    if binding.body is not None:
        if binding.body.argument is not None:
            known.add(binding.body.argument)
        known.update(key for key, _ in binding.body.properties)
    return known


def _reject_unknown(binding: HttpBinding, arguments: Mapping[str, Any]) -> None:
    # A misspelt argument silently dropped would send a different request than the model intended.
    unknown = sorted(set(arguments) - _known_arguments(binding))
    if unknown:
        listed = ", ".join(f"'{key}'" for key in unknown)
        raise ArgumentError(f"unknown argument{'s' if len(unknown) > 1 else ''} {listed}")


def _wanted(parameter: ParameterBinding, arguments: Mapping[str, Any]) -> bool:
    if provided(arguments, parameter.argument):
        return True
    if parameter.required:
        raise ArgumentError(f"missing required {parameter.location} argument '{parameter.argument}'")
    return False


def _fill_path(binding: HttpBinding, arguments: Mapping[str, Any]) -> str:
    by_name = {parameter.name: parameter for parameter in binding.parameters if parameter.location == "path"}
    filled_segments: list[str] = []
    for segment, names in _path_segments(binding.path):
        if not names:
            filled_segments.append(segment)
            continue
        if len(names) == 1 and segment == f"{{{names[0]}}}":
            filled = _path_value(by_name, names[0], arguments)  # the usual segment: one placeholder, alone
        else:
            filled = _PLACEHOLDER.sub(lambda match: _path_value(by_name, match.group(1), arguments), segment)
        # An expansion that leaves the segment empty or made of dots would address a different resource.
        if not filled.strip("."):
            arguments_named = ", ".join(f"'{by_name[name].argument}'" for name in names)
            raise ArgumentError(f"path argument {arguments_named} would make the path segment {filled!r}")
        filled_segments.append(filled)
    return "/".join(filled_segments)


@lru_cache(maxsize=4096)
def _path_segments(path: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A path template's segments, each with the placeholders it holds: found once per operation, not per call."""
    return tuple((segment, tuple(_PLACEHOLDER.findall(segment))) for segment in path.split("/"))


def _content_encoded(parameter: ParameterBinding, value: Any) -> Any:
    """A `content`-described parameter travels as one serialized string (OpenAPI: style does not apply)."""
    if parameter.content_type is None or isinstance(value, str):
        return value
    if "json" in parameter.content_type.split(";")[0]:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _path_value(by_name: Mapping[str, ParameterBinding], name: str, arguments: Mapping[str, Any]) -> str:
    parameter = by_name.get(name)
    if parameter is None:
        raise ArgumentError(f"path template has {{{name}}} but the operation declares no such path parameter")
    value = _content_encoded(parameter, require(arguments, parameter.argument, "path"))
    if isinstance(value, str) and value and not value.strip("."):
        raise ArgumentError(f"path argument '{parameter.argument}' cannot be {value!r}")
    try:
        return expand_path(name, value, parameter.style, parameter.explode)
    except ValueShapeError as error:
        raise ArgumentError(f"argument '{parameter.argument}': {error}") from error


def _checked_header(name: str, value: str, origin: str) -> str:
    """A configured or credential header, as is; raises HeaderError when it could not be sent as written."""
    if not _FIELD_NAME.fullmatch(name):
        raise HeaderError(f"{origin} header {name!r}: not a valid header name (RFC 9110 token)")
    if any(char in value for char in "\r\n\0"):
        raise HeaderError(f"{origin} header '{name}': header values cannot contain line breaks or NUL")
    if not value.isascii():
        raise HeaderError(f"{origin} header '{name}': header values must be ASCII (RFC 9110)")
    return value


def _replace_pairs(pairs: list[tuple[str, str]], replacements: list[tuple[str, str]]) -> list[tuple[str, str]]:
    replaced = {key for key, _ in replacements}
    return [pair for pair in pairs if pair[0] not in replaced] + replacements


class _HeaderMap:
    """Headers by case-insensitive name; setting a name replaces every earlier value of it."""

    def __init__(self) -> None:
        self._headers: dict[str, tuple[str, str]] = {}

    def set(self, name: str, value: str) -> None:
        self._headers[name.lower()] = (name, value)

    def get(self, name: str) -> str | None:
        entry = self._headers.get(name.lower())
        return entry[1] if entry else None

    def remove(self, name: str) -> None:
        self._headers.pop(name.lower(), None)

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers.values())
