"""Refuse YAML aliases that would make a spec recursive or blow it up, before any Python object is built.

An alias (`*name`) makes the parser reuse the anchored node (`&name`) instead of copying it. Two abuses
follow: an anchor used inside itself yields a truly recursive structure, which every walker of the
document (schema conversion, the Swagger 2.0 upgrade) recurses into until RecursionError; and aliases of
aliases (each level listing the previous one ten times) make a kilobyte of text describe millions of
nodes, which those walkers visit one by one. JSON cannot express either. Real specs rarely use anchors at
all, so aliases are kept only while the document they describe stays a tree of modest size.
"""

from __future__ import annotations

import yaml

__all__ = ["MAX_ALIAS_EXPANSION", "UnsupportedAlias", "check_aliases"]

MAX_ALIAS_EXPANSION = 100_000
"""How many nodes aliases may add to a document, counted as if every alias were written out in full.

Ample for anchors shared by many operations (a thousand uses of a hundred-node schema), far below the
millions an alias bomb reaches.
"""


_SIZE_CAP = 2**62


class UnsupportedAlias(yaml.YAMLError):
    """The document uses an anchor/alias in a way the loader refuses; the message says how."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_aliases(root: yaml.Node) -> None:
    """Raise UnsupportedAlias when an anchor is used inside itself or aliases expand too far.

    One iterative depth-first walk over the composed node graph (no recursion, so deep documents are fine):
    a node met again while it is still being walked is its own ancestor, and the expanded size of every
    node is the sum over its children, counted once per distinct node however often aliases repeat it.
    """
    expanded: dict[int, int] = {}
    being_walked: set[int] = set()
    # Entries are (node, None) before its children are walked and (node, children) after.
    pending: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]
    while pending:
        node, walked_children = pending.pop()
        identity = id(node)
        if walked_children is not None:
            being_walked.discard(identity)
            size = 1 + sum([expanded[id(child)] for child in walked_children])
            # Capped: a bomb's true size has as many digits as it has levels, and summing such numbers
            # would itself take time. Any size past the cap is refused anyway.
            expanded[identity] = min(size, _SIZE_CAP)
            continue
        if identity in expanded:
            continue
        if identity in being_walked:
            raise UnsupportedAlias(
                "YAML anchor/alias not supported: recursive "
                f"(the anchor at line {node.start_mark.line + 1} is used inside itself)"
            )
        children = _children(node)
        if not children:
            expanded[identity] = 1
            continue
        being_walked.add(identity)
        pending.append((node, children))
        pending.extend([(child, None) for child in children])
    added = expanded[id(root)] - len(expanded)
    if added > MAX_ALIAS_EXPANSION:
        raise UnsupportedAlias(
            f"YAML anchor/alias not supported: aliases expand the document by more than {MAX_ALIAS_EXPANSION} nodes"
        )
