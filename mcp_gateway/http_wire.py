"""An httpx2 transport that sends requests on aiohttp's HTTP/1.1 client: httpx2's API, a cheaper wire.

Why: httpx2's own pool (httpcore2 on anyio) spends most of an upstream call's client-side CPU in per-request
bookkeeping (a liveness check of every pooled connection, anyio stream wrappers, task and cancel-scope look-ups);
aiohttp's connector and parser (C-accelerated) do the same wire work for about half of it (measured in
benchmarks/upstream_calls.py). Everything above the wire stays httpx2's: the client's timeouts, auth flows, event
hooks, redirects (off), cookies, content decoding and its exception types, so callers see no difference.

What maps how:
- timeouts: connect -> aiohttp's socket connect timeout, read -> its socket read timeout (also between body
  chunks), pool -> the whole wait for a connection (the pool and connecting); write has no aiohttp equivalent.
  A pool wait that runs out is raised as `ConnectTimeout` (aiohttp does not tell the two apart), not `PoolTimeout`.
- errors: connecting fails -> `ConnectError` (its OS error kept as the cause, for `describe_transport_error`),
  connect or pool wait times out -> `ConnectTimeout`, a read times out -> `ReadTimeout`, the server closes or
  answers garbage -> `RemoteProtocolError`, any other socket error -> `ReadError`.
- `retries`: opening a connection is retried (refused, reset, timed out, DNS) as httpcore2 does, with its backoff;
  a request that may have reached the upstream is never sent again here.
- TLS: the SSL context httpx2 builds for `verify=True` without the environment (the same CA bundle as before);
  no proxies, as before (`trust_env=False`).
aiohttp runs on asyncio alone; the gateway's loop is asyncio (uvloop included).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, NoReturn

import aiohttp
import httpx2 as httpx
from yarl import URL

__all__ = ["AiohttpTransport", "as_httpx_response", "client_timeout", "raise_mapped"]

_MAX_HEADER_BYTES = 16 * 1024
_RETRY_BACKOFF_SECONDS = 0.5
"""httpcore2's factor: waits of 0, 0.5, 1, 2 … seconds before each further connection attempt."""


class _ResponseStream(httpx.AsyncByteStream):
    """An aiohttp response body as httpx2 reads it: raw (still encoded) chunks, errors as httpx2's types."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            try:
                chunk = await content.readany()
            except Exception as error:
                raise_mapped(error, self._request, reading_body=True)
            if not chunk:
                return
            yield chunk

    async def aclose(self) -> None:
        # Returns the connection to the pool when the body was read to its end, closes it otherwise.
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One pool of keep-alive connections (`limits`) for every host this client calls."""

    def __init__(self, limits: httpx.Limits, retries: int = 0) -> None:
        self._limits = limits
        self._retries = retries
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        # Built at the first request: aiohttp binds a session to the running loop.
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry if self._limits.keepalive_expiry is not None else 15.0,
            ssl=httpx.create_ssl_context(verify=True, trust_env=False),
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx2's client keeps the cookies
            auto_decompress=False,  # httpx2 decodes, by the headers it is given
            timeout=aiohttp.ClientTimeout(total=None),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            trust_env=False,
            # h11 (httpx2's parser) takes a header block of up to 16 KiB; aiohttp's default is 8 KiB per line.
            max_line_size=_MAX_HEADER_BYTES,
            max_field_size=_MAX_HEADER_BYTES,
        )

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session once the first request opened it (upstreams/lean_post.py sends on it directly)."""
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return as_httpx_response(await self.open(request), request)

    async def open(self, request: httpx.Request) -> aiohttp.ClientResponse:
        """Send `request` and return aiohttp's response once its headers are in (the body not read yet); errors
        raised as httpx2's."""
        if self._session is None:
            self._session = self._open_session()
        options: dict[str, Any] = {
            "headers": request.headers.multi_items(),
            "data": _body(request),
            "allow_redirects": False,
            "compress": None,
            "timeout": client_timeout(request.extensions.get("timeout", {})),
        }
        url = URL(str(request.url), encoded=True)  # as httpx2 encoded it, byte for byte
        attempt = 0
        while True:
            try:
                return await self._session.request(request.method, url, **options)
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
                if attempt >= self._retries or isinstance(error, aiohttp.ClientSSLError):
                    raise_mapped(error, request)
                await asyncio.sleep(0 if attempt == 0 else _RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
                attempt += 1
            except Exception as error:
                raise_mapped(error, request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def as_httpx_response(
    response: aiohttp.ClientResponse, request: httpx.Request, content: bytes | None = None
) -> httpx.Response:
    """aiohttp's response as the transport returns it: its body streamed (still encoded), or `content` when the
    caller has read it already (a body sent without content encoding)."""
    extensions = {
        "http_version": f"HTTP/{response.version.major}.{response.version.minor}".encode()
        if response.version else b"HTTP/1.1",
        "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
    }
    if content is not None:
        read = httpx.Response(
            response.status, headers=list(response.raw_headers), stream=httpx.ByteStream(content), request=request,
            extensions=extensions,
        )
        # As `Response.read()` leaves a response, without passing the bytes through its decoding pipeline again (a
        # generator, a content decoder and a chunker per response: half the cost of building it). httpx2 keeps a
        # read body in `_content`; tests/unit/test_http_wire_response.py fails if an upgrade moves it.
        read._content = content
        read.is_stream_consumed = True
        read.is_closed = True
        return read
    return httpx.Response(
        response.status, headers=list(response.raw_headers), stream=_ResponseStream(response, request),
        extensions=extensions,
    )


def client_timeout(timeout: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    """httpx2's timeouts (`Timeout.as_dict()`, a request's `timeout` extension) as aiohttp's, mapped as above."""
    pool_wait = timeout.get("pool")
    connect = timeout.get("connect")
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if pool_wait is None or connect is None else pool_wait + connect,
        sock_connect=connect,
        sock_read=timeout.get("read"),
    )


def _body(request: httpx.Request) -> bytes | AsyncIterator[bytes] | None:
    try:
        content = request.content
    except httpx.RequestNotRead:
        stream = request.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return stream.__aiter__()
    return content or None


def raise_mapped(error: Exception, request: httpx.Request, *, reading_body: bool = False) -> NoReturn:
    """Raise the httpx2 exception httpcore2 raises for the same failure, `error` as its cause (the chain down to
    the OS error is aiohttp's: describe_transport_error names "connection refused" from it)."""
    message = str(error) or type(error).__name__
    mapped: Exception
    if isinstance(error, aiohttp.ClientConnectorError):
        mapped = httpx.ConnectError(message, request=request)
    elif isinstance(error, aiohttp.ConnectionTimeoutError):
        mapped = httpx.ConnectTimeout(message, request=request)
    elif isinstance(error, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        mapped = httpx.ReadTimeout(message, request=request)
    elif isinstance(error, aiohttp.ServerDisconnectedError):
        text = (
            "peer closed connection without sending complete message body" if reading_body
            else "Server disconnected without sending a response."
        )
        mapped = httpx.RemoteProtocolError(text, request=request)
    elif isinstance(error, aiohttp.InvalidURL):
        mapped = httpx.UnsupportedProtocol(message, request=request)
    elif isinstance(error, (aiohttp.ClientOSError, OSError)):
        mapped = httpx.ReadError(message, request=request)
    elif isinstance(error, aiohttp.ClientError):
        # A malformed answer (payload, status line, headers) or a connection closed under it.
        mapped = httpx.RemoteProtocolError(message, request=request)
    else:
        raise error
    raise mapped from error
