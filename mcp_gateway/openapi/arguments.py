"""A tool call's arguments as the request builder sees them: lookup and the error for unusable ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ArgumentError(ValueError):
    """A tool call's arguments cannot make a valid request. The message names the argument."""


def provided(arguments: Mapping[str, Any], key: str) -> bool:
    """An argument counts as given unless it is absent or an explicit null; 0, false and "" are given."""
    return arguments.get(key) is not None


def require(arguments: Mapping[str, Any], key: str, what: str) -> Any:
    if not provided(arguments, key):
        raise ArgumentError(f"missing required {what} argument '{key}'")
    return arguments[key]
