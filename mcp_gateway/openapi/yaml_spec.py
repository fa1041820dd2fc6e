"""YAML specs parsed as OpenAPI means them: PyYAML's safe loader (libyaml's when built), keeping string-typed values
strings and refusing recursive or exploding aliases.

Its own module so PyYAML is imported only when a YAML spec is parsed (loader.py imports this on demand): a gateway
whose specs are JSON, or come from the conversion cache, starts without it."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

from mcp_gateway.openapi.yaml_aliases import UnsupportedAlias, check_aliases

try:
    from yaml import CSafeLoader as _SafeLoaderBase
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoaderBase  # type: ignore[assignment]

__all__ = ["UnsupportedAlias", "YAMLError", "load_yaml_spec"]

YAMLError = yaml.YAMLError


class _SpecYamlLoader(_SafeLoaderBase):
    """A safe YAML loader that keeps OpenAPI's string-typed values strings.

    Unquoted response codes (`200:`) would otherwise become ints, and dates (`version: 2024-01-01`) would
    become `date` objects; OpenAPI means both as strings. Keys keep the exact text written in the file.
    Recursive or exploding aliases are refused before anything is constructed (yaml_aliases.py).
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        check_aliases(node)
        return self.construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        self.flatten_mapping(node)
        mapping: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _construct_timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(node.value)


_SpecYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


def load_yaml_spec(text: str) -> Any:
    """The document of YAML `text`; raises UnsupportedAlias or another YAMLError."""
    return yaml.load(text, Loader=_SpecYamlLoader)  # a SafeLoader subclass
