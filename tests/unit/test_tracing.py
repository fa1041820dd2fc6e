"""The SDK's OpenTelemetry middleware runs only when the environment asks for traces."""

from __future__ import annotations

import pytest
from mcp.server._otel import OpenTelemetryMiddleware

from mcp_gateway.registry import Registry
from mcp_gateway.server.mcp import build_mcp_server
from mcp_gateway.server.tracing import tracing_enabled


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"MCP_GATEWAY_TRACING": "on"}, True),
        ({"MCP_GATEWAY_TRACING": "off", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_tracing_follows_the_opentelemetry_environment(environ: dict[str, str], expected: bool) -> None:
    assert tracing_enabled(environ) is expected


def _has_tracing(tracing: bool | None) -> bool:
    server = build_mcp_server(Registry([]), tracing=tracing)
    return any(isinstance(layer, OpenTelemetryMiddleware) for layer in server.middleware)


def test_the_sdk_middleware_is_dropped_unless_tracing() -> None:
    assert _has_tracing(True)
    assert not _has_tracing(False)


def test_the_environment_decides_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MCP_GATEWAY_TRACING", raising=False)
    assert not _has_tracing(None)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert _has_tracing(None)
