"""Prometheus metrics of one gateway process, served at `GET /metrics` with the official `prometheus-client`.

What is counted as it happens (a few label look-ups and additions per request or call):
- HTTP requests by endpoint (the route's template, so `/mcp/{server}` is one endpoint) and status, with their
  durations; requests in flight;
- tool calls by server, tool and outcome, with latency histograms; tool calls in flight (from the registry, the one
  seam every front door calls tools through);
- upstream recoveries (an unhealthy server that came back);
- LLM model rounds by provider, model and outcome, with latencies, and tokens by provider, model and kind.

What is read only when scraped (nothing on the call path): every upstream's health state, MCP sessions open, and
the memory budget's bytes in use and capacity.

Labels are bounded by the configuration, never by what a caller sends: a tool label is a registered tool's own
name (a call naming no registered tool counts under empty server and tool labels), an endpoint label is a route
template (anything else is `other`), and no argument, id or key ever becomes a label.

Each gateway has its own `CollectorRegistry`: no process-global state, so several gateways (tests, the stdio
command's HTTP side) never mix their numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_gateway.upstreams.base import HealthState

if TYPE_CHECKING:
    from mcp_gateway.memory_budget import MemoryBudget
    from mcp_gateway.registry import Registry

HEALTH_STATES: tuple[HealthState, ...] = ("starting", "healthy", "unhealthy", "disabled")

_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_MODEL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)
OTHER_ENDPOINT = "other"
OTHER_MODEL = "other"
MODELS_PER_PROVIDER = 50
"""A caller names any model (`provider/anything`); past this many per provider, new names count as `other`."""


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "mcp_gateway_http_requests", "HTTP requests answered, by endpoint (route template) and status",
            ["endpoint", "status"], registry=registry,
        )
        self.request_seconds = Histogram(
            "mcp_gateway_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response (event streams: their whole life)",
            ["endpoint"], buckets=_CALL_BUCKETS, registry=registry,
        )
        self.requests_in_flight = Gauge(
            "mcp_gateway_http_requests_in_flight", "HTTP requests being answered, event streams included",
            registry=registry,
        )
        self.tool_calls = Counter(
            "mcp_gateway_tool_calls", "Tool calls by server, tool (its name on /mcp/{server}) and outcome",
            ["server", "tool", "outcome"], registry=registry,
        )
        self.tool_call_seconds = Histogram(
            "mcp_gateway_tool_call_duration_seconds", "Tool call latency, argument validation to result",
            ["server", "tool"], buckets=_CALL_BUCKETS, registry=registry,
        )
        self.tool_calls_in_flight = Gauge(
            "mcp_gateway_tool_calls_in_flight", "Tool calls running (waiting for a call limit included)",
            registry=registry,
        )
        self.upstream_recoveries = Counter(
            "mcp_gateway_upstream_recoveries", "Unhealthy upstream servers brought back", ["server"],
            registry=registry,
        )
        self.llm_rounds = Counter(
            "mcp_gateway_llm_rounds", "Model calls (one per tool-loop round) by provider, model and outcome",
            ["provider", "model", "outcome"], registry=registry,
        )
        self.llm_seconds = Histogram(
            "mcp_gateway_llm_round_duration_seconds", "Model call latency, request to last streamed event",
            ["provider", "model"], buckets=_MODEL_BUCKETS, registry=registry,
        )
        self.llm_tokens = Counter(
            "mcp_gateway_llm_tokens", "Tokens the providers reported, by kind (prompt, completion)",
            ["provider", "model", "kind"], registry=registry,
        )
        self._models: dict[str, set[str]] = {}
        self._state = _StateCollector()
        registry.register(self._state)

    def watch(
        self,
        registry: Registry,
        *,
        sessions: Callable[[], int] | None = None,
    ) -> None:
        """Report `registry`'s upstream health and the `sessions` count when scraped, and count every tool call
        the registry routes."""
        self._state.registry = registry
        self._state.sessions = sessions
        registry.observer = _RegistryObserver(self)

    def watch_memory(self, memory: MemoryBudget) -> None:
        """Report the memory budget's use when scraped."""
        self._state.memory = memory

    def round_finished(
        self, provider: str, model: str, outcome: str, seconds: float, prompt_tokens: int, completion_tokens: int
    ) -> None:
        """One model call of the tool loop."""
        model = self._model_label(provider, model)
        self.llm_rounds.labels(provider, model, outcome).inc()
        self.llm_seconds.labels(provider, model).observe(seconds)
        if prompt_tokens:
            self.llm_tokens.labels(provider, model, "prompt").inc(prompt_tokens)
        if completion_tokens:
            self.llm_tokens.labels(provider, model, "completion").inc(completion_tokens)

    def _model_label(self, provider: str, model: str) -> str:
        seen = self._models.setdefault(provider, set())
        if model in seen:
            return model
        if len(seen) >= MODELS_PER_PROVIDER:
            return OTHER_MODEL
        seen.add(model)
        return model

    def exposition(self) -> tuple[bytes, str]:
        """The text format Prometheus scrapes, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def middleware(self, app: ASGIApp, endpoints: Iterable[str]) -> ASGIApp:
        return _RequestMetrics(app, self, endpoints)


class _RegistryObserver:
    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def call_started(self) -> None:
        self._metrics.tool_calls_in_flight.inc()

    def call_finished(self, server: str, tool: str, outcome: str, seconds: float) -> None:
        metrics = self._metrics
        metrics.tool_calls_in_flight.dec()
        metrics.tool_calls.labels(server, tool, outcome).inc()
        if tool:
            metrics.tool_call_seconds.labels(server, tool).observe(seconds)

    def server_recovered(self, server: str) -> None:
        self._metrics.upstream_recoveries.labels(server).inc()


class _StateCollector(Collector):
    """What the gateway holds right now, read at scrape time so the call path pays nothing for it."""

    def __init__(self) -> None:
        self.registry: Registry | None = None
        self.sessions: Callable[[], int] | None = None
        self.memory: MemoryBudget | None = None

    def collect(self) -> Iterator[Metric]:
        if self.registry is not None:
            health = GaugeMetricFamily(
                "mcp_gateway_upstream_health", "1 for each server's current health state, 0 for the others",
                labels=["server", "state"],
            )
            for status in self.registry.servers():
                for state in HEALTH_STATES:
                    health.add_metric([status.name, state], 1.0 if status.health.state == state else 0.0)
            yield health
            tools = GaugeMetricFamily("mcp_gateway_upstream_tools", "Tools each server exposes", labels=["server"])
            for status in self.registry.servers():
                tools.add_metric([status.name], status.tool_count)
            yield tools
        if self.sessions is not None:
            yield GaugeMetricFamily(
                "mcp_gateway_mcp_sessions_open", "Handshake-era MCP sessions open over every endpoint",
                value=self.sessions(),
            )
        if self.memory is not None:
            yield GaugeMetricFamily(
                "mcp_gateway_memory_budget_used_bytes", "Upstream response bytes held now, over all calls",
                value=self.memory.used,
            )
            yield GaugeMetricFamily(
                "mcp_gateway_memory_budget_capacity_bytes", "The gateway-wide memory budget (--memory-budget)",
                value=self.memory.capacity,
            )


class _RequestMetrics:
    """Counts every HTTP request by endpoint and status, and times it."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics, endpoints: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self._endpoints = frozenset(endpoints)

    def endpoint(self, path: str) -> str:
        if path in self._endpoints:
            return path.rstrip("/") or "/"
        if path.startswith("/mcp/"):
            return "/mcp/{server}"
        if path.startswith("/.well-known/"):
            return "/.well-known/*"
        return OTHER_ENDPOINT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        status = 500
        """What the client sees if the app raises before it answers (the server then answers 500)."""

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        metrics.requests_in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            metrics.requests_in_flight.dec()
            endpoint = self.endpoint(scope["path"])
            metrics.requests.labels(endpoint, str(status)).inc()
            metrics.request_seconds.labels(endpoint).observe(time.perf_counter() - started)
