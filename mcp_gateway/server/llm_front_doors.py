"""The LLM front doors (/v1/chat/completions, /v1/models, /v1/responses, /v1/messages), built at their first request.

Their modules (the wire formats, the bridge, the tool loop and the provider clients) cost ~45 ms of start-up CPU,
measured, that the first answer of an MCP client never needs (benchmarks/startup.py): the routes are known from
the start, and the first request to any of them imports and builds all three. The paths are those the front doors
route themselves; tests/unit/test_llm_front_doors.py fails if the two drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_gateway.llm.models import ModelsConfig
from mcp_gateway.llm.store import ResponseStore
from mcp_gateway.registry import Registry

if TYPE_CHECKING:
    from mcp_gateway.llm.loop import RoundObserver
    from mcp_gateway.llm.providers import ProviderPool
    from mcp_gateway.server.chat import ChatCompletions
    from mcp_gateway.server.messages import Messages
    from mcp_gateway.server.responses import Responses

__all__ = ["LlmFrontDoors"]

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass
class _Built:
    providers: ProviderPool
    chat: ChatCompletions
    responses: Responses
    messages: Messages


class LlmFrontDoors:
    def __init__(self, registry: Registry, models: ModelsConfig, store: ResponseStore, observer: RoundObserver) -> None:
        self._registry = registry
        self._models = models
        self._store = store
        self._observer = observer
        self._built: _Built | None = None

    def routes(self) -> list[Route]:
        return [
            Route("/v1/chat/completions", self._endpoint(lambda built: built.chat.create), methods=["POST"]),
            Route("/v1/models", self._endpoint(lambda built: built.chat.list_models), methods=["GET"]),
            Route("/v1/responses", self._endpoint(lambda built: built.responses.create), methods=["POST"]),
            Route("/v1/responses/{response_id}", self._endpoint(lambda built: built.responses.retrieve),
                  methods=["GET"]),
            Route("/v1/responses/{response_id}", self._endpoint(lambda built: built.responses.delete),
                  methods=["DELETE"]),
            Route("/v1/messages", self._endpoint(lambda built: built.messages.create), methods=["POST"]),
        ]

    async def aclose(self) -> None:
        if self._built is not None:
            await self._built.providers.aclose()

    def built(self) -> _Built:
        if self._built is None:
            from mcp_gateway.llm.providers import ProviderPool
            from mcp_gateway.server.chat import ChatCompletions
            from mcp_gateway.server.messages import Messages
            from mcp_gateway.server.responses import Responses

            providers = ProviderPool()
            self._built = _Built(
                providers,
                ChatCompletions(self._registry, self._models, providers, self._observer),
                Responses(self._registry, self._models, providers, self._store, self._observer),
                Messages(self._registry, self._models, providers, self._observer),
            )
        return self._built

    def _endpoint(self, handler_of: Callable[[_Built], Endpoint]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await handler_of(self.built())(request)

        return endpoint
