"""How long each spec in specs/ takes to parse and convert, how big its tools are, and peak memory.

    .venv/bin/python benchmarks/load_specs.py [SPEC ...]

Each spec is measured in a fresh interpreter, so the peak RSS of one spec is not inflated by another.
`parse_s` + `build_s` is the conversion itself; `child_s` is what a gateway waits for on a cache miss: the
conversion in a child process (its interpreter start and imports included) and the decoding of its answer
(conversion_process.py), every tool held.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from mcp_gateway.openapi.conversion_process import convert_in_child
from mcp_gateway.openapi.loader import SpecFile, read_spec_file
from mcp_gateway.openapi.model import HTTP_METHODS
from mcp_gateway.openapi.tools import build_tools

SPECS_DIR = Path(__file__).resolve().parents[1] / "specs"
COLUMNS = (
    "file", "size", "operations", "tools", "skipped", "parse_s", "build_s", "child_s", "schema_json", "peak_rss"
)


def _size(count: float) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 100_000 else f"{count / 1_000:.1f} KB"


def measure(path: Path) -> dict[str, object]:
    started = time.perf_counter()
    document = read_spec_file(path)
    parsed = time.perf_counter()
    tools = build_tools(document)
    built = time.perf_counter()
    operations = sum(
        1
        for item in document.get("paths", {}).values()
        if isinstance(item, dict)
        for method in HTTP_METHODS
        if method in item
    )
    # ru_maxrss is in kilobytes on Linux.
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child_started = time.perf_counter()
    in_child = convert_in_child(SpecFile(path, str(path), str(path.resolve())), None)
    child_seconds = time.perf_counter() - child_started
    assert in_child == tools
    return {
        "file": path.name,
        "size": _size(path.stat().st_size),
        "operations": operations,
        "tools": len(tools.tools),
        "skipped": len(tools.skipped),
        "parse_s": f"{parsed - started:.3f}",
        "build_s": f"{built - parsed:.3f}",
        "child_s": f"{child_seconds:.3f}",
        "schema_json": _size(sum(len(json.dumps(tool.input_schema)) for tool in tools.tools)),
        "peak_rss": _size(peak_rss),
    }


def _measure_in_subprocess(path: Path) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, __file__, "--one", str(path)], check=True, capture_output=True, text=True
    )
    row: dict[str, object] = json.loads(completed.stdout)
    return row


def main(arguments: list[str]) -> None:
    if arguments[:1] == ["--one"]:
        print(json.dumps(measure(Path(arguments[1]))))
        return
    paths = [Path(argument) for argument in arguments] or sorted(
        path for path in SPECS_DIR.iterdir() if path.suffix in (".json", ".yaml", ".yml")
    )
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    rows = [_measure_in_subprocess(path) for path in paths]
    widths = {column: max(len(column), *(len(str(row[column])) for row in rows)) for column in COLUMNS}
    print("  ".join(column.ljust(widths[column]) for column in COLUMNS))
    for row in rows:
        print("  ".join(str(row[column]).ljust(widths[column]) for column in COLUMNS))


if __name__ == "__main__":
    main(sys.argv[1:])
