"""The LLM front doors are routed before they are built (server/llm_front_doors.py): the same routes as the front
doors declare themselves, and nothing of them imported until a request comes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from starlette.routing import Route

from mcp_gateway.llm.models import parse_models
from mcp_gateway.llm.store import SqliteResponseStore
from mcp_gateway.metrics import GatewayMetrics
from mcp_gateway.server.llm_front_doors import LlmFrontDoors
from tests.unit.test_registry import make_registry


def _shape(routes: list[Route]) -> list[tuple[str, frozenset[str]]]:
    return [(route.path, frozenset(route.methods or ())) for route in routes]


def test_the_routes_are_those_the_front_doors_declare(tmp_path: Path) -> None:
    doors = LlmFrontDoors(make_registry(), parse_models(None, environ={}), SqliteResponseStore(tmp_path / "r.db"),
                          GatewayMetrics())
    built = doors.built()
    declared = [*built.chat.routes(), *built.responses.routes(), *built.messages.routes()]
    assert _shape(doors.routes()) == _shape(declared)
    assert [route.endpoint.__name__ for route in declared] == [
        "create", "list_models", "create", "retrieve", "delete", "create"]


def test_serving_imports_no_front_door_until_one_is_asked_for() -> None:
    probe = ("import sys, mcp_gateway.cli, mcp_gateway.server.app\n"
             "print(sorted(m for m in ('mcp_gateway.llm.providers', 'mcp_gateway.server.chat', "
             "'mcp_gateway.bridge.messages', 'jsonschema', 'jwt', 'openapi_pydantic') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert imported.stdout.strip() == "[]"
