"""Per-request tool name maps: the gateway's names forward to a provider's, and the provider's back.

Every name comes from `mcp_gateway.names.NameMap.build` with the provider's rule, so the bridge shares the one
allocator with registration and preview: valid names are reserved first, collisions get `_2`, `_3`, ...,
a repeated original is mapped once, and the same input always yields the same map. Names that are taken
already (a provider-hosted tool's `bash` or `web_search`) are passed as `reserved`: tools never get them.
"""

from __future__ import annotations

from collections.abc import Iterable

from mcp_gateway.bridge.targets import NAME_RULES, Provider
from mcp_gateway.names import NameMap

__all__ = ["build_name_map"]


def build_name_map(tool_names: Iterable[str], provider: Provider, reserved: Iterable[str] = ()) -> NameMap:
    """Forward (original -> provider-safe) and reverse maps for one request's tools, none named as in `reserved`."""
    return NameMap.build(tool_names, NAME_RULES[provider], reserved)
