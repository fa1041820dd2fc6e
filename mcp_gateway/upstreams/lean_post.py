"""A lean call's POST (upstreams/lean_calls.py) sent straight on the aiohttp session under the upstream's client.

Why: the upstream's httpx2 client sends on aiohttp's wire (http_wire.py), but its own layers around that wire
(request building and header merging, the auth and redirect loops, event hooks, two transport wrappers, the byte
stream adapters of the response) cost about as much CPU again as the wire: in process at c=1, a POST to the
bare-SDK floor cost 0.77 ms of CPU through the client and 0.44 ms on its aiohttp session; behind the gateway
(`/mcp/floor`) this path took 0.37 ms off the gateway's 2.48 ms per call.

What stays as the client sends and reads the POST:
- the headers: the client's own (httpx2's defaults and the server's configured headers) under the request's, and
  the caller's `X-Request-Id`, added as the client's request hook adds it (request_id.py);
- the timeouts, mapped onto aiohttp's as http_wire.py maps them, and the errors, raised as httpx2's;
- every answer other than a plain one (200, JSON, not encoded, no cookie) goes back as the httpx2 response the
  client would have returned: its content decoded by httpx2, its cookies kept in the client's jar, the client's
  response hooks run on it, and an event stream drained briefly when closed early so its connection is kept.

Where any of that could differ, the client sends the POST itself: a client with auth (a token flow may resend on
401), with cookies, with request hooks other than the request-id tag, not on aiohttp's wire, or before its first
request opened the session.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import anyio
from yarl import URL

from mcp_gateway.http import aiohttp_session, httpx
from mcp_gateway.http_wire import client_timeout, raise_mapped
from mcp_gateway.request_id import REQUEST_ID_HEADER, current_request_id, tag_outbound_hook

__all__ = ["LeanPost"]

_DRAIN_SECONDS = 0.25
"""As http.py's: how long closing an event stream early may wait for its end, to keep the connection."""


class LeanPost:
    """POSTs of JSON-RPC bodies to one URL on `client`'s wire, bypassing the client's layers where that changes
    nothing (see the module docstring)."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = httpx.URL(url)  # parsed once: parsing the string on every call was ~5% of a call's CPU
        self._wire_url = URL(str(self._url), encoded=True)  # as httpx2 encodes it, byte for byte
        self._timeout = client_timeout(client.timeout.as_dict())
        self._client_headers = dict(client.headers.items())  # lower-cased names; the defaults httpx2 adds included

    async def send(self, body: bytes, headers: dict[str, str]) -> bytes | httpx.Response:
        """POST `body` with `headers` (lower-case names). A plain answer comes back as its body; any other as the
        client's streamed response, which the caller closes."""
        session = self._session()
        if session is None:
            request = self._client.build_request("POST", self._url, content=body, headers=headers)
            return await self._client.send(request, stream=True, follow_redirects=False)
        merged = {**self._client_headers, **headers}
        request_id = current_request_id()
        if request_id is not None and REQUEST_ID_HEADER not in merged:
            merged[REQUEST_ID_HEADER] = request_id
        try:
            response = await session.request(
                "POST", self._wire_url, data=body, headers=merged, allow_redirects=False, compress=None,
                timeout=self._timeout,
            )
        except Exception as error:
            raise_mapped(error, self._request(body, merged))
        answered = response.headers
        plain = (
            response.status == 200
            and answered.get("content-type", "").lower().startswith("application/json")
            and "content-encoding" not in answered
            and "set-cookie" not in answered
        )
        if not plain:
            return await self._as_client_response(response, self._request(body, merged))
        try:
            return await response.read()
        except Exception as error:
            raise_mapped(error, self._request(body, merged), reading_body=True)
        finally:
            response.release()

    def _session(self) -> aiohttp.ClientSession | None:
        client = self._client
        if client.auth is not None or client.cookies or any(
            hook is not tag_outbound_hook for hook in client.event_hooks["request"]
        ):
            return None
        session = aiohttp_session(client)
        return session if session is not None and not session.closed else None

    def _request(self, body: bytes, headers: dict[str, str]) -> httpx.Request:
        """The request as httpx2 would have built it: for errors and the responses handed back."""
        return httpx.Request("POST", self._url, content=body, headers=headers)

    async def _as_client_response(self, response: aiohttp.ClientResponse, request: httpx.Request) -> httpx.Response:
        event_stream = response.headers.get("content-type", "").startswith("text/event-stream")
        wrapped = httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request, drain=event_stream),
            request=request,
        )
        try:
            self._client.cookies.extract_cookies(wrapped)
            for hook in self._client.event_hooks["response"]:
                await hook(wrapped)
        except BaseException:
            await wrapped.aclose()
            raise
        return wrapped


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as httpx2 reads it (raw chunks, errors as httpx2's); closed before its end, an event
    stream is read on briefly, as http.py's `_DrainedOnClose`, so its connection can be reused."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request, *, drain: bool) -> None:
        self._response = response
        self._request = request
        self._drain = drain
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await self._response.content.readany()
            except Exception as error:
                raise_mapped(error, self._request, reading_body=True)
            if not chunk:
                self._ended = True
                return
            yield chunk

    async def aclose(self) -> None:
        if self._drain and not self._ended:
            with anyio.move_on_after(_DRAIN_SECONDS), contextlib.suppress(Exception):
                while await self._response.content.readany():
                    pass
        self._response.release()
