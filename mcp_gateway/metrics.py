"""Prometheus metrics of one gateway process, served at `GET /metrics` with the official `prometheus-client`.

What is counted as it happens (a few label look-ups and additions per request or call):
- HTTP requests by endpoint (the route's template, so `/mcp/{server}` is one endpoint) and status, with their
  durations; requests in flight;
- tool calls by server, tool and outcome, with latency histograms; tool calls in flight (from the registry, the one
  seam every front door calls tools through);
- upstream recoveries (an unhealthy server that came back, as the registry's periodic retry sees it);
- LLM model rounds by provider, model and outcome, with latencies, and tokens by provider, model and kind.

What is read only when scraped (nothing on the call path): every upstream's health state, how often each MCP
upstream's connection was opened again after it had been established (a lost connection re-established, by a call,
the liveness ping or the retry), MCP sessions open, and the memory budget's bytes in use and capacity.

Labels are bounded by the configuration, never by what a caller sends: a tool label is a registered tool's own
name (a call naming no registered tool counts under empty server and tool labels), an endpoint label is a route
template (anything else is `other`), and no argument, id or key ever becomes a label.

Each gateway has its own `CollectorRegistry`: no process-global state, so several gateways (tests, the stdio
command's HTTP side) never mix their numbers.

`serve --workers N` (server/workers.py): one scrape answers for every worker, through the client's multiprocess
mode. The parent makes a fresh directory before forking (`across_workers`), every worker's values live in files
there, and a scrape sums them (gauges of calls in flight, sessions and memory by their sum over live workers,
upstream health and tool counts by their maximum). The state read at scrape time is mirrored into those files by
each worker every few seconds, so another worker's part of it can be that old. The directory is removed when the
gateway stops.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import anyio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

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


MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""Where prometheus-client's multiprocess mode keeps every process's values (it reads this variable)."""
MIRROR_INTERVAL_SECONDS = 5.0
_MAXIMUM_OVER_WORKERS = frozenset({"mcp_gateway_upstream_health", "mcp_gateway_upstream_tools"})
"""Scrape-time gauges that are the same kind of fact in every worker (not parts of a total)."""


@contextmanager
def across_workers() -> Iterator[Path]:
    """Metrics of the processes forked inside the block go to one fresh directory, which a scrape in any of them
    reads whole; the directory is removed afterwards. Call before anything creates a metric."""
    directory = Path(tempfile.mkdtemp(prefix="mcp-gateway-metrics-"))
    previous_class, previous_dir = values.ValueClass, os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]  # files per pid, each worker its own
    try:
        yield directory
    finally:
        values.ValueClass = previous_class
        if previous_dir is None:
            os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)
        else:
            os.environ[MULTIPROCESS_DIR_VARIABLE] = previous_dir
        shutil.rmtree(directory, ignore_errors=True)


class GatewayMetrics:
    def __init__(self, workers_dir: Path | None = None) -> None:
        """`workers_dir`: the directory of `across_workers`, in a worker of `serve --workers N`."""
        self.registry = CollectorRegistry()
        registry = self.registry
        self.workers_dir = workers_dir
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
            registry=registry, multiprocess_mode="livesum",
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
            registry=registry, multiprocess_mode="livesum",
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
        self._request_children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
        self._state = _StateCollector()
        registry.register(self._state)
        self._mirror: _StateMirror | None = None
        if workers_dir is not None:
            self._mirror = _StateMirror(self._state)
            Gauge("mcp_gateway_processes", "Gateway processes whose numbers this scrape sums (serve --workers N)",
                  registry=None, multiprocess_mode="livesum").set(1)

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
        if self.workers_dir is None or self._mirror is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        self._mirror.mirror()  # this worker's part fresh; the others' as of their last mirror
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, str(self.workers_dir))  # type: ignore[no-untyped-call]
        return generate_latest(every_worker), CONTENT_TYPE_LATEST

    async def mirror_state_forever(self) -> None:
        """In a worker of `serve --workers N`: keep this worker's scrape-time state where the others' scrapes
        read it. Returns at once otherwise."""
        if self._mirror is None:
            return
        while True:
            self._mirror.mirror()
            await anyio.sleep(MIRROR_INTERVAL_SECONDS)

    def request_started(self) -> float:
        """Count an HTTP request in flight; its start, for `request_finished`."""
        self.requests_in_flight.inc()
        return time.perf_counter()

    def request_finished(self, endpoint: str, status: int, started: float) -> None:
        """Count an HTTP request answered with `status` (500 if the app raised before answering), and time it."""
        self.requests_in_flight.dec()
        children = self._request_children.get((endpoint, status))
        if children is None:
            # The labels' children by endpoint template and status (a bounded set): `labels()` costs more than
            # counting.
            children = (self.requests.labels(endpoint, str(status)), self.request_seconds.labels(endpoint))
            self._request_children[(endpoint, status)] = children
        children[0].inc()
        children[1].observe(time.perf_counter() - started)


class _RegistryObserver:
    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram | None]] = {}
        """The labels' children by server, tool and outcome (bounded by the configuration): `labels()` costs
        more than counting."""

    def call_started(self) -> None:
        self._metrics.tool_calls_in_flight.inc()

    def call_finished(self, server: str, tool: str, outcome: str, seconds: float) -> None:
        metrics = self._metrics
        metrics.tool_calls_in_flight.dec()
        children = self._children.get((server, tool, outcome))
        if children is None:
            timed = metrics.tool_call_seconds.labels(server, tool) if tool else None
            children = (metrics.tool_calls.labels(server, tool, outcome), timed)
            self._children[(server, tool, outcome)] = children
        children[0].inc()
        if children[1] is not None:
            children[1].observe(seconds)

    def server_recovered(self, server: str) -> None:
        self._metrics.upstream_recoveries.labels(server).inc()


@runtime_checkable
class _Reconnecting(Protocol):
    """An upstream that keeps a connection open and counts how often it opened it again (MCP upstreams)."""

    @property
    def reconnects(self) -> int: ...


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
            reconnects = CounterMetricFamily(
                "mcp_gateway_upstream_reconnects", "Connections to an MCP server opened again after one was lost",
                labels=["server"],
            )
            for server in self.registry.registry_servers():
                if isinstance(server.upstream, _Reconnecting):
                    reconnects.add_metric([server.upstream.name], server.upstream.reconnects)
            yield reconnects
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


class _StateMirror:
    """Copies what `_StateCollector` reads into metrics of the multiprocess mode, so other workers' scrapes see
    it: gauges as they are now, counters by what they grew since the last copy. A series that disappears (a
    server removed by a reload) reads 0 from then on: the mode keeps a value once written."""

    def __init__(self, state: _StateCollector) -> None:
        self._state = state
        self._gauges: dict[str, Gauge] = {}
        self._counters: dict[str, Counter] = {}
        self._counted: dict[tuple[str, tuple[str, ...]], float] = {}
        self._last: dict[str, set[tuple[str, ...]]] = {}

    def mirror(self) -> None:
        for family in self._state.collect():
            seen: set[tuple[str, ...]] = set()
            for sample in family.samples:
                label_values = tuple(sample.labels.values())
                seen.add(label_values)
                if family.type == "counter":
                    self._count(family.name, family.documentation, tuple(sample.labels), label_values, sample.value)
                else:
                    gauge = self._gauge(family.name, family.documentation, tuple(sample.labels))
                    (gauge.labels(*label_values) if label_values else gauge).set(sample.value)
            if family.type != "counter":
                for gone in self._last.get(family.name, set()) - seen:
                    self._gauges[family.name].labels(*gone).set(0)
            self._last[family.name] = seen

    def _gauge(self, name: str, documentation: str, labels: tuple[str, ...]) -> Gauge:
        gauge = self._gauges.get(name)
        if gauge is None:
            if name in _MAXIMUM_OVER_WORKERS:
                gauge = Gauge(name, documentation, labels, registry=None, multiprocess_mode="livemax")
            else:
                gauge = Gauge(name, documentation, labels, registry=None, multiprocess_mode="livesum")
            self._gauges[name] = gauge
        return gauge

    def _count(self, name: str, documentation: str, labels: tuple[str, ...], label_values: tuple[str, ...],
               value: float) -> None:
        counter = self._counters.get(name)
        if counter is None:
            counter = Counter(name, documentation, labels, registry=None)
            self._counters[name] = counter
        before = self._counted.get((name, label_values), 0.0)
        # Less than before: the upstream was replaced (a reload) and counts from 0 again.
        grown = value - before if value >= before else value
        self._counted[(name, label_values)] = value
        child = counter.labels(*label_values) if labels else counter
        child.inc(grown)


class EndpointLabels:
    """The endpoint label of a request path: its route's template, never a raw path, so the label set stays
    bounded."""

    def __init__(self, endpoints: Iterable[str]) -> None:
        self._endpoints = frozenset(endpoints)
        # Templates ending in one parameter (`/v1/responses/{response_id}`) by their fixed part; the label is the
        # template, never the id.
        self._templates = tuple(sorted(
            ((template.split("{", 1)[0], template) for template in self._endpoints
             if template.endswith("}") and template.count("{") == 1 and not template.startswith("/mcp/")),
            key=lambda pair: -len(pair[0])))

    def endpoint(self, path: str) -> str:
        if path in self._endpoints:
            return path.rstrip("/") or "/"
        if path.startswith("/mcp/"):
            return "/mcp/{server}"
        for prefix, template in self._templates:
            rest = path[len(prefix):]
            if rest and "/" not in rest and path.startswith(prefix):
                return template
        if path.startswith("/.well-known/"):
            return "/.well-known/*"
        return OTHER_ENDPOINT
