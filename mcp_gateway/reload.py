"""Hot reload of servers.json: watched (and re-read on SIGHUP), applied server by server.

A server whose entry is unchanged keeps its upstream, its sessions and its calls in flight; an added entry is
started, a removed one closed, a changed one replaced (the new one is started before the old one is closed). A
new file that cannot be used as a whole (unreadable, not JSON, no `mcpServers`), or with any entry in error, is
rejected with log lines naming the file, the server and the field, and the running configuration stays.
"""

from __future__ import annotations

import hashlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.abc

from mcp_gateway.config import ConfigError, GatewayConfig, ServerEntry, load_config
from mcp_gateway.registry import Registry, RegistryServer

logger = logging.getLogger(__name__)

ServerFactory = Callable[[ServerEntry, Path], RegistryServer]


def _fingerprint(entry: ServerEntry) -> object:
    """What decides whether an entry changed: its expanded, validated settings (env values included)."""
    if entry.config is None:
        return ("invalid", entry.error)
    return (entry.kind, entry.config.model_dump(mode="json"))


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ConfigReloader:
    """Keeps the registry in step with the config file it was built from."""

    def __init__(self, registry: Registry, path: Path, config: GatewayConfig, factory: ServerFactory) -> None:
        self._registry = registry
        self._path = path
        self._factory = factory
        self._applied = {entry.name: _fingerprint(entry) for entry in config.servers}
        self._digest = _file_digest(path)
        self._lock = anyio.Lock()
        self.config_digest = config.digest
        """The digest of the configuration being served (a rejected file does not change it)."""

    async def reload(self) -> bool:
        """Read the file and apply what changed; False when the new file was rejected."""
        async with self._lock:
            self._digest = _file_digest(self._path)
            try:
                config = load_config(self._path)
            except ConfigError as error:
                logger.error("reload rejected, the running configuration stays: %s", error)
                return False
            invalid = [entry for entry in config.servers if entry.error is not None]
            for entry in invalid:
                logger.error("reload rejected, the running configuration stays: %s", entry.error)
            if invalid:
                return False
            await self._apply(config)
            # Caveat: the access section only takes effect on restart, yet a changed one changes the digest here.
            self.config_digest = config.digest
            return True

    async def _apply(self, config: GatewayConfig) -> None:
        running = {server.upstream.name: server for server in self._registry.registry_servers()}
        servers: list[RegistryServer] = []
        fingerprints = {}
        for entry in config.servers:
            fingerprint = _fingerprint(entry)
            fingerprints[entry.name] = fingerprint
            kept = running.get(entry.name)
            if kept is not None and self._applied.get(entry.name) == fingerprint:
                servers.append(kept)
            else:
                servers.append(self._factory(entry, config.base_dir))
        added = [name for name in fingerprints if name not in running]
        removed = [name for name in running if name not in fingerprints]
        changed = [name for name in fingerprints if name in running and self._applied.get(name) != fingerprints[name]]
        if not (added or removed or changed) and list(running) == list(fingerprints):
            logger.info("reloaded %s: nothing changed", self._path)
            return
        await self._registry.reconfigure(servers)
        self._applied = fingerprints
        logger.info("reloaded %s: added %s, removed %s, restarted %s", self._path,
                    added or "none", removed or "none", changed or "none")

    async def watch(
        self, interval: float, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Reload when the file's content changes (checked every `interval` seconds; 0: never) or on SIGHUP.
        Started once SIGHUP is listened for: a signal sent as soon as the gateway says it is ready is not lost."""
        async with anyio.create_task_group() as group:
            await group.start(self._on_hangup)
            task_status.started()
            if interval > 0:
                while True:
                    await anyio.sleep(interval)
                    digest = _file_digest(self._path)
                    if digest is not None and digest != self._digest:
                        await self.reload()

    async def _on_hangup(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listening = False
        try:
            with anyio.open_signal_receiver(signal.SIGHUP) as signals:
                task_status.started()
                listening = True
                async for _ in signals:
                    logger.info("SIGHUP: reloading %s", self._path)
                    await self.reload()
        except (NotImplementedError, ValueError, AttributeError):
            if listening:
                logger.exception("SIGHUP reloads stopped; the file watch still works")
                return
            # No SIGHUP on this platform, or not on the main thread: the file watch still works.
            task_status.started()
