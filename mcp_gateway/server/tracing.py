"""Whether the gateway traces MCP requests with OpenTelemetry: only when an exporter is configured.

The SDK's low-level server wraps every request in an OpenTelemetry span by default. Without an exporter the spans
go nowhere, yet they cost about 2% of the CPU of a tool call (py-spy, benchmarks/peers.py --profile). So the
gateway keeps the SDK's tracing middleware only when the standard OpenTelemetry environment says spans are wanted:
an OTLP endpoint, or a traces exporter other than `none`. `MCP_GATEWAY_TRACING=on|off` overrides either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.lowlevel import Server

TRACING_VARIABLE = "MCP_GATEWAY_TRACING"
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_EXPORTER_VARIABLE = "OTEL_TRACES_EXPORTER"


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """Whether spans are wanted, by the standard OpenTelemetry variables (or the gateway's own override)."""
    override = environ.get(TRACING_VARIABLE, "").strip().lower()
    if override in ("on", "1", "true"):
        return True
    if override in ("off", "0", "false"):
        return False
    if environ.get(_EXPORTER_VARIABLE, "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in (*_ENDPOINT_VARIABLES, _EXPORTER_VARIABLE))


def apply_tracing(server: Server[Any], enabled: bool) -> None:
    """Keep or drop the SDK's OpenTelemetry middleware on a low-level server (its other middleware stays)."""
    if not enabled:
        server.middleware = [layer for layer in server.middleware if not isinstance(layer, OpenTelemetryMiddleware)]
