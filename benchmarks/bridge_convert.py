"""How long converting every tool of a spec to each provider's tool definitions takes.

    .venv/bin/python benchmarks/bridge_convert.py [specs/github-api.json] [--repeat 5]

Loads and builds the spec's tools once (not timed), then for each provider times one name map over all tools
plus one definition per tool — the work `convert_tools` does, without the per-request tool limit, so the
whole spec can be measured at once. Prints the tool count, the best time of the repeats and the JSON size.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mcp_types

from mcp_gateway.bridge.names import build_name_map
from mcp_gateway.bridge.targets import PROVIDERS, Provider
from mcp_gateway.bridge.tools import tool_definition
from mcp_gateway.openapi.loader import read_spec_file
from mcp_gateway.openapi.tools import build_tools

DEFAULT_SPEC = Path(__file__).parents[1] / "specs" / "github-api.json"


def convert_all(tools: list[mcp_types.Tool], provider: Provider, strict: bool) -> list[dict[str, object]]:
    name_map = build_name_map([tool.name for tool in tools], provider)
    return [tool_definition(tool, provider, name_map.to_target(tool.name), strict=strict) for tool in tools]


def best_time(tools: list[mcp_types.Tool], provider: Provider, strict: bool, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        convert_all(tools, provider, strict)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    built = build_tools(read_spec_file(arguments.spec))
    tools = [
        mcp_types.Tool(name=spec.name, description=spec.description, input_schema=spec.input_schema)
        for spec in built.tools
    ]
    print(f"{arguments.spec.name}: {len(tools)} tools, best of {arguments.repeat} runs")
    print(f"{'provider':<26}{'tools':>7}{'seconds':>10}{'ms/tool':>10}{'JSON KiB':>10}")
    for provider in PROVIDERS:
        for strict in (False, True) if provider.startswith("openai") else (False,):
            definitions = convert_all(tools, provider, strict)
            seconds = best_time(tools, provider, strict, arguments.repeat)
            label = f"{provider}{' (strict)' if strict else ''}"
            size = len(json.dumps(definitions)) / 1024
            per_tool = seconds / len(tools) * 1000
            print(f"{label:<26}{len(definitions):>7}{seconds:>10.3f}{per_tool:>10.3f}{size:>10.0f}")


if __name__ == "__main__":
    main()
