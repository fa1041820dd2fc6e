"""The provider stand-ins (tests/e2e/fake_providers.py) as a running process, with its script and request log."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_gateway.http import httpx
from tests.e2e.gateway_process import LOOPBACK, ManagedProcess, free_port, http_ready, start_process, stopping

PROVIDER_PATHS = {
    "openai": "/openai/v1", "anthropic": "/anthropic", "gemini": "/gemini", "compatible": "/compatible/v1",
}
"""Where each protocol lives under the stand-in, as the base URL the gateway's config gives that provider."""


@dataclass
class ProviderStandIn:
    base_url: str
    process: ManagedProcess

    def provider_url(self, protocol: str) -> str:
        return f"{self.base_url}{PROVIDER_PATHS[protocol]}"

    def script(self, turns: Sequence[dict[str, Any]]) -> str:
        """A fresh model name whose requests answer with `turns`, in order."""
        model = f"scripted-{uuid.uuid4().hex[:12]}"
        response = httpx.post(f"{self.base_url}/__scripts", json={"model": model, "turns": list(turns)}, timeout=10)
        response.raise_for_status()
        return model

    def received(self, model: str) -> list[dict[str, Any]]:
        """Every request the stand-in received for `model`: path, query, headers, body."""
        response = httpx.get(f"{self.base_url}/__received", params={"model": model}, timeout=10)
        response.raise_for_status()
        requests: list[dict[str, Any]] = response.json()["requests"]
        return requests

    def aborted(self, model: str) -> int:
        """How many streamed answers for `model` lost their client before the end."""
        response = httpx.get(f"{self.base_url}/__received", params={"model": model}, timeout=10)
        response.raise_for_status()
        return int(response.json()["aborted"])


@contextmanager
def running_provider_stand_in(log_dir: Path) -> Iterator[ProviderStandIn]:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "-m", "tests.e2e.fake_providers", "--host", LOOPBACK, "--port", str(port)]
    process = start_process("provider-stand-in", command, ready=http_ready(f"{base_url}/healthz"), log_dir=log_dir)
    with stopping(process):
        yield ProviderStandIn(base_url, process)
