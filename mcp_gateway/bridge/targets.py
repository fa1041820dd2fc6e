"""The providers the bridge can target and the name rule each one enforces."""

from __future__ import annotations

from typing import Literal, get_args

from mcp_gateway import names

Provider = Literal["openai", "openai-responses", "anthropic", "gemini", "bedrock", "mistral", "cohere"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)

NAME_RULES: dict[Provider, names.NameRule] = {
    "openai": names.OPENAI,
    "openai-responses": names.OPENAI,
    "anthropic": names.ANTHROPIC,
    "gemini": names.GEMINI,
    "bedrock": names.BEDROCK,
    "mistral": names.MISTRAL,
    "cohere": names.COHERE,
}


def parse_provider(value: str) -> Provider:
    """Accept a provider id (and a few common aliases); raise ValueError naming the valid ones."""
    aliases = {"responses": "openai-responses", "google": "gemini", "vertex": "gemini", "claude": "anthropic"}
    candidate = aliases.get(value.lower(), value.lower())
    for provider in PROVIDERS:
        if provider == candidate:
            return provider
    raise ValueError(f"unknown provider {value!r}; expected one of: {', '.join(PROVIDERS)}")
