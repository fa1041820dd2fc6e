"""What start-up leaves behind: the garbage collector running again with start-up's objects frozen, only the
modules a gateway needs imported (PyYAML only for a YAML spec, the provider bridge only when asked for), and the
SDK's per-version wire models without validators until one is used."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

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


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()


def test_the_sdk_wire_models_build_their_validators_only_when_first_used() -> None:
    shown = _run(
        "from mcp_gateway.wire_validators import defer_wire_validators\n"
        "defer_wire_validators()\n"
        "import pydantic\n"
        "from mcp_types import methods\n"
        "import mcp_types._v2025_11_25 as wire\n"
        "print(wire.InitializeRequest.__pydantic_complete__, wire.CallToolRequest.__pydantic_complete__)\n"
        "params = {'protocolVersion': '2025-06-18', 'capabilities': {}, 'clientInfo': {'name': 'c', 'version': '1'}}\n"
        "methods.validate_client_request('initialize', '2025-06-18', params)\n"
        "try:\n"
        "    methods.validate_client_request('initialize', '2025-06-18', {'protocolVersion': '2025-06-18'})\n"
        "except pydantic.ValidationError as error:\n"
        "    print(sorted(str(problem['loc'][-1]) for problem in error.errors()))\n"
        "print(wire.InitializeRequest.__pydantic_complete__, wire.CallToolRequest.__pydantic_complete__)\n"
    )
    # Deferred at import; the first validation builds that model's validator (and only its), which checks as
    # strictly as one built at import would.
    assert shown.splitlines() == ["False False", "['capabilities', 'clientInfo']", "True False"]


def test_deferring_after_the_sdk_is_imported_changes_nothing() -> None:
    shown = _run(
        "import mcp_types.methods\n"
        "import mcp_types._v2025_11_25 as wire\n"
        "from mcp_gateway.wire_validators import defer_wire_validators\n"
        "defer_wire_validators()\n"
        "from mcp_types._wire_base import WireModel\n"
        "print(WireModel.model_config.get('defer_build'), wire.InitializeRequest.__pydantic_complete__)\n"
    )
    assert shown == "None True"


def test_serve_defers_the_wire_validators_before_it_imports_the_sdk(tmp_path: Path) -> None:
    shown = _run(
        "import sys\n"
        "from mcp_gateway.cli import main\n"
        f"assert main(['serve', '--config', {str(tmp_path / 'missing.json')!r}, '--port', '0']) == 1\n"
        "from mcp_types._wire_base import WireModel\n"
        "print(WireModel.model_config.get('defer_build'), 'mcp_types.methods' in sys.modules)\n"
    )
    assert shown == "True False"
