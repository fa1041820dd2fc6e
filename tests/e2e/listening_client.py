"""A handshake-era client known to be listening for what the server sends on its own.

List changes travel on the session's standalone stream (the GET the SDK client opens in the background after the
handshake), and a server drops what it sends while that stream is not open yet, as the spec allows. A test that
makes a change right after connecting must first know the stream is open, or it races the client's own set-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp import Client
from mcp.client.session import MessageHandlerFnT
from mcp.client.streamable_http import streamable_http_client

from mcp_gateway.http import httpx

STREAM_OPEN_TIMEOUT = 30.0
# The SDK client's own defaults: a standalone stream is read for long stretches without a byte.
_TIMEOUT = httpx.Timeout(30.0, read=300.0)


@asynccontextmanager
async def listening_client(url: str, message_handler: MessageHandlerFnT) -> AsyncIterator[Client]:
    """A handshake-era client of `url`, yielded once the server has answered its standalone stream's GET."""
    stream_open = anyio.Event()

    async def on_response(response: httpx.Response) -> None:
        if response.request.method == "GET" and response.is_success:
            stream_open.set()

    async with httpx.AsyncClient(timeout=_TIMEOUT, event_hooks={"response": [on_response]}) as http_client:
        transport = streamable_http_client(url, http_client=http_client)
        async with Client(transport, mode="legacy", message_handler=message_handler) as client:
            with anyio.fail_after(STREAM_OPEN_TIMEOUT):
                await stream_open.wait()
            yield client
