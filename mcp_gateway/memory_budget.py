"""A bound on the upstream response bytes the gateway holds at once, gateway-wide and per upstream.

Each response is already capped on its own (20 MB), but a dozen concurrent 19 MB answers once took the gateway
from 150 MB to over a gigabyte. A call now reserves room for its body before (or while) reading it: the
`Content-Length` up front when the upstream sends one, otherwise as the chunks arrive. A call that finds no
room waits for others to finish, up to its timeout, and is then answered with an error saying so. Growing a
reservation never waits: a call holding bytes while waiting for more could deadlock with others doing the same,
so it fails at once instead, with the same clear error.

The reservation lasts while the call reads the body and builds its result; what the front door does with
the result afterwards is bounded by the per-response cap, not by this budget.
"""

from __future__ import annotations

import anyio

DEFAULT_GATEWAY_BYTES = 256 * 1024 * 1024
DEFAULT_UPSTREAM_BYTES = 128 * 1024 * 1024
_MB = 1024 * 1024


class BudgetExhausted(Exception):
    """No room for a response within the budget; the message is fit to show the caller."""


class MemoryBudget:
    """The gateway-wide pool. Upstreams draw from it through their own `UpstreamBudget`."""

    def __init__(self, capacity: int = DEFAULT_GATEWAY_BYTES) -> None:
        if capacity <= 0:
            raise ValueError("a memory budget must be positive")
        self.capacity = capacity
        self.used = 0
        self._changed = anyio.Condition()

    def for_upstream(self, name: str, capacity: int = DEFAULT_UPSTREAM_BYTES) -> UpstreamBudget:
        return UpstreamBudget(self, name, min(capacity, self.capacity))


class UpstreamBudget:
    def __init__(self, pool: MemoryBudget, name: str, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("a memory budget must be positive")
        self.pool = pool
        self.name = name
        self.capacity = capacity
        self.used = 0

    def _fits(self, size: int) -> bool:
        return self.used + size <= self.capacity and self.pool.used + size <= self.pool.capacity

    def _take(self, size: int) -> None:
        self.used += size
        self.pool.used += size

    async def _give_back(self, size: int) -> None:
        self.used -= size
        self.pool.used -= size
        # Only a call waiting for room needs telling: the lock and its checkpoints cost a call that nobody waits
        # on several percent of the gateway's CPU. A call about to wait checks for room after this subtraction.
        condition = self.pool._changed
        if condition.statistics().tasks_waiting:
            with anyio.CancelScope(shield=True):
                async with condition:
                    condition.notify_all()

    def exhausted(self, extra: int, response_size: int) -> BudgetExhausted:
        if self.used + extra > self.capacity:
            where = f"for server '{self.name}' ({self.used // _MB} of {self.capacity // _MB} MB in use)"
        else:
            where = f"gateway-wide ({self.pool.used // _MB} of {self.pool.capacity // _MB} MB in use)"
        return BudgetExhausted(
            f"no room for a {max(response_size // _MB, 1)} MB response in the memory budget {where}; "
            "other large responses are in flight, try again shortly"
        )

    def reservation(self) -> Reservation:
        """A reservation to use with `async with`: what it holds is given back when the block ends."""
        return Reservation(self)


class Reservation:
    """The bytes one call holds; given back when its `reservation()` block ends."""

    def __init__(self, budget: UpstreamBudget) -> None:
        self._budget = budget
        self.held = 0

    async def __aenter__(self) -> Reservation:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        held, self.held = self.held, 0
        if held:
            await self._budget._give_back(held)

    async def wait_for(self, size: int, timeout: float) -> None:
        """Hold `size` bytes, waiting up to `timeout` seconds for room. Only for a call that holds nothing yet."""
        assert self.held == 0, "waiting while holding bytes could deadlock"
        budget = self._budget
        if size > budget.capacity:
            raise budget.exhausted(size, size)
        condition = budget.pool._changed
        if budget._fits(size) and not condition.statistics().tasks_waiting:
            # Room now and nobody queued before this call: taken at once, without the lock and a timeout scope.
            budget._take(size)
            self.held = size
            return
        with anyio.move_on_after(timeout):
            async with condition:
                while not budget._fits(size):
                    await condition.wait()
                budget._take(size)
                self.held = size
                return
        raise budget.exhausted(size, size)

    def grow_to(self, size: int) -> None:
        """Hold at least `size` bytes now, or raise BudgetExhausted (never waits; see the module docstring)."""
        extra = size - self.held
        if extra <= 0:
            return
        if not self._budget._fits(extra):
            raise self._budget.exhausted(extra, size)
        self._budget._take(extra)
        self.held = size
