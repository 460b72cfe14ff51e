"""Adaptive concurrency (AIMD): the limit itself, and `run_job`'s concurrency as its agents see it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from hud._concurrency import AdaptiveLimit
from hud.gym import Environment
from hud.job import Task, run_job


async def _hold(limit: AdaptiveLimit, n: int) -> list[int]:
    return [await limit.acquire() for _ in range(n)]


async def test_a_wave_of_overloads_halves_the_limit_once() -> None:
    limit = AdaptiveLimit(8)
    generations = await _hold(limit, 8)
    for generation in generations:  # eight attempts that ran together all failed
        limit.release(generation, overloaded=True)
    assert (limit.limit, limit.in_flight) == (4, 0)
    # An attempt that started after that decrease is new information: it halves again.
    limit.release(await limit.acquire(), overloaded=True)
    assert limit.limit == 2
    limit.release(await limit.acquire(), overloaded=True)
    limit.release(await limit.acquire(), overloaded=True)
    assert limit.limit == 1  # never below one


async def test_successes_raise_the_limit_one_at_a_time_up_to_the_maximum() -> None:
    limit = AdaptiveLimit(4)
    limit.release(await limit.acquire(), overloaded=True)
    limit.release(await limit.acquire(), overloaded=True)
    assert limit.limit == 1
    seen = []
    for _ in range(5):
        limit.release(await limit.acquire(), overloaded=False)
        seen.append(limit.limit)
    assert seen == [2, 3, 4, 4, 4]
    limit.release(await limit.acquire(), overloaded=None)  # neither: unchanged
    assert limit.limit == 4


async def test_waiters_get_places_in_order_as_the_limit_allows() -> None:
    limit = AdaptiveLimit(2)
    first = await _hold(limit, 2)
    order: list[int] = []

    async def wait(i: int) -> int:
        generation = await limit.acquire()
        order.append(i)
        return generation

    waiters = [asyncio.create_task(wait(i)) for i in range(4)]
    await asyncio.sleep(0)
    assert order == [] and limit.in_flight == 2
    limit.release(first[0], overloaded=True)  # the limit drops to 1: the freed place is not handed on
    await asyncio.sleep(0)
    assert order == [] and limit.in_flight == 1
    limit.release(first[1], overloaded=False)  # limit 2 again, 0 in flight: two waiters go, in order
    await asyncio.sleep(0)
    assert order == [0, 1] and limit.in_flight == 2
    waiters[2].cancel()  # a cancelled waiter leaves the queue without taking a place
    await asyncio.sleep(0)
    limit.release(await waiters[0], overloaded=None)
    await asyncio.sleep(0)
    assert order == [0, 1, 3] and limit.in_flight == 2
    assert waiters[2].cancelled()


class Overloaded(Exception):
    pass


async def _until(condition: Callable[[], bool], within: float) -> bool:
    """Whether `condition` held within `within` seconds (polled each millisecond)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110 - counters other tasks change, no event to wait on
                await asyncio.sleep(0.001)
    return condition()


async def test_run_job_lowers_its_concurrency_on_infrastructure_errors_and_raises_it_back(
    embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phases: the run reaches its maximum; 12 attempts fail as overloaded; the calls that follow are
    held, and no more than the lowered limit ever start; released, calls go through and the run is
    back at its maximum. Waits only let things happen; no assertion is about time."""
    monkeypatch.setattr("hud._attempts.RUN_BACKOFF_BASE", 0.001)
    maximum = 6
    state = {"phase": "healthy", "failures": 0, "active": 0, "held": 0, "peak_held": 0, "back_at_max": 0}
    release = asyncio.Event()

    async def agent(env: Environment, task: Task) -> float:
        phase = state["phase"]
        state["active"] += 1
        try:
            if phase == "healthy":
                assert await _until(lambda: state["active"] == maximum or state["phase"] != "healthy", 30)
                state["phase"] = "failing"
            elif phase == "failing":
                state["failures"] += 1
                if state["failures"] == 12:
                    state["phase"] = "held"
                raise Overloaded("429")
            elif phase == "held":
                state["held"] += 1
                state["peak_held"] = max(state["peak_held"], state["held"])
                await release.wait()
                state["held"] -= 1
            elif await _until(lambda: state["active"] == maximum, 0.5):
                state["back_at_max"] += 1
            return 1.0
        finally:
            state["active"] -= 1

    async def watch() -> None:
        await _until(lambda: state["held"] > 0, 60)
        await asyncio.sleep(1.0)  # time for every call the runner would start to start
        state["phase"] = "recovering"
        release.set()

    watcher = asyncio.create_task(watch())
    job = await run_job(
        "aimd", [f"t{i}" for i in range(120)], agent, gym_id="gym", max_concurrent=maximum,
        infra_errors=(Overloaded,), retries=5,
    )  # fmt: skip
    await watcher
    assert job.status == "completed"
    assert 1 <= state["peak_held"] <= maximum // 2  # lowered: at least halved by the errors
    assert state["back_at_max"] > 0  # and raised back to its maximum as attempts went through


@pytest.mark.parametrize("maximum", [1, 3])
async def test_run_job_never_exceeds_max_concurrent(embedded: Path, maximum: int) -> None:
    active = peak = 0

    async def agent(env: Environment, task: Task) -> float:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.005)
        active -= 1
        return 1.0

    await run_job("bounded", [f"t{i}" for i in range(20)], agent, gym_id="gym", max_concurrent=maximum)
    assert peak == maximum
