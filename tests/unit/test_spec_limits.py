"""Specs the loader refuses up front: too large to read, or not a version it can convert."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.openapi.loader import MAX_SPEC_BYTES, SpecLoadError, read_spec_file
from mcp_gateway.openapi.tools import build_tools


def test_a_spec_file_over_the_cap_is_refused_without_parsing(tmp_path: Path) -> None:
    spec = tmp_path / "huge.json"
    spec.write_bytes(b"{" + b" " * MAX_SPEC_BYTES + b"}")
    with pytest.raises(SpecLoadError, match=f"larger than {MAX_SPEC_BYTES} bytes"):
        read_spec_file(spec)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"openapi": "4.0.0", "paths": {}}, "unsupported version openapi: '4.0.0'"),
        ({"openapi": 2, "paths": {}}, "unsupported version openapi: '2'"),
        ({"swagger": "1.2", "paths": {}}, "unsupported version swagger: '1.2'"),
        ({"openapi": "3.1.0", "paths": [1, 2]}, "'paths' must be an object, not list"),
    ],
)
def test_documents_that_would_load_as_zero_tools_say_why(document: dict[str, object], reason: str) -> None:
    with pytest.raises(SpecLoadError, match=reason):
        build_tools(document)


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0", "3.2.0"])
def test_every_3_x_version_loads(version: str) -> None:
    assert build_tools({"openapi": version, "info": {"title": "t", "version": "1"}, "paths": {}}).tools == ()
