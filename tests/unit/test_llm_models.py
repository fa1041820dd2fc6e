"""The `models` section and the official SDKs' variables: which providers exist, where, with which key."""

from __future__ import annotations

import pytest

from mcp_gateway.config import ConfigError
from mcp_gateway.llm.models import ModelsConfig, UnknownModelError, parse_models


def test_without_config_the_sdk_variables_decide() -> None:
    models = parse_models(None, environ={
        "OPENAI_API_KEY": "sk-o", "OPENAI_BASE_URL": "http://proxy.local/v1/",
        "ANTHROPIC_API_KEY": "sk-a", "GOOGLE_API_KEY": "g-key",
    })
    openai, anthropic, gemini = (models.providers[name] for name in ("openai", "anthropic", "gemini"))
    assert (openai.base_url, openai.key()) == ("http://proxy.local/v1", "sk-o")
    assert (anthropic.base_url, anthropic.key()) == ("https://api.anthropic.com", "sk-a")
    assert (gemini.base_url, gemini.key()) == ("https://generativelanguage.googleapis.com", "g-key")
    assert models.default_rounds == 10


def test_gemini_key_is_preferred_to_google_key_and_base_urls_come_from_the_environment() -> None:
    models = parse_models(None, environ={"GEMINI_API_KEY": "gem", "GOOGLE_API_KEY": "goo",
                                         "GOOGLE_GEMINI_BASE_URL": "http://g.local", "ANTHROPIC_BASE_URL": "http://a"})
    assert models.providers["gemini"].key() == "gem"
    assert models.providers["gemini"].base_url == "http://g.local"
    assert models.providers["anthropic"].base_url == "http://a"
    assert models.providers["openai"].key() is None


def test_config_overrides_a_builtin_and_declares_compatible_servers() -> None:
    section = {
        "maxRounds": 4,
        "providers": {
            "anthropic": {"apiKey": "${CLAUDE_KEY}", "timeout": 300, "headers": {"x-team": "a"}},
            "ollama": {"baseUrl": "http://127.0.0.1:11434/v1", "models": ["llama3.2"]},
        },
    }
    models = parse_models(section, environ={"CLAUDE_KEY": "from-config", "ANTHROPIC_API_KEY": "from-env"})
    anthropic = models.providers["anthropic"]
    assert (anthropic.key(), anthropic.timeout, dict(anthropic.headers)) == ("from-config", 300, {"x-team": "a"})
    assert anthropic.base_url == "https://api.anthropic.com"
    provider, model = models.resolve("ollama/llama3.2")
    assert (provider.protocol, provider.base_url, model) == ("openai", "http://127.0.0.1:11434/v1", "llama3.2")
    assert models.listed_models()[0][0] == "ollama/llama3.2"
    assert (models.max_rounds, models.default_rounds) == (4, 4)


def test_a_broken_entry_is_kept_with_its_error_and_never_shows_a_value() -> None:
    section = {"providers": {"vllm": {"apiKey": "${MISSING}", "baseUrl": "http://x/v1"},
                             "groq": {"protocol": "openai"}, "typo": {"baseURL": "http://x"}}}
    models = parse_models(section, environ={})
    with pytest.raises(UnknownModelError, match="environment variable MISSING is not set"):
        models.resolve("vllm/m")
    with pytest.raises(UnknownModelError, match="needs 'baseUrl'"):
        models.resolve("groq/m")
    with pytest.raises(UnknownModelError, match="baseURL"):
        models.resolve("typo/m")


def test_model_names_must_name_a_provider() -> None:
    models = ModelsConfig(parse_models(None, environ={}).providers)
    with pytest.raises(UnknownModelError, match="'provider/model-name'"):
        models.resolve("gpt-4.1")
    with pytest.raises(UnknownModelError, match="did you mean 'anthropic'"):
        models.resolve("antropic/claude")
    provider, model = models.resolve("openai/ft:gpt-4.1:org/custom")
    assert (provider.name, model) == ("openai", "ft:gpt-4.1:org/custom")


@pytest.mark.parametrize("section", [[], {"maxRounds": 0}, {"maxRounds": "5"}, {"providers": []}, {"extra": 1}])
def test_a_malformed_section_is_a_config_error(section: object) -> None:
    with pytest.raises(ConfigError):
        parse_models(section, environ={})


def test_the_models_section_sits_beside_mcp_servers() -> None:
    from mcp_gateway.config import parse_config

    config = parse_config({"mcpServers": {}, "models": {"providers": {"ollama": {"baseUrl": "http://o/v1"}}}},
                          environ={})
    models = parse_models(config.sections.get("models"), environ={})
    assert models.providers["ollama"].base_url == "http://o/v1"
    assert "mcpServers" not in config.sections


def test_a_model_entry_overrides_its_provider_for_that_model_only() -> None:
    from mcp_gateway.llm.providers import ProviderPool

    section = {"providers": {"openai": {
        "apiKey": "provider-key", "headers": {"x-team": "a"},
        "models": {"gpt-4.1": {}, "o3": {"apiKey": "${O3_KEY}", "timeout": 600, "headers": {"x-tier": "slow"},
                                         "baseUrl": "https://eu.api.openai.com/v1"}},
    }}}
    models = parse_models(section, environ={"O3_KEY": "o3-key"})
    plain, _ = models.resolve("openai/gpt-4.1")
    special, name = models.resolve("openai/o3")
    assert (plain.key(), plain.timeout, plain.base_url) == ("provider-key", 120, "https://api.openai.com/v1")
    assert (special.key(), special.timeout, special.base_url, name) == (
        "o3-key", 600, "https://eu.api.openai.com/v1", "o3")
    assert dict(special.headers) == {"x-team": "a", "x-tier": "slow"}
    assert [model for model, _ in models.listed_models()] == ["openai/gpt-4.1", "openai/o3"]
    pool = ProviderPool()
    assert pool.client(plain) is pool.client(models.resolve("openai/gpt-4o")[0])
    assert pool.client(special) is not pool.client(plain)


def test_only_openai_itself_speaks_the_responses_api_unless_an_entry_says_so() -> None:
    config = parse_models({"providers": {
        "openai": {"baseUrl": "http://127.0.0.1:1/v1"},
        "ollama": {"baseUrl": "http://127.0.0.1:2/v1"},
        "vllm": {"baseUrl": "http://127.0.0.1:3/v1", "responsesApi": True},
        "azure": {"baseUrl": "http://127.0.0.1:4/v1", "protocol": "anthropic", "responsesApi": True},
        "legacy": {"baseUrl": "http://127.0.0.1:5/v1", "protocol": "openai", "responses_api": False},
    }}, environ={})
    speaks = {name: provider.responses_api for name, provider in config.providers.items()}
    assert speaks == {"openai": True, "anthropic": False, "gemini": False, "ollama": False, "vllm": True,
                      "azure": False, "legacy": False}
    assert parse_models(None, environ={}).providers["openai"].responses_api is True
