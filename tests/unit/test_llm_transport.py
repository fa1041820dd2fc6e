"""Provider HTTP: what Retry-After asks, how long to back off, and how provider errors reach the caller."""

from __future__ import annotations

import email.utils
import time

import pytest

from mcp_gateway.llm.providers.base import ProviderError
from mcp_gateway.llm.providers.transport import BACKOFF_CAP_SECONDS, backoff_seconds, retry_after_seconds, status_error


def test_retry_after_in_seconds_milliseconds_and_http_dates() -> None:
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after_seconds({"retry-after": soon}) or 0) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_backoff_grows_to_a_cap_unless_the_provider_said_how_long() -> None:
    assert backoff_seconds(0, 1.5) == 1.5
    assert 0.375 <= backoff_seconds(0, None) <= 0.5
    assert backoff_seconds(10, None) <= BACKOFF_CAP_SECONDS


@pytest.mark.parametrize(
    ("status", "body", "kind", "caller_status", "message"),
    [
        (400, b'{"error": {"message": "bad tools", "type": "invalid_request_error", "param": "tools"}}',
         "rejected", 400, "bad tools"),
        (404, b'{"type": "error", "error": {"type": "not_found_error", "message": "model: x"}}',
         "rejected", 404, "model: x"),
        (429, b'{"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}}',
         "rate_limited", 429, "Quota"),
        (500, b"<html>oops</html>", "server_error", 502, "answered 500: <html>oops</html>"),
        (529, b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
         "server_error", 502, "answered 529: Overloaded"),
    ],
)
def test_provider_errors_keep_the_providers_words_and_map_to_the_callers_status(
    status: int, body: bytes, kind: str, caller_status: int, message: str
) -> None:
    error = status_error("prov", status, body)
    assert (error.kind, error.caller_status, error.message) == (kind, caller_status, message)
    assert str(error) == f"prov: {message}"


def test_timeouts_and_unreachable_providers_have_their_own_statuses() -> None:
    assert ProviderError("timeout", "p", "slow").caller_status == 504
    assert ProviderError("unreachable", "p", "down").caller_status == 502
