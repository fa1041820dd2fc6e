"""Read a gateway's `GET /metrics` the way Prometheus does (the official client's parser), as one number per series."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from mcp_gateway.http import httpx

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str, headers: Mapping[str, str] | None = None) -> Series:
    response = httpx.get(f"{base_url}/metrics", headers=dict(headers or {}), timeout=30.0)
    assert response.status_code == 200, f"GET /metrics -> {response.status_code}: {response.text[:300]}"
    return parse(response.text)


def parse(text: str) -> Series:
    series: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return series


def value(series: Series, name: str, **labels: str) -> float:
    """One series' value; 0 when it does not exist (yet)."""
    return series.get((name, frozenset(labels.items())), 0.0)


def total(series: Series, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(number for (series_name, have), number in series.items() if series_name == name and wanted <= have)
