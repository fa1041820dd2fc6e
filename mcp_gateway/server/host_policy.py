"""Which Host and Origin headers the gateway answers, so a web page cannot rebind a name to loopback and drive it
(DNS rebinding). The SDK checks its own MCP transport; this policy covers every path, and gives the SDK's check the
same names (`transport_security`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

__all__ = ["LOOPBACK_HOSTS", "HostPolicy", "lowercase_headers"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_CASELESS_HEADERS = (b"host", b"origin")


@dataclass(frozen=True)
class HostPolicy:
    """Which Host and Origin headers the gateway answers; empty `hosts` means any (explicit remote binding)."""

    hosts: tuple[str, ...] = LOOPBACK_HOSTS
    origins: tuple[str, ...] = field(default_factory=lambda: tuple(f"http://{host}" for host in LOOPBACK_HOSTS))

    @property
    def enforced(self) -> bool:
        return bool(self.hosts)

    def transport_security(self) -> TransportSecuritySettings:
        if not self.enforced:
            return TransportSecuritySettings(enable_dns_rebinding_protection=False)
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[pattern for host in self.hosts for pattern in (host, f"{host}:*")],
            allowed_origins=[pattern for origin in self.origins for pattern in (origin, f"{origin}:*")],
        )

    def admits_host(self, host: str | None) -> bool:
        return not self.enforced or (host is not None and _strip_port(host.lower()) in self.hosts)

    def admits_origin(self, origin: str | None) -> bool:
        return not self.enforced or origin is None or _strip_port(origin.lower()) in self.origins

    def refusal(self, headers: Headers) -> Response | None:
        """The answer to a request with a foreign Host or Origin, or None for one the gateway serves."""
        # The MCP transport spec answers a foreign Origin with 403; a foreign Host is a misdirected request.
        if not self.admits_host(headers.get("host")):
            refusal = {"error": "host not allowed (the gateway answers other names with --allowed-host NAME)"}
            return JSONResponse(refusal, status_code=421)
        if not self.admits_origin(headers.get("origin")):
            return JSONResponse({"error": "origin not allowed"}, status_code=403)
        return None


def _strip_port(value: str) -> str:
    head, separator, tail = value.rpartition(":")
    if separator and tail.isdigit() and not head.endswith(("http", "https")):
        return head
    return value


def lowercase_headers(scope: Scope) -> Scope:
    """`scope` with its Host and Origin values in lower case: host names are case-insensitive (RFC 9110), and
    the SDK's own check behind the gateway compares exact strings."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if all(name not in _CASELESS_HEADERS or value == value.lower() for name, value in headers):
        return scope
    lowered = [(name, value.lower() if name in _CASELESS_HEADERS else value) for name, value in headers]
    return {**scope, "headers": lowered}
