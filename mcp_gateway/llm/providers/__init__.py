"""One HTTP client per wire protocol; `ProviderPool` keeps one pooled client per configured provider."""

from __future__ import annotations

import logging

from mcp_gateway.llm.models import ProviderConfig
from mcp_gateway.llm.providers.anthropic import AnthropicClient
from mcp_gateway.llm.providers.base import ModelClient
from mcp_gateway.llm.providers.gemini import GeminiClient
from mcp_gateway.llm.providers.openai import OpenAIClient
from mcp_gateway.llm.providers.openai_responses import OpenAIResponsesClient
from mcp_gateway.llm.providers.transport import ProviderTransport

__all__ = ["ProviderPool", "client_for", "uses_responses_api"]

logger = logging.getLogger(__name__)


def client_for(config: ProviderConfig, *, responses: bool = False) -> ModelClient:
    """The client for the provider's wire protocol; `responses` picks OpenAI's Responses API where the provider
    has it."""
    transport = ProviderTransport(config)
    if responses and uses_responses_api(config):
        return OpenAIResponsesClient(transport)
    if config.protocol == "anthropic":
        return AnthropicClient(transport)
    if config.protocol == "gemini":
        return GeminiClient(transport)
    return OpenAIClient(transport)


def uses_responses_api(config: ProviderConfig) -> bool:
    return config.protocol == "openai" and config.responses_api


class ProviderPool:
    """The gateway's provider clients, made on first use and closed with the gateway."""

    def __init__(self) -> None:
        self._clients: dict[str, ModelClient] = {}

    def client(self, config: ProviderConfig, *, responses: bool = False) -> ModelClient:
        """The provider's pooled client; with `responses`, the Responses API client where the provider has it."""
        client_id = config.client_id or config.name
        responses = responses and uses_responses_api(config)
        if responses:
            client_id += "#responses"
        client = self._clients.get(client_id)
        if client is None:
            client = self._clients[client_id] = client_for(config, responses=responses)
        return client

    async def aclose(self) -> None:
        """Close every client; one that fails to close is logged and never keeps the others (or the gateway's
        shutdown) from finishing."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                await client.aclose()
            except Exception:
                logger.exception("provider '%s' failed to close cleanly", client.name)
