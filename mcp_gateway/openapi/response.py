"""An upstream HTTP response as an MCP tool result. Pure: the response must already be read.

Every text that leaves here has the call's secrets redacted, including URLs that carried an API key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from contextlib import suppress
from http import HTTPStatus
from typing import Any

import mcp_types

from mcp_gateway.auth.outbound import redact
from mcp_gateway.http import httpx
from mcp_gateway.openapi.body import body_kind

MAX_STRUCTURED_BYTES = 256 * 1024
"""JSON bodies up to this size are also returned parsed, as `structuredContent`; larger ones only as text."""
MAX_BINARY_BYTES = 5 * 1024 * 1024
"""Binary bodies above this are described, not embedded: base64 would make them a third larger again."""


def to_call_result(
    response: httpx.Response, *, secrets: Sequence[str] = (), max_excerpt: int = 2000
) -> mcp_types.CallToolResult:
    _skip_charset_parsing(response)
    status_line = f"HTTP {response.status_code} {reason_phrase(response)}"
    if not response.is_success:
        return error_result(_error_text(response, status_line, secrets, max_excerpt))
    if response.status_code == 204 or not response.content:
        return text_result(status_line if response.status_code == 204 else f"{status_line} (empty body)")
    kind = _response_kind(response)
    if kind == "binary":
        return _binary_result(response, status_line, secrets)
    text = _text(response)
    if text is None:
        return error_result(f"{status_line}: {_undecodable(response)}")
    if kind == "json" and len(response.content) <= MAX_STRUCTURED_BYTES:
        # Larger JSON goes as text alone, which serves every client; parsing it too would hold the body again as
        # Python objects (several times its size) and send it twice.
        parsed = _parse_json(response)
        if parsed is not _NOT_JSON:
            structured = _redact_json(parsed, secrets)
            return mcp_types.CallToolResult(
                content=[mcp_types.TextContent(text=redact(text, secrets))],
                structured_content=structured if isinstance(structured, dict) else {"result": structured},
            )
    return text_result(redact(text, secrets))


def reason_phrase(response: httpx.Response) -> str:
    if response.reason_phrase:
        return response.reason_phrase
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def text_result(text: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(text=text)])


def error_result(text: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(text=text)], is_error=True)


def public_url(url: httpx.URL, secrets: Sequence[str]) -> str:
    """The URL as it may be shown: no user-info, secrets in the query replaced."""
    return redact(str(url.copy_with(username=None, password=None)), secrets)


def _skip_charset_parsing(response: httpx.Response) -> None:
    """httpx2 finds a body's charset by parsing Content-Type with `email.message` (a fifth of this module's CPU
    for a small JSON answer); a Content-Type that does not mention a charset names none, so the response's default
    encoding applies, as httpx2 itself would decide."""
    if "charset" in response.headers.get("content-type", "").lower() or not isinstance(response.default_encoding, str):
        return
    with suppress(ValueError):  # its text was already decoded: nothing left to save
        response.encoding = response.default_encoding


def _text(response: httpx.Response) -> str | None:
    """The body as text, or None when its charset cannot decode it. httpx2 replaces bytes a charset cannot read, but
    some codecs refuse a whole body instead (UTF-16 or UTF-32 without a byte-order mark and of a length that is not
    a multiple of the unit: "UTF-16 stream does not start with BOM"), with a UnicodeError that is no
    UnicodeDecodeError."""
    try:
        if response.encoding == "utf-8":
            # What httpx2's incremental decoder makes of a whole body, without building one per response.
            return response.content.decode("utf-8", "replace")
        return response.text
    except UnicodeError:
        return None


def _undecodable(response: httpx.Response) -> str:
    return (
        f"the {_media_type(response) or 'response'} body ({len(response.content)} bytes) cannot be decoded as "
        f"its declared charset {response.encoding or ''!r}"
    )


class _NotJson:
    pass


_NOT_JSON = _NotJson()


def _parse_json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _response_kind(response: httpx.Response) -> str:
    media_type = _media_type(response)
    if media_type:
        kind = body_kind(media_type)
        # `*/*` is JSON for a request body we write, but a response that says it carries "anything" is sniffed.
        if media_type != "*/*":
            return "text" if kind in ("form", "multipart") else kind
    try:
        response.content.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "json" if _parse_json(response) is not _NOT_JSON else "text"


def _redact_json(value: Any, secrets: Sequence[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_redact_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact(key, secrets): _redact_json(item, secrets) for key, item in value.items()}
    return value


def _error_text(response: httpx.Response, status_line: str, secrets: Sequence[str], max_excerpt: int) -> str:
    details: list[str] = []
    location = response.headers.get("location")
    if response.is_redirect and location:
        details.append(f"redirected to {location}")
    if response.content:
        details.append(_excerpt(response, max_excerpt, secrets))
    text = f"{status_line}: {' '.join(details)}" if details else status_line
    return redact(text, secrets)


def _excerpt(response: httpx.Response, max_excerpt: int, secrets: Sequence[str]) -> str:
    kind = _response_kind(response)
    if kind == "binary":
        return f"<{len(response.content)} bytes of {_media_type(response) or 'binary data'}>"
    parsed = _parse_json(response) if kind == "json" else _NOT_JSON
    if parsed is _NOT_JSON:
        text = _text(response)
        if text is None:
            return f"<{_undecodable(response)}>"
        body = text
    else:
        body = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    # Redact before cutting, so the cut cannot leave a recognisable piece of a secret behind.
    body = redact(body, secrets)
    if len(body) <= max_excerpt:
        return body
    return f"{body[:max_excerpt]}… ({len(body) - max_excerpt} more characters)"


def _binary_result(response: httpx.Response, status_line: str, secrets: Sequence[str]) -> mcp_types.CallToolResult:
    media_type = _media_type(response) or "application/octet-stream"
    size = len(response.content)
    if size > MAX_BINARY_BYTES:
        limit_mb = MAX_BINARY_BYTES // (1024 * 1024)
        return text_result(
            f"{status_line}: {media_type} body of {size} bytes not returned (over the {limit_mb} MB limit)"
        )
    resource = mcp_types.BlobResourceContents(
        uri=public_url(response.request.url, secrets),
        mime_type=media_type,
        blob=base64.b64encode(response.content).decode("ascii"),
    )
    return mcp_types.CallToolResult(
        content=[
            mcp_types.TextContent(text=f"{status_line}: {media_type}, {size} bytes"),
            mcp_types.EmbeddedResource(resource=resource),
        ]
    )
