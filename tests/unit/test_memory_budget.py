"""The memory budget: waiting for room, failing fast when growing, per-upstream and gateway-wide bounds."""

from __future__ import annotations

import anyio
import pytest

from mcp_gateway.memory_budget import BudgetExhausted, MemoryBudget

pytestmark = pytest.mark.anyio
MB = 1024 * 1024


async def test_a_call_waits_for_room_and_gets_it_when_another_finishes() -> None:
    budget = MemoryBudget(10 * MB).for_upstream("api", 10 * MB)
    order: list[str] = []

    async def holder(release: anyio.Event) -> None:
        async with budget.reservation() as reservation:
            await reservation.wait_for(8 * MB, timeout=5)
            order.append("first holds 8 MB")
            await release.wait()
        order.append("first gave back")

    async def waiter() -> None:
        async with budget.reservation() as reservation:
            await reservation.wait_for(4 * MB, timeout=5)
            order.append("second holds 4 MB")

    release = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(holder, release)
        await anyio.sleep(0.05)
        group.start_soon(waiter)
        await anyio.sleep(0.05)
        assert order == ["first holds 8 MB"]
        release.set()
    assert order == ["first holds 8 MB", "first gave back", "second holds 4 MB"]
    assert budget.used == 0
    assert budget.pool.used == 0


async def test_a_call_that_finds_no_room_in_time_gets_a_clear_error() -> None:
    budget = MemoryBudget(10 * MB).for_upstream("api", 10 * MB)
    async with budget.reservation() as first:
        await first.wait_for(9 * MB, timeout=1)
        async with budget.reservation() as second:
            with pytest.raises(BudgetExhausted, match=r"no room for a 2 MB response .* \(9 of 10 MB in use\)"):
                await second.wait_for(2 * MB, timeout=0.1)
    assert budget.used == 0


async def test_growing_never_waits_and_fails_at_once_when_full() -> None:
    budget = MemoryBudget(10 * MB).for_upstream("api", 10 * MB)
    async with budget.reservation() as first, budget.reservation() as second:
        await first.wait_for(1 * MB, timeout=1)
        await second.wait_for(1 * MB, timeout=1)
        first.grow_to(6 * MB)
        with pytest.raises(BudgetExhausted):
            second.grow_to(6 * MB)
        assert (first.held, second.held, budget.used) == (6 * MB, 1 * MB, 7 * MB)
    assert budget.used == 0


async def test_each_upstream_has_its_own_share_of_the_gateway_budget() -> None:
    pool = MemoryBudget(10 * MB)
    api, other = pool.for_upstream("api", 6 * MB), pool.for_upstream("other", 6 * MB)
    async with api.reservation() as big:
        await big.wait_for(6 * MB, timeout=1)
        async with api.reservation() as more:
            with pytest.raises(BudgetExhausted, match="for server 'api'"):
                await more.wait_for(1 * MB, timeout=0.05)
        async with other.reservation() as elsewhere:
            await elsewhere.wait_for(4 * MB, timeout=1)
            with pytest.raises(BudgetExhausted, match="gateway-wide"):
                elsewhere.grow_to(5 * MB)
    assert pool.used == 0


async def test_a_response_larger_than_the_whole_budget_fails_without_waiting() -> None:
    budget = MemoryBudget(4 * MB).for_upstream("api", 4 * MB)
    async with budget.reservation() as reservation:
        with anyio.fail_after(5), pytest.raises(BudgetExhausted):
            await reservation.wait_for(5 * MB, timeout=60)
