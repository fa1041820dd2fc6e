"""mcp-gateway: OpenAPI specs and MCP servers as one set of MCP tools, for MCP clients and LLM providers.

Commands: serve (HTTP), stdio (for clients that launch a command), preview (a spec's tools), tools (what a config
exposes), export (a config's tools in an LLM provider's format).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import ipaddress
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from mcp_gateway.bridge.targets import PROVIDERS, parse_provider
from mcp_gateway.config import ConfigError, load_config
from mcp_gateway.log_format import LOG_FORMATS, configure_logging
from mcp_gateway.openapi.conversion_cache import CACHE_DIR_VARIABLE, ConversionCache, default_cache_dir
from mcp_gateway.openapi.loader import SpecLoadError, read_spec
from mcp_gateway.wire_validators import defer_wire_validators

if TYPE_CHECKING:
    from mcp_gateway.auth.client_credentials import TokenCaches
    from mcp_gateway.cluster.state import SharedState
    from mcp_gateway.config import GatewayConfig
    from mcp_gateway.llm.models import ModelsConfig
    from mcp_gateway.memory_budget import MemoryBudget
    from mcp_gateway.registry import Registry
    from mcp_gateway.reload import ConfigReloader
    from mcp_gateway.server.app import HostPolicy

# The server, the registry and the bridge import the mcp SDK (over a second); commands that do not serve
# (preview) import them only when they run, so a quick look at a spec stays quick.

DEFAULT_PORT = 8765
GATEWAY_URL_VARIABLE = "MCP_GATEWAY_URL"
"""Set to the gateway's own base URL before the config is read, so servers.json can point at the gateway."""

logger = logging.getLogger("mcp_gateway")


def collector_resumed() -> None:
    """Turn the cyclic garbage collector back on once start-up has built what lives as long as the process,
    having moved all of that out of its reach (`gc.freeze`): later collections walk only what came after.
    `python -m mcp_gateway` and `main` pause it while starting; calling this again does nothing."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host in ("0.0.0.0", "::", "")


def _machine_names() -> list[str]:
    """This machine's host names and the addresses they resolve to: the Host a remote client is likely to send."""
    names = [socket.gethostname(), socket.getfqdn()]
    with contextlib.suppress(OSError):
        names += [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)]
    return names


def _host_policy(host: str, allowed_hosts: Sequence[str], *, keys: bool) -> HostPolicy:
    """Which Host/Origin headers to answer (DNS-rebinding protection).

    Loopback, and any address when keys are configured: loopback names plus the bound address (for a wildcard
    address, this machine's names), or exactly `--allowed-host` names. `--allowed-host '*'` turns the check off;
    so does a remote binding without keys (`--allow-remote`) unless names are given.
    """
    from mcp_gateway.server.app import LOOPBACK_HOSTS, HostPolicy

    if "*" in allowed_hosts:
        logger.info("--allowed-host '*': Host and Origin are not checked")
        return HostPolicy(hosts=(), origins=())
    if allowed_hosts:
        hosts = tuple(host.lower() for host in allowed_hosts)
    elif _is_loopback(host) or keys:
        local = _machine_names() if _is_wildcard(host) else [host]
        hosts = tuple(dict.fromkeys((*LOOPBACK_HOSTS, *(_url_host(name) for name in local))))
        if not _is_loopback(host):
            logger.info("answering Host %s; add names with --allowed-host NAME ('*' for any)", ", ".join(hosts))
    else:
        logger.warning(
            "bound to %s with no --allowed-host: Host/Origin checks are off and the gateway has no authentication; "
            "anyone who can reach this address can call every tool with the configured upstream credentials",
            host,
        )
        return HostPolicy(hosts=(), origins=())
    schemes = ("http",) if _is_loopback(host) and not allowed_hosts else ("http", "https")
    return HostPolicy(hosts=hosts, origins=tuple(f"{scheme}://{name}" for name in hosts for scheme in schemes))


def _bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Bind before reading the config, so the actual port (also for --port 0) is known to servers.json.
    `reuse_port`: the socket of `serve --workers N` on Linux, which only holds the port (it does not listen);
    each worker listens on a socket of its own (server/workers.py)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise BindError(f"cannot resolve host {host!r}: {error.strerror}") from error
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        hint = " (another gateway already running? choose another with --port, or `make run PORT=...`)"
        raise BindError(f"cannot listen on {host}:{port}: {error.strerror}{hint if port else ''}") from error
    if not reuse_port:
        sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class BindError(Exception):
    """The address cannot be bound; the message says what to do instead."""


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0-65535; 0 picks a free one)")
    return port


def _key_name(value: str) -> str:
    from mcp_gateway.auth.settings import is_key_name

    if not is_key_name(value):
        raise argparse.ArgumentTypeError(f"{value!r}: use letters, digits and . _ - (at most 64)")
    return value


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number")
    return number


def _non_negative(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"{value} is not zero or a positive number")
    return number


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _conversion_cache(args: argparse.Namespace) -> ConversionCache | None:
    if args.no_cache:
        return None
    return ConversionCache(args.cache_dir or default_cache_dir())


def _load_registry(config_path: str, cache: ConversionCache | None) -> Registry:
    from mcp_gateway.upstreams.factory import build_registry

    return build_registry(load_config(config_path), cache=cache)


def _load_models(config: GatewayConfig) -> ModelsConfig:
    """The LLM providers of /v1/chat/completions: the file's `models` section and the SDKs' variables."""
    from mcp_gateway.llm.models import parse_models

    return parse_models(config.sections.get("models"), environ=os.environ, source=str(config.path))


def _reloadable_registry(
    config_path: str,
    config: GatewayConfig,
    cache: ConversionCache | None,
    memory_budget_mb: float | None = None,
    tokens: TokenCaches | None = None,
) -> tuple[Registry, ConfigReloader, MemoryBudget]:
    """The registry of the loaded `config` and what keeps it in step with the file (hot reload of servers; the
    `access` section is read once, at startup)."""
    from mcp_gateway.memory_budget import MemoryBudget
    from mcp_gateway.reload import ConfigReloader
    from mcp_gateway.upstreams.factory import build_registry, registry_server

    memory = MemoryBudget(int(memory_budget_mb * 1024 * 1024)) if memory_budget_mb else MemoryBudget()
    from mcp_gateway.auth.client_credentials import TokenCaches

    # One token cache for the servers loaded now and those a reload adds: one token per credential.
    tokens = tokens or TokenCaches()
    registry = build_registry(config, memory, cache, tokens)
    return registry, ConfigReloader(
        registry, Path(config_path), config,
        lambda entry, base_dir: registry_server(entry, base_dir, memory, tokens, cache),
    ), memory


def _shared_state(redis_url: str | None, response_ttl_days: float) -> SharedState | None:
    if not redis_url:
        return None
    from mcp_gateway.cluster.redis_connection import RedisUrlError
    from mcp_gateway.cluster.state import SharedState

    try:
        return SharedState.from_url(redis_url, response_ttl_seconds=max(1, round(response_ttl_days * 86_400)))
    except RedisUrlError as error:
        raise ConfigError(str(error)) from None


def command_serve(args: argparse.Namespace) -> int:
    defer_wire_validators()
    if args.workers > 1:
        from mcp_gateway.server.workers import sockets_per_worker

        sock = _bind(args.host, args.port, reuse_port=sockets_per_worker())
    else:
        sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    base_url = f"http://{_url_host(args.host)}:{port}"
    os.environ[GATEWAY_URL_VARIABLE] = base_url
    config = load_config(args.config)
    access = config.access
    remote = not _is_loopback(args.host)
    if remote and not args.allow_remote and not access.enabled:
        sock.close()
        print(
            f"refusing to bind {args.host}: without gateway keys (the 'access' section of the config) the gateway "
            "binds loopback only unless --allow-remote is given",
            file=sys.stderr,
        )
        return 2
    if args.workers == 1:
        _serve_one(args, config, sock, base_url)
        return 0
    from mcp_gateway.server.workers import serve_in_workers

    if not args.stateless:
        logger.warning(
            "%d workers without --stateless: handshake-era MCP sessions (initialize, Mcp-Session-Id) live in one "
            "worker and get 404 from the others; use --stateless, or a balancer that routes by Mcp-Session-Id",
            args.workers,
        )
    from mcp_gateway.metrics import across_workers

    with across_workers() as metrics_dir:
        return serve_in_workers(
            args.workers,
            lambda index, own: _serve_one(args, config, own, base_url, worker=index, metrics_dir=metrics_dir),
            sock,
        )


def _serve_one(
    args: argparse.Namespace, config: GatewayConfig, sock: socket.socket, base_url: str, worker: int | None = None,
    metrics_dir: Path | None = None,
) -> None:
    """One whole gateway on `sock`, until it is stopped (a worker of `--workers N`, or the only one)."""
    import uvicorn

    from mcp_gateway.auth.client_credentials import TokenCaches
    from mcp_gateway.llm.store import SqliteResponseStore, default_database_path
    from mcp_gateway.metrics import GatewayMetrics
    from mcp_gateway.server.app import create_app
    from mcp_gateway.server.drain import Drain, DrainingServer
    from mcp_gateway.server.sessions import SessionLimits

    access = config.access
    # Each worker its own Redis client and metrics (whose values a scrape sums): they share the port, not the
    # process.
    shared = _shared_state(args.redis_url, args.responses_ttl)
    if shared is not None and args.responses_db:
        logger.warning("--responses-db is not used: with --redis-url stored responses are kept in Redis")
    tokens = TokenCaches(shared.tokens if shared is not None else None)
    registry, reloader, memory = _reloadable_registry(
        args.config, config, _conversion_cache(args), args.memory_budget, tokens
    )
    metrics = GatewayMetrics(workers_dir=metrics_dir)
    metrics.watch_memory(memory)
    models = _load_models(config)
    policy = _host_policy(args.host, args.allowed_host, keys=access.enabled)
    who = "" if worker is None else f" (worker {worker}, pid {os.getpid()})"
    drain = Drain()
    app = create_app(
        registry,
        stateless=args.stateless,
        policy=policy,
        on_ready=[f"listening on {base_url} (MCP at {base_url}/mcp){who}", access.describe()],
        retry_interval=args.retry_interval,
        sessions=SessionLimits(max_sessions=args.max_sessions, idle_timeout=args.session_idle_timeout),
        reloader=reloader,
        reload_interval=args.reload_interval,
        models=models,
        access=access,
        response_store=(shared.responses if shared is not None
                        else SqliteResponseStore(args.responses_db or default_database_path())),
        drain=drain,
        metrics=metrics,
        shared=shared,
    )
    # uvloop and httptools when installed (they are dependencies where they build): measured 10-16% less CPU
    # per tool call than asyncio and h11 (benchmarks/peers.py).
    server_config = uvicorn.Config(
        drain.middleware(app), log_config=None, log_level=logging.getLogger().level, lifespan="on"
    )
    collector_resumed()
    DrainingServer(server_config, drain, grace_period=args.grace_period).run(sockets=[sock])


def command_stdio(args: argparse.Namespace) -> int:
    defer_wire_validators()
    from mcp_gateway.server.stdio import serve_stdio

    sock = _bind("127.0.0.1", 0)
    os.environ[GATEWAY_URL_VARIABLE] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = load_config(args.config)
    registry, reloader, _ = _reloadable_registry(args.config, config, _conversion_cache(args))
    anyio.run(serve_stdio, registry, sock, reloader, args.reload_interval, config.access)
    return 0


def command_preview(args: argparse.Namespace) -> int:
    try:
        document = anyio.run(read_spec, args.spec)
    except SpecLoadError as error:
        print(str(error), file=sys.stderr)
        return 1
    from mcp_gateway.openapi.preview import format_preview, preview
    from mcp_gateway.openapi.tools import build_tools

    tools = build_tools(document)
    if args.json:
        print(json.dumps(preview(tools), indent=2))
    else:
        print(format_preview(tools))
    return 0


async def _started(config_path: str, cache: ConversionCache | None) -> Registry:
    registry = _load_registry(config_path, cache)
    await registry.start()
    return registry


def _offline_gateway_url() -> None:
    # Listing and exporting never call the gateway itself; the default port keeps the bundled config loadable.
    os.environ.setdefault(GATEWAY_URL_VARIABLE, f"http://127.0.0.1:{DEFAULT_PORT}")


def command_tools(args: argparse.Namespace) -> int:
    from mcp_gateway.registry import UnknownServerError

    _offline_gateway_url()

    async def run() -> int:
        registry = await _started(args.config, _conversion_cache(args))
        try:
            for status in registry.servers():
                detail = f" ({status.health.detail})" if status.health.detail else ""
                print(f"# {status.name} [{status.kind}] {status.health.state}: {status.tool_count} tools{detail}",
                      file=sys.stderr)
            try:
                tools = registry.list_tools(args.server)
            except UnknownServerError:
                print(f"unknown server '{args.server}'", file=sys.stderr)
                return 1
            if args.json:
                print(json.dumps([tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools],
                                 indent=2))
            else:
                for tool in tools:
                    summary = (tool.description or "").split("\n", 1)[0]
                    print(f"{tool.name}\t{summary}")
            return 0
        finally:
            await registry.aclose()

    return anyio.run(run)


def command_export(args: argparse.Namespace) -> int:
    from mcp_gateway.bridge.tools import ToolLimitError, convert_tools
    from mcp_gateway.registry import UnknownServerError

    _offline_gateway_url()
    provider = parse_provider(args.provider)

    async def run() -> int:
        registry = await _started(args.config, _conversion_cache(args))
        try:
            try:
                tools = registry.list_tools(args.server)
            except UnknownServerError:
                print(f"unknown server '{args.server}'", file=sys.stderr)
                return 1
            try:
                converted = convert_tools(tools, provider, strict=args.strict)
            except ToolLimitError as error:
                print(str(error), file=sys.stderr)
                return 1
            print(json.dumps(converted.to_json(), indent=2))
            return 0
        finally:
            await registry.aclose()

    return anyio.run(run)


def command_keys_new(args: argparse.Namespace) -> int:
    from mcp_gateway.auth.keys import key_digest_hex, new_key

    key = new_key()
    entry = {"sha256": key_digest_hex(key), "servers": ["*"], "tools": ["*"], "admin": False}
    print(f"key (give it to the client; it is not stored anywhere): {key}")
    print("add to the 'access' -> 'keys' section of servers.json:")
    print(f"{json.dumps(args.name)}: {json.dumps(entry)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcp-gateway", description=__doc__)
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MCP_GATEWAY_LOG_LEVEL"),
        help="debug, info, warning, error (default: info for serve and stdio, warning for the others)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=os.environ.get("MCP_GATEWAY_LOG_FORMAT", "text"),
        help="text, or json: one JSON object per line with the request id (default: text)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", default="servers.json", help="mcpServers config (default: servers.json)")
        sub.add_argument("--cache-dir", type=Path, metavar="DIR",
                         help=f"where converted OpenAPI specs are kept between starts (default: ${CACHE_DIR_VARIABLE}, "
                              "else $XDG_CACHE_HOME/mcp-gateway, else ~/.cache/mcp-gateway)")
        sub.add_argument("--no-cache", action="store_true", help="convert every OpenAPI spec at every start")

    def with_reload(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--reload-interval", type=float, default=2.0,
                         help="seconds between checks of the config file for changes (0: only on SIGHUP; default 2)")

    serve = commands.add_parser("serve", help="serve MCP over streamable HTTP (/mcp, /mcp/{server}) and REST")
    with_config(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free one")
    # Also after the command (`serve --log-format json`), where a container's command line puts it.
    serve.add_argument("--log-format", choices=LOG_FORMATS, default=argparse.SUPPRESS, help="as before the command")
    serve.add_argument("--stateless", action="store_true", help="no MCP sessions: for replicas behind a balancer")
    serve.add_argument("--workers", type=_positive_int, default=1,
                       help="processes serving the one port, one per core (default 1); handshake-era MCP clients "
                            "then need --stateless")
    serve.add_argument("--retry-interval", type=float, default=30.0,
                       help="seconds between attempts to bring unhealthy servers back (0: never; default 30)")
    serve.add_argument("--grace-period", type=_non_negative, default=30.0,
                       help="seconds calls in flight may take to finish on SIGTERM; new requests get 503 (default 30)")
    serve.add_argument("--memory-budget", type=_positive, default=256.0, metavar="MB",
                       help="upstream response bytes held at once, over all calls (default 256); calls wait for room")
    serve.add_argument("--max-sessions", type=_positive_int, default=2000,
                       help="open MCP sessions over all endpoints; more get 503 (default 2000)")
    serve.add_argument("--session-idle-timeout", type=_positive, default=600.0, metavar="SECONDS",
                       help="close an MCP session after this long without a request (default 600)")
    serve.add_argument("--redis-url", default=os.environ.get("MCP_GATEWAY_REDIS_URL"), metavar="URL",
                       help="share state with other replicas in Redis (redis://, rediss://, unix://): OAuth2 "
                            "client-credentials tokens, list-changed events and the responses /v1/responses stores "
                            "(default: $MCP_GATEWAY_REDIS_URL; none: each gateway on its own)")
    serve.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    serve.add_argument("--allowed-host", action="append", default=[],
                       help="Host header value to accept (repeatable; '*' for any; default: loopback names and the "
                            "bound address)")
    serve.add_argument("--responses-db", metavar="PATH",
                       help="SQLite file keeping the responses /v1/responses stores until they are deleted "
                            "(default: responses.sqlite3 under $MCP_GATEWAY_DATA_DIR, else $XDG_DATA_HOME/mcp_gateway "
                            "or ~/.local/share/mcp_gateway; not used with --redis-url)")
    serve.add_argument("--responses-ttl", type=_positive, default=30.0, metavar="DAYS",
                       help="with --redis-url, how long Redis keeps a stored response after it is written "
                            "(default 30, as OpenAI does)")
    with_reload(serve)
    serve.set_defaults(handler=command_serve)

    stdio = commands.add_parser("stdio", help="serve MCP over stdin/stdout (for Claude Desktop)")
    with_config(stdio)
    with_reload(stdio)
    stdio.set_defaults(handler=command_stdio)

    preview_cmd = commands.add_parser("preview", help="print the tools an OpenAPI spec would become")
    preview_cmd.add_argument("spec", help="file path or http(s) URL")
    preview_cmd.add_argument("--json", action="store_true", help="the same JSON as POST /openapi/preview")
    preview_cmd.set_defaults(handler=command_preview)

    tools = commands.add_parser("tools", help="list the tools the configured servers expose")
    with_config(tools)
    tools.add_argument("--server", help="only this server's tools, under their per-server names")
    tools.add_argument("--json", action="store_true", help="MCP tool definitions as JSON")
    tools.set_defaults(handler=command_tools)

    export = commands.add_parser("export", help="print tool definitions in an LLM provider's format")
    with_config(export)
    export.add_argument("--provider", required=True, help=", ".join(PROVIDERS))
    export.add_argument("--server", help="only this server's tools")
    export.add_argument("--strict", action="store_true", help="OpenAI strict mode (openai, openai-responses only)")
    export.set_defaults(handler=command_export)

    keys = commands.add_parser("keys", help="gateway keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_new = key_commands.add_parser("new", help="print a fresh key and the config entry holding its SHA-256")
    key_new.add_argument("name", type=_key_name, help="the key's name (letters, digits, . _ -)")
    key_new.set_defaults(handler=command_keys_new)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    was_enabled = gc.isenabled()
    gc.disable()  # while starting (see collector_resumed); `serve` resumes it once its app is built
    try:
        return _main(argv)
    finally:
        if was_enabled:
            collector_resumed()


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        collector_resumed()
    configure_logging(args.log_level or ("info" if args.command in ("serve", "stdio") else "warning"), args.log_format)
    if args.command == "export":
        try:
            parse_provider(args.provider)
        except ValueError as error:
            print(str(error), file=sys.stderr)
            return 2
    try:
        result: int = args.handler(args)
    except (ConfigError, BindError) as error:
        print(str(error), file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `mcp-gateway preview big.json | head`: the reader has what it wanted; no traceback for that.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())

