"""Transitive closures over a reference graph, shared by every node of a cycle.

Schemas in large specs form big cycles (an entity reaches its owner, which reaches its entities...). Every
node of a strongly connected component reaches exactly the same set, so the set is computed once per
component (Tarjan's algorithm, iterative so deep graphs cannot overflow the stack) and that one frozenset
is stored for all its nodes. Memoizing a separate set per node would cost nodes x component size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

__all__ = ["close_over"]


def close_over(root: str, edges: Callable[[str], Iterable[str]], closed: dict[str, frozenset[str]]) -> frozenset[str]:
    """Every node reachable from `root`, `root` included.

    `closed` is the memo: closures already known, filled in for every node whose closure this walk
    completes. Errors raised by `edges` propagate; whatever was stored before them is complete and correct.
    """
    known = closed.get(root)
    if known is not None:
        return known
    order: dict[str, int] = {root: 0}
    lowest: dict[str, int] = {root: 0}
    component_stack: list[str] = [root]
    on_stack: set[str] = {root}
    walk: list[tuple[str, Iterator[str]]] = [(root, iter(edges(root)))]
    while walk:
        node, targets = walk[-1]
        descended = False
        for target in targets:
            if target in closed:
                continue
            if target not in order:
                order[target] = lowest[target] = len(order)
                component_stack.append(target)
                on_stack.add(target)
                walk.append((target, iter(edges(target))))
                descended = True
                break
            if target in on_stack:
                lowest[node] = min(lowest[node], order[target])
        if descended:
            continue
        walk.pop()
        if walk:
            parent = walk[-1][0]
            lowest[parent] = min(lowest[parent], lowest[node])
        if lowest[node] != order[node]:
            continue
        members: set[str] = set()
        while True:
            member = component_stack.pop()
            on_stack.discard(member)
            members.add(member)
            if member == node:
                break
        # Components are completed in reverse topological order: anything a member points at outside
        # its own component is closed already.
        reached = set(members)
        for member in members:
            for target in edges(member):
                if target not in reached:
                    reached |= closed[target]
        closure = frozenset(reached)
        for member in members:
            closed[member] = closure
    return closed[root]
