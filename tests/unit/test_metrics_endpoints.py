"""The endpoint label of /metrics: a route's template, never a raw path, so its label set stays bounded."""

from __future__ import annotations

from mcp_gateway.metrics import OTHER_ENDPOINT, EndpointLabels

ROUTES = ["/mcp", "/mcp/", "/mcp/{server}", "/mcp/{server}/", "/health", "/v1/responses",
          "/v1/responses/{response_id}", "/metrics"]


def _labels() -> EndpointLabels:
    return EndpointLabels(ROUTES)


def test_a_path_is_labelled_by_its_route_template() -> None:
    labels = _labels()
    assert labels.endpoint("/v1/responses") == "/v1/responses"
    assert labels.endpoint("/v1/responses/resp_123") == "/v1/responses/{response_id}"
    assert labels.endpoint("/mcp/") == "/mcp"
    assert labels.endpoint("/mcp/github") == "/mcp/{server}"


def test_a_path_no_route_has_is_other() -> None:
    labels = _labels()
    for path in ("/v1/responses/resp_1/extra", "/v1/responses/", "/nothing", "/v1/responsesX"):
        assert labels.endpoint(path) == OTHER_ENDPOINT, path
