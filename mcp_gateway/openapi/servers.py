"""Server Objects -> base URLs, with server variables filled in from their defaults.

Relative URLs are kept as written: the caller knows where the spec came from and resolves them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["server_urls"]

_VARIABLE = re.compile(r"\{([^{}]+)\}")


def _substitute(url: str, variables: Any) -> str:
    if not isinstance(variables, Mapping):
        return url

    def default_of(match: re.Match[str]) -> str:
        variable = variables.get(match.group(1))
        if isinstance(variable, Mapping) and "default" in variable:
            return str(variable["default"])
        return match.group(0)

    return _VARIABLE.sub(default_of, url)


def server_urls(servers: Any) -> tuple[str, ...]:
    """URLs of a `servers` list; entries without a string `url` are left out."""
    if not isinstance(servers, list):
        return ()
    urls = []
    for server in servers:
        if isinstance(server, Mapping) and isinstance(server.get("url"), str):
            urls.append(_substitute(server["url"], server.get("variables")))
    return tuple(urls)
