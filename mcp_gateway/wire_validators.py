"""The mcp SDK's per-protocol-version wire models, with their validators built when first used.

`mcp_types.methods`, which every MCP server and client of the SDK imports, checks each message against the wire
shape of its protocol era: ~300 pydantic models in `mcp_types._v2025_11_25` and `mcp_types._v2026_07_28`, all
derived from one base, `WireModel`. Pydantic builds a model's validator when the class is created, ~55 ms of CPU
for those ~300 (measured on the start-up of the bundled config, ~6% of it), while a gateway ever validates
against a few dozen of them. Their base asking pydantic to defer the build (`defer_build`, a documented model
setting) makes each validator the same one, built the first time the model validates: the first `initialize`
builds the few it needs, in a few milliseconds.
"""

from __future__ import annotations

import sys

__all__ = ["defer_wire_validators"]


def defer_wire_validators() -> None:
    """Have the SDK's wire models build their validators on first use. Call it before anything imports
    `mcp_types.methods` (or the SDK itself); once the wire models exist, it changes nothing."""
    if "mcp_types._v2025_11_25" in sys.modules or "mcp_types._v2026_07_28" in sys.modules:
        return
    from mcp_types._wire_base import WireModel

    WireModel.model_config["defer_build"] = True
