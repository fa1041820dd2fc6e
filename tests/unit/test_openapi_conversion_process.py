"""Conversion in a child process: the same tools as converting here, the same errors, the converter's modules
never imported into the caller, and converting here whenever the child cannot."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from mcp_gateway.openapi import conversion_process
from mcp_gateway.openapi.conversion_cache import ConversionCache, convert
from mcp_gateway.openapi.conversion_process import convert_in_child
from mcp_gateway.openapi.loader import SpecFile, SpecLoadError, SpecSource, SpecText
from mcp_gateway.openapi.model import OpenAPITools

SPECS = Path(__file__).resolve().parents[2] / "specs"
UNIT_SPECS = Path(__file__).resolve().parent / "specs"


def _file(path: Path) -> SpecFile:
    return SpecFile(path, str(path), str(path.resolve()))


def _text(path: Path) -> SpecText:
    return SpecText(path.read_text(encoding="utf-8"), str(path), str(path.resolve()))


@pytest.fixture(scope="module")
def github_here() -> OpenAPITools:
    return convert(_file(SPECS / "github-api.json"), None)


def test_a_child_conversion_is_the_conversion_made_here(tmp_path: Path, github_here: OpenAPITools) -> None:
    spec = _file(SPECS / "github-api.json")
    cache = ConversionCache(tmp_path)
    converted = convert_in_child(spec, cache)
    assert converted == github_here
    assert len(converted.tools) == 1223
    assert cache.load(spec) == github_here, "the child's entry is kept in the cache"


@pytest.mark.parametrize("name", ["odd-names.yaml", "broken-operations.yaml", "swagger2-forms.yaml"])
def test_a_spec_given_as_text_converts_the_same_in_a_child(name: str) -> None:
    spec = _text(UNIT_SPECS / name)
    assert convert_in_child(spec, None) == convert(spec, None)


def test_a_child_holds_only_the_tools_kept_and_names_them_as_a_whole_conversion(
    tmp_path: Path, github_here: OpenAPITools
) -> None:
    kept = {"repos_get", "issues_create", "search_code"}
    converted = convert_in_child(_file(SPECS / "github-api.json"), ConversionCache(tmp_path), kept.__contains__)
    assert [tool for tool in github_here.tools if tool.name in kept] == list(converted.tools)
    assert sorted(converted.withheld) == sorted(tool.name for tool in github_here.tools if tool.name not in kept)
    assert converted.operation_count == github_here.operation_count


@pytest.mark.parametrize("spec_text", [
    '{"openapi": "2.5", "paths": {}}',
    '{"openapi": "3.0.0", "paths": [',
    '{"openapi": "3.0.0", "paths": ["not", "an", "object"]}',
])
@pytest.mark.parametrize("as_file", [True, False])
def test_a_spec_that_cannot_be_converted_fails_as_it_does_here(tmp_path: Path, spec_text: str, as_file: bool) -> None:
    path = tmp_path / "bad.json"
    path.write_text(spec_text, encoding="utf-8")
    spec: SpecSource = _file(path) if as_file else _text(path)
    with pytest.raises(SpecLoadError) as here:
        convert(spec, None)
    with pytest.raises(SpecLoadError) as in_child:
        convert_in_child(spec, ConversionCache(tmp_path / "cache"))
    assert str(in_child.value) == str(here.value)
    assert not (tmp_path / "cache").exists()


def test_a_file_that_is_gone_fails_as_it_does_here(tmp_path: Path) -> None:
    spec = _file(tmp_path / "missing.json")
    with pytest.raises(SpecLoadError) as here:
        convert(spec, None)
    with pytest.raises(SpecLoadError) as in_child:
        convert_in_child(spec, None)
    assert str(in_child.value) == str(here.value)


@pytest.mark.parametrize("executable", ["", "/nonexistent/python", "/bin/false"])
def test_without_a_working_child_the_spec_is_converted_here(
    executable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spec = _file(UNIT_SPECS / "odd-names.yaml")
    monkeypatch.setattr(conversion_process.sys, "executable", executable)
    with caplog.at_level(logging.WARNING):
        converted = convert_in_child(spec, ConversionCache(tmp_path))
    assert converted == convert(spec, None)
    assert ConversionCache(tmp_path).load(spec) == converted
    if executable:
        assert "converting" in caplog.text and "in this process" in caplog.text


def test_the_converter_is_never_imported_into_the_process_that_asks() -> None:
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from mcp_gateway.openapi.conversion_process import convert_in_child\n"
        "from mcp_gateway.openapi.loader import SpecFile\n"
        f"path = Path({str(SPECS / 'github-api.json')!r})\n"
        "tools = convert_in_child(SpecFile(path, str(path), str(path)), None, lambda name: name == 'repos_get')\n"
        "print(json.dumps([[tool.name for tool in tools.tools], len(tools.withheld),\n"
        "                  sorted(name for name in sys.modules if name.startswith(('mcp_gateway.openapi.tools',\n"
        "                         'mcp_gateway.openapi.operations', 'openapi_pydantic')))]))\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(shown.stdout) == [["repos_get"], 1222, []]


class _RecordedChild(subprocess.Popen[bytes]):
    """A converter process whose command line and CPU priority (when it is given its input) are noted."""

    started: ClassVar[list[tuple[list[str], int]]] = []

    def communicate(self, input: bytes | None = None, timeout: float | None = None) -> tuple[bytes, bytes]:
        _RecordedChild.started.append(([str(part) for part in self.args], os.getpriority(os.PRIO_PROCESS, self.pid)))
        return super().communicate(input, timeout)


@pytest.fixture
def recorded_children(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], int]]:
    monkeypatch.setattr(_RecordedChild, "started", [])
    monkeypatch.setattr(conversion_process.subprocess, "Popen", _RecordedChild)
    return _RecordedChild.started


def _spec_with_credentials() -> SpecText:
    text = (UNIT_SPECS / "odd-names.yaml").read_text(encoding="utf-8")
    return SpecText(text, "https://specs.example/api.yaml", "https://user:hunter2@specs.example/api.yaml?key=s3cret")


def test_a_spec_urls_credentials_never_reach_the_childs_command_line(
    recorded_children: list[tuple[list[str], int]],
) -> None:
    spec = _spec_with_credentials()
    assert convert_in_child(spec, None) == convert(spec, None)
    ((command, _),) = recorded_children
    assert not any("hunter2" in part or "s3cret" in part for part in command)


def test_the_child_converts_at_a_lower_cpu_priority_than_the_gateway(
    recorded_children: list[tuple[list[str], int]],
) -> None:
    spec = _spec_with_credentials()
    assert convert_in_child(spec, None) == convert(spec, None)
    ((_, priority),) = recorded_children
    assert priority == os.getpriority(os.PRIO_PROCESS, 0) + 10


def test_the_child_imports_neither_the_http_stack_nor_the_sdk() -> None:
    # The child's start is spent beside the gateway's: each library it does not need is time the conversion saves.
    code = (
        "import runpy, sys\n"
        "sys.argv = ['convert', '--source', 'x', '--file', sys.argv[1]]\n"
        "try:\n"
        "    runpy.run_module('mcp_gateway.openapi.conversion_process', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(' '.join(sys.modules))\n"
    )
    shown = subprocess.run([sys.executable, "-c", code, str(UNIT_SPECS / "odd-names.yaml")],
                           capture_output=True, check=True, timeout=120)
    modules = set(shown.stderr.decode().split())
    assert "mcp_gateway.openapi.tools" in modules
    assert not modules & {"mcp_gateway.http", "httpx2", "aiohttp", "mcp", "mcp_types", "anyio"}
    assert shown.stdout.startswith(b'{"format": 2,')
