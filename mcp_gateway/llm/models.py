"""The LLM providers the front door can call: the `models` section of servers.json and the official SDKs' variables.

    "models": {
      "maxRounds": 25,
      "providers": {
        "ollama": {"protocol": "openai", "baseUrl": "http://127.0.0.1:11434/v1", "models": ["llama3.2"]},
        "anthropic": {"apiKey": "${CLAUDE_KEY}", "timeout": 300},
        "openai": {"models": {"gpt-4.1": {}, "o3": {"timeout": 600, "apiKey": "${O3_KEY}"}}}
      }
    }

A request's `model` is `provider/model-name`. Three providers exist without any config, keyed and addressed by the
variables their official SDKs read: `openai` (OPENAI_API_KEY, OPENAI_BASE_URL including `/v1`), `anthropic`
(ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL without `/v1`) and `gemini` (GEMINI_API_KEY or GOOGLE_API_KEY,
GOOGLE_GEMINI_BASE_URL without `/v1beta`). A config entry of the same name overrides what it sets; any other name
declares an OpenAI-compatible server (or, with `protocol`, another wire protocol) at `baseUrl`. `${VAR}` expands as
in `mcpServers`; an entry that does not validate is kept with its error, which a request for it receives. `models`
lists model names for GET /v1/models, or maps them to what that model sets differently (`baseUrl`, `apiKey`,
`headers`, `timeout`). `responsesApi: true` says an OpenAI-compatible server also speaks OpenAI's Responses API
(OpenAI itself does; `false` turns it off), which `/v1/responses` then uses instead of Chat Completions.
`maxRounds` caps the rounds any request may ask for.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from mcp_gateway.config import ConfigError, expand_env

logger = logging.getLogger(__name__)

WireProtocol = Literal["openai", "anthropic", "gemini"]
WIRE_PROTOCOLS: tuple[WireProtocol, ...] = get_args(WireProtocol)

DEFAULT_ROUNDS = 10
DEFAULT_MAX_ROUNDS = 25
DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_RETRIES = 2

# Where each built-in provider lives and which variables its official SDK reads.
_BUILTIN_BASE_URLS: dict[WireProtocol, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
}
_KEY_VARIABLES: dict[WireProtocol, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}
_BASE_URL_VARIABLES: dict[WireProtocol, str] = {
    "openai": "OPENAI_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "gemini": "GOOGLE_GEMINI_BASE_URL",
}


class UnknownModelError(LookupError):
    """The request's `model` names no configured provider, or a provider whose entry is broken."""


class _ModelSettings(BaseModel):
    """What one model of a provider may set differently: an entry of the provider's `models` object."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    base_url: str | None = Field(default=None, validation_alias=AliasChoices("baseUrl", "base_url"))
    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("apiKey", "api_key"))
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float | None = Field(default=None, gt=0)

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        return _http_url(value)


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must be an absolute http:// or https:// URL")
    return value.rstrip("/") if value is not None else None


class _ProviderSettings(BaseModel):
    """One entry of `models.providers` as written."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    protocol: WireProtocol | None = Field(default=None, validation_alias=AliasChoices("protocol", "type"))
    base_url: str | None = Field(default=None, validation_alias=AliasChoices("baseUrl", "base_url"))
    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("apiKey", "api_key"))
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)
    max_retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=10,
                             validation_alias=AliasChoices("maxRetries", "max_retries"))
    models: list[str] | dict[str, _ModelSettings] = Field(default_factory=list)
    """Model names (listed by GET /v1/models), or names with what each sets differently."""
    responses_api: bool | None = Field(default=None, validation_alias=AliasChoices("responsesApi", "responses_api"))
    """Whether an OpenAI-protocol server also speaks the Responses API (default: only OpenAI itself)."""

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        return _http_url(value)


@dataclass(frozen=True)
class ProviderConfig:
    """A provider the loop can call: where, how, with which key. `error` set means it cannot be used."""

    name: str
    protocol: WireProtocol
    base_url: str
    api_key: SecretStr | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_RETRIES
    models: tuple[str, ...] = ()
    error: str | None = None
    overrides: Mapping[str, ProviderConfig] = field(default_factory=dict)
    """Per model name, the provider as that model's entry changes it."""
    client_id: str = ""
    """Which pooled client serves it: the provider's name, or `provider/model` for a model with overrides."""
    responses_api: bool = False
    """An OpenAI-protocol provider that also serves `POST {base_url}/responses`: /v1/responses requests reach it
    through that API, and through Chat Completions otherwise."""

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None

    def for_model(self, model: str) -> ProviderConfig:
        return self.overrides.get(model, self)


@dataclass(frozen=True)
class ModelsConfig:
    providers: Mapping[str, ProviderConfig]
    max_rounds: int = DEFAULT_MAX_ROUNDS
    """The most rounds any request may ask for."""

    @property
    def default_rounds(self) -> int:
        return min(DEFAULT_ROUNDS, self.max_rounds)

    def resolve(self, model: str) -> tuple[ProviderConfig, str]:
        """The provider and the provider's own model name for `provider/model-name`."""
        provider_name, separator, model_name = model.partition("/")
        if not separator or not model_name:
            raise UnknownModelError(
                f"model {model!r} must be 'provider/model-name' with provider one of: {', '.join(self.providers)}"
            )
        provider = self.providers.get(provider_name)
        if provider is None:
            close = difflib.get_close_matches(provider_name, list(self.providers), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UnknownModelError(
                f"unknown provider {provider_name!r} in model {model!r}; configured: {', '.join(self.providers)}{hint}"
            )
        if provider.error is not None:
            raise UnknownModelError(f"provider {provider_name!r} cannot be used: {provider.error}")
        return provider.for_model(model_name), model_name

    def listed_models(self) -> list[tuple[str, ProviderConfig]]:
        """`provider/model` ids of every model the config names, for GET /v1/models."""
        return [
            (f"{provider.name}/{model}", provider)
            for provider in self.providers.values()
            if provider.error is None
            for model in provider.models
        ]


def _builtin(protocol: WireProtocol, environ: Mapping[str, str]) -> ProviderConfig:
    key = next((environ[name] for name in _KEY_VARIABLES[protocol] if environ.get(name)), None)
    base_url = environ.get(_BASE_URL_VARIABLES[protocol]) or _BUILTIN_BASE_URLS[protocol]
    return ProviderConfig(
        name=protocol,
        protocol=protocol,
        base_url=base_url.rstrip("/"),
        api_key=SecretStr(key) if key else None,
        client_id=protocol,
        responses_api=protocol == "openai",
    )


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"field '{'.'.join(str(part) for part in item['loc']) or '(entry)'}': {item['msg']}" for item in error.errors()
    )


def _configured(name: str, raw: Any, builtin: ProviderConfig | None, source: str,
                environ: Mapping[str, str]) -> ProviderConfig:
    prefix = f"{source}: models.providers '{name}'"
    fallback = builtin or ProviderConfig(name=name, protocol="openai", base_url="")

    def broken(message: str) -> ProviderConfig:
        logger.warning("%s", message)
        return ProviderConfig(name=name, protocol=fallback.protocol, base_url=fallback.base_url, error=message)

    if "/" in name or not name:
        return broken(f"{prefix}: a provider name must be non-empty and contain no '/'")
    if not isinstance(raw, dict):
        return broken(f"{prefix}: expected an object, got {type(raw).__name__}")
    try:
        expanded = expand_env(raw, environ)
    except KeyError as missing:
        where, variable = missing.args
        return broken(f"{prefix}, field '{where}': environment variable {variable} is not set")
    try:
        settings = _ProviderSettings.model_validate(expanded)
    except ValidationError as error:
        return broken(f"{prefix}: {_describe(error)}")
    protocol = settings.protocol or fallback.protocol
    base_url = settings.base_url or (fallback.base_url if builtin is not None and protocol == builtin.protocol else "")
    if not base_url:
        return broken(f"{prefix}: needs 'baseUrl' (for an OpenAI-compatible server, including /v1)")
    provider = ProviderConfig(
        name=name,
        protocol=protocol,
        base_url=base_url,
        api_key=_present(settings.api_key) or (builtin.api_key if builtin is not None else None),
        headers=dict(settings.headers),
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        models=tuple(settings.models),
        client_id=name,
        responses_api=protocol == "openai" and (
            settings.responses_api if settings.responses_api is not None
            else builtin is not None and builtin.responses_api
        ),
    )
    if not isinstance(settings.models, dict):
        return provider
    overrides = {
        model: dataclasses.replace(
            provider,
            base_url=entry.base_url or provider.base_url,
            api_key=_present(entry.api_key) or provider.api_key,
            headers={**provider.headers, **entry.headers},
            timeout=entry.timeout or provider.timeout,
            models=(),
            client_id=f"{name}/{model}",
        )
        for model, entry in settings.models.items()
        if entry.model_fields_set
    }
    return dataclasses.replace(provider, overrides=overrides)


def _present(key: SecretStr | None) -> SecretStr | None:
    """An empty key (`${VAR:-}` with VAR unset) is no key."""
    return key if key is not None and key.get_secret_value() else None


def parse_models(section: Any, *, environ: Mapping[str, str], source: str = "servers.json") -> ModelsConfig:
    """The `models` section (None when the file has none). ConfigError when it is not an object at all."""
    providers: dict[str, ProviderConfig] = {protocol: _builtin(protocol, environ) for protocol in WIRE_PROTOCOLS}
    if section is None:
        return ModelsConfig(providers)
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: 'models' must be an object")
    unknown = sorted(set(section) - {"providers", "maxRounds"})
    if unknown:
        raise ConfigError(f"{source}: 'models' has unknown fields {unknown}; expected 'providers' and 'maxRounds'")
    max_rounds = section.get("maxRounds", DEFAULT_MAX_ROUNDS)
    if not isinstance(max_rounds, int) or isinstance(max_rounds, bool) or not 1 <= max_rounds <= 1000:
        raise ConfigError(f"{source}: 'models.maxRounds' must be an integer from 1 to 1000")
    configured = section.get("providers", {})
    if not isinstance(configured, dict):
        raise ConfigError(f"{source}: 'models.providers' must be an object")
    for name, raw in configured.items():
        providers[str(name)] = _configured(str(name), raw, providers.get(str(name)), source, environ)
    return ModelsConfig(providers, max_rounds=max_rounds)
