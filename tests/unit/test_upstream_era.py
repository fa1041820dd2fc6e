"""upstreams/era.py: which refusal of the handshake means "serves only the modern era", and what an upstream of
that era is advertised with."""

from __future__ import annotations

import warnings
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from mcp_gateway.upstreams.era import probe_liveness, refuses_handshake

MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"


def _unsupported(*supported: str) -> MCPError:
    data = {"supported": list(supported), "requested": HANDSHAKE}
    return MCPError(types.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", data=data)


def test_a_refusal_naming_only_modern_versions_means_modern_only() -> None:
    assert refuses_handshake(_unsupported(MODERN))


def test_found_inside_the_exception_groups_the_sdk_raises_from_a_connect() -> None:
    nested = ExceptionGroup("connect", [ExceptionGroup("session", [_unsupported(MODERN)])])
    assert refuses_handshake(nested)


@pytest.mark.parametrize(
    "error",
    [
        _unsupported(MODERN, HANDSHAKE),  # serves the handshake era too: a real version mismatch, not an era
        _unsupported(),
        _unsupported("1999-01-01"),
        MCPError(types.UNSUPPORTED_PROTOCOL_VERSION, "no data"),
        MCPError(types.INVALID_REQUEST, "Bad Request", data={"supported": [MODERN]}),
        ConnectionRefusedError("nobody there"),
        ExceptionGroup("connect", [OSError("reset")]),
    ],
)
def test_anything_else_is_not_an_era_verdict(error: Exception) -> None:
    assert not refuses_handshake(error)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_the_liveness_probe_is_answered_in_either_era_without_a_deprecation_warning(mode: str) -> None:
    server: Server[Any] = Server("probed")
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning per probe filled the gateway's log
            await probe_liveness(client)
