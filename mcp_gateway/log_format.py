"""How the gateway's log lines look: text for a person at a terminal, or JSON (`--log-format json`) for a log
pipeline: one object per line with the time, level, logger, message and the id of the HTTP request being served
(request_id.py); uvicorn's access lines carry their method, path, status and client as fields of their own.

The messages are the ones the text format shows, which the gateway writes without credentials. As a second line
of defence, JSON lines also mask anything shaped like a gateway key or a bearer token, since log pipelines
ship lines to places a terminal never reaches.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from mcp_gateway.request_id import current_request_id

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MASK = "[redacted]"
_SECRET_SHAPES = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}|\bmgw_[A-Za-z0-9_-]{8,}")
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
"""The arguments of uvicorn's access line, in its order."""


def _mask(text: str) -> str:
    return _SECRET_SHAPES.sub(lambda match: (match.group(1) or "") + _MASK, text)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was written for (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _mask(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            for field, value in zip(_ACCESS_FIELDS, record.args, strict=True):
                line[field] = _mask(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = _mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # The HTTP client logs every request URL at INFO; URLs can carry API keys in the query string.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
