"""servers.json in the `mcpServers` format that Claude Desktop and Cursor use, plus our `openapi` block.

Each server is expanded and validated on its own: a bad entry becomes a `ServerEntry` with an `error` naming
the file, the server and the field, and every other server still loads. Fields we do not know are kept
(`extra="allow"`) so a pasted Claude Desktop or Cursor config always loads.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcp_gateway.auth.outbound import OAuth2ClientCredentials, OutboundAuth
from mcp_gateway.auth.settings import AccessError, AccessSettings, parse_access
from mcp_gateway.limits import ServerLimits

ServerKind = Literal["openapi", "stdio", "http", "sse"]

logger = logging.getLogger(__name__)

# Fields other MCP clients put in an entry; kept and ignored without a word.
_KNOWN_FOREIGN_FIELDS = frozenset({"autoApprove", "alwaysAllow", "description", "name", "envFile", "trust"})

# ${VAR} or ${VAR:-default}; `$${` escapes a literal `${`.
_ENV_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The config file as a whole cannot be used (unreadable, not JSON, no `mcpServers` object)."""


class OpenAPISource(BaseModel):
    """The `openapi` block of a server entry: where the spec is and how to call the API it describes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    spec: str
    """File path (relative to the config file) or http(s) URL of an OpenAPI 3.x / Swagger 2.0 document."""
    base_url: str | None = Field(default=None, validation_alias=AliasChoices("baseUrl", "base_url"))
    auth: OutboundAuth | None = None

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        # Caught here it names the field; caught at call time it is an odd "missing protocol" on every call.
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=30.0, gt=0)


class ServerConfig(BaseModel):
    """One `mcpServers` entry. Exactly one of `openapi`, `command` or `url` says what kind of server it is."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    auth: OAuth2ClientCredentials | None = None
    """For `url` servers: credentials beyond static headers (OAuth2 client credentials)."""
    forward_user_authorization: bool = Field(
        default=False, validation_alias=AliasChoices("forwardUserAuthorization", "forward_user_authorization")
    )
    """OpenAPI and `url` servers: a caller's own credential for this server (`x-mcp-{server}-authorization`, or
    its key's `credentials`) replaces the configured one on that caller's calls."""
    transport: str | None = Field(default=None, validation_alias=AliasChoices("type", "transport"))
    openapi: OpenAPISource | None = None
    allowed_tools: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("allowedTools", "allowed_tools")
    )
    disallowed_tools: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("disallowedTools", "disallowed_tools")
    )
    disabled: bool = False
    timeout: float = Field(default=60.0, gt=0)
    limits: ServerLimits = Field(default_factory=ServerLimits)

    @property
    def kind(self) -> ServerKind:
        if self.openapi is not None:
            return "openapi"
        if self.command is not None:
            return "stdio"
        transport = (self.transport or "").lower()
        if transport == "sse" or (not transport and self.url is not None and self.url.rstrip("/").endswith("/sse")):
            return "sse"
        return "http"


@dataclass(frozen=True)
class ServerEntry:
    """A named server as loaded: either a valid config or the error that keeps it from starting."""

    name: str
    config: ServerConfig | None
    error: str | None = None
    kind: ServerKind | None = None


@dataclass(frozen=True)
class GatewayConfig:
    path: Path | None
    servers: tuple[ServerEntry, ...]
    sections: Mapping[str, Any] = dataclass_field(default_factory=dict)
    """Other top-level sections of the file (`models`, ...), as written: each is read, and its `${VAR}`s expanded,
    by the module that owns it."""
    access: AccessSettings = dataclass_field(default_factory=AccessSettings)
    """Gateway keys and accepted OAuth tokens (the top-level `access` section); see auth/settings.py."""
    digest: str = ""
    """Identifies the configuration, so an operator can see replicas that disagree (see `config_digest`)."""

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()


def expand_env(value: Any, environ: Mapping[str, str], where: str = "") -> Any:
    """Expand `${VAR}` / `${VAR:-default}` in every string of a JSON value. Returns a new value.

    Raises KeyError(field path, variable) for an unset variable without a default, so the caller can name the
    field; the error never includes any variable's value.
    """
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            variable, default = match.group(1), match.group(2)
            if variable in environ:
                return environ[variable]
            if default is not None:
                return default
            raise KeyError(where, variable)

        return _ENV_REFERENCE.sub(replace, value)
    if isinstance(value, dict):
        return {key: expand_env(item, environ, f"{where}.{key}" if where else str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item, environ, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(entry)"
        parts.append(f"field '{location}': {item['msg']}")
    return "; ".join(parts)


def parse_server(name: str, raw: Any, *, source: str, environ: Mapping[str, str]) -> ServerEntry:
    prefix = f"{source}: server '{name}'"
    if not isinstance(raw, dict):
        return ServerEntry(name, None, f"{prefix}: expected an object, got {type(raw).__name__}")
    try:
        expanded = expand_env(raw, environ)
    except KeyError as missing:
        field, variable = missing.args
        return ServerEntry(name, None, f"{prefix}, field '{field}': environment variable {variable} is not set")
    try:
        config = ServerConfig.model_validate(expanded)
    except ValidationError as error:
        return ServerEntry(name, None, f"{prefix}: {_describe_validation_error(error)}")
    for field_name in ("command", "url"):
        value = getattr(config, field_name)
        if value is not None and not value.strip():
            # Typically "${VAR:-}" with VAR unset: say so here rather than fail when the process is launched.
            return ServerEntry(name, None, f"{prefix}, field '{field_name}': must not be empty")
    if config.forward_user_authorization and config.command is not None:
        return ServerEntry(name, None, f"{prefix}, field 'forwardUserAuthorization': only for OpenAPI and 'url' "
                                       "servers")
    if config.auth is not None and config.url is None:
        return ServerEntry(name, None, f"{prefix}, field 'auth': only for 'url' servers (OpenAPI servers use "
                                       "'openapi.auth')")
    if config.openapi is not None and not config.openapi.spec.strip():
        return ServerEntry(name, None, f"{prefix}, field 'openapi.spec': must not be empty")
    kinds = [kind for kind, present in (("openapi", config.openapi), ("command", config.command), ("url", config.url))
             if present is not None]
    if not kinds:
        return ServerEntry(name, None, f"{prefix}: needs one of 'openapi', 'command' or 'url'")
    if len(kinds) > 1:
        return ServerEntry(name, None, f"{prefix}: has {', '.join(kinds)}; use exactly one of them")
    _warn_unused_fields(prefix, config)
    return ServerEntry(name, config, None, config.kind)


def _warn_unused_fields(prefix: str, config: ServerConfig) -> None:
    """A pasted config keeps other clients' fields; a misspelt field of ours (say `alowedTools`, which would
    silently expose every tool) deserves a word."""
    ours = [alias for field in ServerConfig.model_fields.values()
            for alias in getattr(field.validation_alias, "choices", ()) if isinstance(alias, str)]
    ours += list(ServerConfig.model_fields)
    for field in config.model_extra or {}:
        if field in _KNOWN_FOREIGN_FIELDS:
            continue
        close = difflib.get_close_matches(field, ours, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        logger.warning("%s: field '%s' is not used by the gateway%s", prefix, field, hint)


def parse_config(document: Any, *, source: str = "servers.json", environ: Mapping[str, str] | None = None,
                 path: Path | None = None) -> GatewayConfig:
    if not isinstance(document, dict) or not isinstance(document.get("mcpServers"), dict):
        raise ConfigError(f"{source}: expected a JSON object with an 'mcpServers' object")
    env = os.environ if environ is None else environ
    servers = tuple(
        parse_server(str(name), raw, source=source, environ=env) for name, raw in document["mcpServers"].items()
    )
    sections = {key: value for key, value in document.items() if key not in ("mcpServers", "access")}
    try:
        access = parse_access(document.get("access"), source=source, environ=env)
    except AccessError as error:
        raise ConfigError(str(error)) from None
    return GatewayConfig(path=path, servers=servers, sections=sections, access=access,
                         digest=config_digest(document, access))


def config_digest(document: Mapping[str, Any], access: AccessSettings) -> str:
    """A short SHA-256 of the file as written and of each gateway key's own SHA-256.

    Both replicas of one deployment must show the same value. It is shown to anyone (`/health`), so it is built
    from what holds no secret by itself: `${VAR}` references as written (never the values they expand to) and the
    keys' digests, which is how a key found through `${VAR}` still makes two replicas disagree.
    """
    hasher = hashlib.sha256(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
    for name, entry in sorted(access.keys.items()):
        hasher.update(f"\nkey {name} {entry.digest().hex()}".encode())
    return hasher.hexdigest()[:16]


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{config_path}: cannot read: {error.strerror or error}") from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{config_path}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from error
    return parse_config(document, source=str(config_path), environ=environ, path=config_path.resolve())
