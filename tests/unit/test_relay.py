"""Pure parts of the relay: what of a request is relayed, which URIs a template covers, what an endpoint
advertises for its upstream."""

from __future__ import annotations

import mcp_types as types

from mcp_gateway.server.aggregate import uri_template_pattern
from mcp_gateway.server.mcp import relayed_capabilities
from mcp_gateway.upstreams.mcp_session import relayable_params


def test_the_downstream_sessions_progress_token_and_envelope_are_not_relayed_the_rest_is() -> None:
    params = {
        "name": "greet",
        "arguments": {"who": None, "n": 0},
        "_meta": {"progressToken": 7, types.PROTOCOL_VERSION_META_KEY: "2026-07-28", "example.com/trace": "t"},
    }
    relayed = relayable_params(params)
    assert relayed == {"name": "greet", "arguments": {"who": None, "n": 0}, "_meta": {"example.com/trace": "t"}}
    assert params["_meta"]["progressToken"] == 7  # the caller's params are not changed
    assert relayable_params({"name": "x", "_meta": {"progressToken": 1}}) == {"name": "x"}
    assert relayable_params(None) is None


def test_a_template_matches_the_uris_it_expands_to() -> None:
    simple = uri_template_pattern("memo://notes/{id}")
    reserved = uri_template_pattern("file:///{+path}")
    assert simple.fullmatch("memo://notes/42") and not simple.fullmatch("memo://notes/4/2")
    assert not simple.fullmatch("memo://other/42")
    assert reserved.fullmatch("file:///a/b/c.txt")
    assert uri_template_pattern("a.b/{x}").fullmatch("a.b/1") and not uri_template_pattern("a.b/{x}").fullmatch("axb/1")


def test_an_endpoint_advertises_what_its_upstream_offers_and_announces_list_changes() -> None:
    upstream = types.ServerCapabilities(
        resources=types.ResourcesCapability(subscribe=True, list_changed=False),
        tools=types.ToolsCapability(list_changed=False),
    )
    advertised = relayed_capabilities(upstream)
    assert advertised.resources == types.ResourcesCapability(subscribe=True, list_changed=True)
    assert advertised.tools == types.ToolsCapability(list_changed=True)
    assert advertised.prompts is None and advertised.logging is None and advertised.completions is None
    assert relayed_capabilities(None) == types.ServerCapabilities(tools=types.ToolsCapability(list_changed=True))
