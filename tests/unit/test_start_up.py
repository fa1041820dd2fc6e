"""What start-up leaves behind: the garbage collector running again with start-up's objects frozen, and only the
modules a gateway needs imported (PyYAML only for a YAML spec, the provider bridge only when asked for)."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from mcp_gateway.cli import collector_resumed, main


def test_a_command_leaves_the_collector_running(capsys: pytest.CaptureFixture[str]) -> None:
    assert gc.isenabled()
    assert main(["keys", "new", "start-up-test"]) == 0
    assert gc.isenabled()
    assert "start-up-test" in capsys.readouterr().out


def test_resuming_freezes_what_start_up_built_and_turns_the_collector_back_on() -> None:
    gc.disable()
    try:
        built = [{"kept": index} for index in range(1000)]
        collector_resumed()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(built)
        frozen = gc.get_freeze_count()
        collector_resumed()  # once only: a second call freezes nothing more
        assert gc.get_freeze_count() == frozen
    finally:
        gc.enable()
        gc.unfreeze()


def _modules_after(code: str) -> set[str]:
    shown = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    return set(shown.stdout.split())


def test_serving_json_specs_imports_neither_pyyaml_nor_the_provider_bridge() -> None:
    modules = _modules_after(
        "import mcp_gateway.cli, mcp_gateway.server.app\n"
        "from mcp_gateway.openapi.loader import parse_spec_text\n"
        "parse_spec_text('{\"openapi\": \"3.0.0\"}')"
    )
    assert "mcp_gateway.server.app" in modules
    assert "yaml" not in modules
    assert "mcp_gateway.bridge.tools" not in modules


def test_a_yaml_spec_is_still_parsed_with_pyyaml() -> None:
    modules = _modules_after(
        "from mcp_gateway.openapi.loader import parse_spec_text\n"
        "assert parse_spec_text('openapi: 3.0.0\\nresponses:\\n  200: {}\\n')['responses'] == {'200': {}}"
    )
    assert "yaml" in modules
