"""HTTP to one provider: a pooled client, timeouts, retries with backoff, and the provider's errors as ProviderError.

Retried: 429, 5xx and connection failures (before any byte of an answer arrived), with exponential backoff and
jitter, waiting what `Retry-After` (or OpenAI's `retry-after-ms`) asks when it asks for less than
`MAX_RETRY_AFTER_SECONDS`. Never retried: any other 4xx (the same request would fail the same way) and a read
timeout (the provider may still be working on it; the caller decides). Nothing here logs a header or a key.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio

from mcp_gateway.http import httpx, new_client
from mcp_gateway.llm.models import ProviderConfig
from mcp_gateway.llm.providers.base import ProviderError
from mcp_gateway.request_id import tag_outbound

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 529})
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
MAX_RETRY_AFTER_SECONDS = 60.0
_ERROR_BODY_LIMIT = 64 * 1024

Sleep = Callable[[float], Awaitable[None]]


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """What the provider asked us to wait, from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0**attempt) * random.uniform(0.75, 1.0)


def _error_details(body: bytes) -> tuple[str | None, str | None, str | None]:
    """(message, param, code) from any of the three providers' error envelopes: `{"error": {"message", ...}}`."""
    try:
        document = json.loads(body)
    except ValueError:
        return None, None, None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    message = error.get("message")
    param = error.get("param")
    code = error.get("code") if isinstance(error.get("code"), str) else error.get("type") or error.get("status")
    return (
        message if isinstance(message, str) else None,
        param if isinstance(param, str) else None,
        code if isinstance(code, str) else None,
    )


def status_error(provider: str, status: int, body: bytes) -> ProviderError:
    message, param, code = _error_details(body)
    if message is None:
        text = body[:300].decode("utf-8", "replace").strip()
        message = f"answered {status}" + (f": {text}" if text else "")
    if status == 429:
        kind = "rate_limited"
    elif status >= 500:
        kind = "server_error"
        message = f"answered {status}: {message}" if not message.startswith("answered") else message
    else:
        kind = "rejected"
    return ProviderError(kind, provider, message, status=status, param=param, code=code)  # type: ignore[arg-type]


class ProviderTransport:
    """One provider's pooled HTTP client."""

    def __init__(self, config: ProviderConfig, *, client: httpx.AsyncClient | None = None,
                 sleep: Sleep = anyio.sleep) -> None:
        self.config = config
        self._client = client or new_client(timeout=config.timeout)
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self.config.name

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post_json(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        async with self.post(url, body, headers) as response:
            raw = await response.aread()
        try:
            document = json.loads(raw)
        except ValueError as error:
            raise ProviderError("malformed", self.name, "answered with a body that is not JSON") from error
        if not isinstance(document, dict):
            raise ProviderError("malformed", self.name, "answered with JSON that is not an object")
        return document

    @asynccontextmanager
    async def post(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[httpx.Response]:
        """A successful (2xx) response, streaming; retried as the module docstring says."""
        # The entry's own headers win, so config can pin a protocol header (anthropic-version, a beta flag).
        request = self._client.build_request("POST", url, json=body, headers={**headers, **self.config.headers})
        tag_outbound(request)
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            try:
                response = await self._client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as error:
                if attempt + 1 < attempts:
                    await self._wait(attempt, None, type(error).__name__)
                    continue
                raise ProviderError(
                    "unreachable", self.name, f"cannot be reached at {_origin(url)} ({type(error).__name__})"
                ) from error
            except httpx.TimeoutException as error:
                raise self._timeout() from error
            if response.status_code < 400:
                try:
                    yield response
                except httpx.TimeoutException as error:
                    raise self._timeout() from error
                except (httpx.ReadError, httpx.RemoteProtocolError) as error:
                    raise ProviderError("unreachable", self.name, "closed the connection mid-answer") from error
                finally:
                    await response.aclose()
                return
            try:
                error_body = await _bounded_read(response)
            except httpx.TimeoutException as error:
                raise self._timeout() from error
            finally:
                await response.aclose()
            failure = status_error(self.name, response.status_code, error_body)
            retry_after = retry_after_seconds(response.headers)
            failure.retry_after = retry_after
            retryable = response.status_code in RETRY_STATUSES and (
                retry_after is None or retry_after <= MAX_RETRY_AFTER_SECONDS
            )
            if retryable and attempt + 1 < attempts:
                await self._wait(attempt, retry_after, f"status {response.status_code}")
                continue
            raise failure
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _wait(self, attempt: int, retry_after: float | None, reason: str) -> None:
        delay = backoff_seconds(attempt, retry_after)
        logger.info("provider '%s': %s, retrying in %.2fs", self.name, reason, delay)
        await self._sleep(delay)

    def _timeout(self) -> ProviderError:
        return ProviderError("timeout", self.name, f"did not answer within {self.config.timeout:g}s")


async def _bounded_read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > _ERROR_BODY_LIMIT:
            break
    return b"".join(chunks)


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


async def server_sent_events(response: httpx.Response) -> AsyncIterator[tuple[str | None, str]]:
    """(event name, data) of each server-sent event; comments and empty events are skipped."""
    event: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = None, []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        yield event, "\n".join(data)


def parse_event_data(provider: str, data: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError as error:
        raise ProviderError("malformed", provider, "streamed an event that is not JSON") from error
    if not isinstance(parsed, dict):
        raise ProviderError("malformed", provider, "streamed an event that is not a JSON object")
    return parsed
