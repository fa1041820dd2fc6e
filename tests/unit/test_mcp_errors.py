"""Which upstream errors mean the connection is gone (a reconnect of the shared session), and which are answers."""

from __future__ import annotations

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from mcp_gateway.upstreams.mcp_errors import means_connection_lost


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (types.CONNECTION_CLOSED, "Connection closed"),
        # The SDK client's words for a 404 on its session.
        (types.INVALID_REQUEST, "Session terminated"),
        # The 404 body of the Python SDK server, and of the TypeScript one (its own code).
        (types.INVALID_REQUEST, "Session not found"),
        (-32001, "Session not found"),
    ],
)
def test_a_closed_connection_or_a_forgotten_session_is_lost(code: int, message: str) -> None:
    assert means_connection_lost(MCPError(code=code, message=message))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (types.INVALID_REQUEST, "Invalid request: unknown field 'x'"),
        (types.INVALID_PARAMS, "Session not in the request"),
        (types.METHOD_NOT_FOUND, "Method not found"),
        (types.INTERNAL_ERROR, "boom"),
    ],
)
def test_an_upstreams_refusal_of_one_request_is_an_answer(code: int, message: str) -> None:
    assert not means_connection_lost(MCPError(code=code, message=message))
