import logging

import httpx2
import pytest

from mcp_gateway.upstreams.transport_noise import quiet_sdk_transport_failures, transport_failure


def _failed_post() -> BaseException:
    try:
        try:
            raise httpx2.ConnectError("All connection attempts failed")
        except httpx2.ConnectError as error:
            raise RuntimeError("send failed") from error
    except RuntimeError as wrapped:
        return ExceptionGroup("unhandled errors in a TaskGroup", [wrapped])


def test_transport_error_found_through_groups_and_causes() -> None:
    assert isinstance(transport_failure(_failed_post()), httpx2.ConnectError)
    assert transport_failure(ValueError("not a transport problem")) is None


def test_sdk_connection_failure_is_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    quiet_sdk_transport_failures()
    quiet_sdk_transport_failures()  # idempotent
    sdk_logger = logging.getLogger("mcp.client.streamable_http")
    failure = _failed_post()
    with caplog.at_level(logging.DEBUG):
        sdk_logger.error("Error in post_writer", exc_info=(type(failure), failure, failure.__traceback__))
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == "Error in post_writer: upstream connection failed (ConnectError)"
    assert "Traceback" not in caplog.text


def test_other_sdk_errors_keep_their_traceback(caplog: pytest.LogCaptureFixture) -> None:
    quiet_sdk_transport_failures()
    try:
        raise ValueError("a bug")
    except ValueError:
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("mcp.client.sse").exception("Error in sse_reader")
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
