"""What the three wire-protocol clients share: a transport, and one model turn asked for streaming or not."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, Protocol

from mcp_gateway.llm.providers.base import ModelRequest, ModelTurn, ProviderEvent, TextDelta
from mcp_gateway.llm.providers.transport import ProviderTransport, parse_event_data, server_sent_events


class StreamAssembly(Protocol):
    """A protocol's stream events joined into the non-streaming response they stand for."""

    def add(self, event: Mapping[str, Any]) -> str:
        """Take one event; return the answer text it adds (empty when none)."""
        ...

    def response(self) -> dict[str, Any]: ...


ToTurn = Callable[[Mapping[str, Any], ModelRequest], ModelTurn]


class ProviderClient:
    def __init__(self, transport: ProviderTransport) -> None:
        self._transport = transport

    @property
    def name(self) -> str:
        return self._transport.name

    @property
    def base_url(self) -> str:
        return self._transport.config.base_url

    def key(self) -> str | None:
        return self._transport.config.key()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def _exchange(
        self, request: ModelRequest, url: str, body: Mapping[str, Any], headers: Mapping[str, str],
        to_turn: ToTurn, assembly: StreamAssembly,
    ) -> AsyncGenerator[ProviderEvent, None]:
        """POST `body`; as a stream, yield its text as it comes, then the turn either way."""
        if not request.stream:
            yield to_turn(await self._transport.post_json(url, body, headers), request)
            return
        async with self._transport.post(url, body, headers) as stream:
            # Read to the end, past OpenAI's [DONE] too: a body left unread costs the pooled connection.
            async for _event, data in server_sent_events(stream):
                if data.strip() == "[DONE]":
                    continue
                text = assembly.add(parse_event_data(self.name, data))
                if text:
                    yield TextDelta(text)
        yield to_turn(assembly.response(), request)
