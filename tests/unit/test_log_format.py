"""The JSON log format: one object per line, uvicorn's access fields, and the mask for key-shaped strings."""

from __future__ import annotations

import json
import logging
import sys

from mcp_gateway.log_format import JsonFormatter, RequestIdFilter


def formatted(name: str, message: str, *args: object, exc: bool = False) -> dict[str, object]:
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, None)
    if exc:
        try:
            raise RuntimeError("failed with Authorization: Bearer abcdefghijklmnop")
        except RuntimeError:
            record.exc_info = sys.exc_info()
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_a_line_is_one_object_without_a_request_id_outside_requests() -> None:
    line = formatted("mcp_gateway.registry", "server '%s' recovered", "api")
    assert line["message"] == "server 'api' recovered"
    assert (line["level"], line["logger"]) == ("warning", "mcp_gateway.registry")
    assert "request_id" not in line


def test_uvicorns_access_line_gets_fields_of_its_own() -> None:
    line = formatted("uvicorn.access", '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST", "/mcp", "1.1", 200)
    assert (line["method"], line["path"], line["status"], line["client"]) == ("POST", "/mcp", 200, "127.0.0.1:5")


def test_key_and_bearer_shaped_strings_are_masked_in_messages_and_tracebacks() -> None:
    line = formatted("x", "sent %s with key %s", "Bearer eyJhbGciOi.abc.def", "mgw_0123456789abcdef", exc=True)
    text = json.dumps(line)
    assert "eyJhbGciOi" not in text and "mgw_0123456789abcdef" not in text and "abcdefghijklmnop" not in text
    assert line["message"] == "sent Bearer [redacted] with key [redacted]"
