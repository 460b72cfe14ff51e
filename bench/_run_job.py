"""`run_job` against a hand-written `gather` + semaphore loop doing the same SDK calls.

Both sides run N tasks with a no-op agent (reward 1.0) at the same concurrency as one job: create
the job, set it running, heartbeat, make and close one environment per task, set it completed. The
hand-written side is what a user writes without the runner: `@job` (the same lifecycle: status,
heartbeats) around `asyncio.gather` over an `asyncio.Semaphore`, each task making its environment
with `hud.gym.make(gym, task_id=...)` and closing it with the agent's reward. The runner adds its
work queue, the adaptive limit, the per-attempt timeout scope, outcome bookkeeping and the (silent)
progress line. Rounds alternate which side goes first; each figure is the median.

Each cell also gives the median CPU time the run cost (this process's, which on the embedded default
includes the in-process server; on the live server plus the server process's, read from /proc): the
work done, where wall time on a shared machine mostly measures who else is running.

A third row runs `run_job` with heartbeats every 0.5 s (20 times the default rate, about ten per run)
against heartbeats every 10^6 s (only the one every run sends as it starts; at the default 10 s, a
run of a few seconds sends just that one too): what heartbeats cost. Its goal is on CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from bench._rows import Row, alternate
from bench._servers import Served, cpu_seconds

__all__ = ["run_job_rows"]

GYM = "bench-gym"
#: Goal of the runner against the hand-written loop (issue 13).
GOAL = 1.15
#: Heartbeats cost nothing measurable: within the noise of the other rows.
HEARTBEAT_GOAL = 1.05
#: Heartbeats every this many seconds on the heartbeat row's busy side, and on its quiet side.
BUSY_HEARTBEAT = 0.5
QUIET_HEARTBEAT = 1e6


async def _agent(env: object, task: object) -> float:
    return 1.0


def _runner(n: int, concurrency: int) -> Callable[[], Awaitable[None]]:
    from hud.job import run_job

    tasks = [f"t-{i}" for i in range(n)]

    async def run() -> None:
        job = await run_job("bench-run-job", tasks, _agent, gym_id=GYM, max_concurrent=concurrency, progress=False)
        assert job.status == "completed", job

    return run


def _by_hand(n: int, concurrency: int) -> Callable[[], Awaitable[None]]:
    import hud
    from hud.job import job

    tasks = [f"t-{i}" for i in range(n)]

    @job("bench-gather")
    async def run() -> None:
        limit = asyncio.Semaphore(concurrency)

        async def one(task_id: str) -> None:
            async with limit:
                env = await hud.gym.make(GYM, task_id=task_id)
                await env.close(reward=await _agent(env, task_id))

        await asyncio.gather(*(one(t) for t in tasks))

    return run


def _cpu_timed(
    fn: Callable[[], Awaitable[None]], seconds: list[float], server_pid: int | None
) -> Callable[[], Awaitable[None]]:
    """`fn`, noting into `seconds` the CPU time each call costs this process and the server process."""

    def now() -> float:
        return time.process_time() + (0.0 if server_pid is None else cpu_seconds(server_pid))

    async def run() -> None:
        start = now()
        await fn()
        seconds.append(now() - start)

    return run


def _cpu(seconds: list[float]) -> float:
    return statistics.median(seconds[1:])  # the first is the warm-up


async def _row(what: str, n: int, concurrency: int, rounds: int, server_pid: int | None) -> Row:
    cpu: tuple[list[float], list[float]] = ([], [])
    runner = _cpu_timed(_runner(n, concurrency), cpu[0], server_pid)
    by_hand = _cpu_timed(_by_hand(n, concurrency), cpu[1], server_pid)
    s, r = await alternate(runner, by_hand, rounds)
    ratio, cpu_ratio = s / r, _cpu(cpu[0]) / _cpu(cpu[1])
    return Row(
        f"run_job vs gather + semaphore, {what} ({n:,} no-op tasks at {concurrency})",
        f"{s:.2f} s, {_cpu(cpu[0]):.2f} s CPU",
        f"{r:.2f} s, {_cpu(cpu[1]):.2f} s CPU",
        f"{ratio:.3f}x (CPU {cpu_ratio:.3f}x)",
        f"<= {GOAL}x",
        ratio <= GOAL,
    )


@contextlib.contextmanager
def _heartbeat_interval(seconds: float) -> Iterator[None]:
    from hud.settings import get_settings

    os.environ["HUD_HEARTBEAT_INTERVAL"] = str(seconds)
    get_settings.cache_clear()
    try:
        yield
    finally:
        del os.environ["HUD_HEARTBEAT_INTERVAL"]
        get_settings.cache_clear()


async def _heartbeat_row(n: int, concurrency: int, rounds: int, server_pid: int) -> Row:
    run = _runner(n, concurrency)
    cpu: tuple[list[float], list[float]] = ([], [])

    async def busy() -> None:
        with _heartbeat_interval(BUSY_HEARTBEAT):
            await run()

    async def quiet() -> None:
        with _heartbeat_interval(QUIET_HEARTBEAT):
            await run()

    s, r = await alternate(_cpu_timed(busy, cpu[0], server_pid), _cpu_timed(quiet, cpu[1], server_pid), rounds)
    ratio, cpu_ratio = s / r, _cpu(cpu[0]) / _cpu(cpu[1])
    return Row(
        f"run_job heartbeats ({n:,} no-op tasks at {concurrency}, live server)",
        f"{s:.2f} s, {_cpu(cpu[0]):.2f} s CPU, every {BUSY_HEARTBEAT:g} s (~{int(s / BUSY_HEARTBEAT) + 1} heartbeats)",
        f"{r:.2f} s, {_cpu(cpu[1]):.2f} s CPU, 1 heartbeat",
        f"CPU {cpu_ratio:.3f}x (wall {ratio:.3f}x)",
        f"CPU <= {HEARTBEAT_GOAL}x",
        cpu_ratio <= HEARTBEAT_GOAL,
    )


def run_job_rows(
    use: Callable[[str | None, str | None, Path], None],
    served: Served,
    api_key: str,
    home: Path,
    *,
    n: int,
    concurrency: int,
    rounds: int,
) -> list[Row]:
    """The three rows: against the embedded default, against the live server `served`, heartbeats."""
    use(None, None, home)
    rows = [asyncio.run(_row("embedded", n, concurrency, rounds, None))]
    use(served.base_url, api_key, home)
    rows.append(asyncio.run(_row("live server", n, concurrency, rounds, served.pid)))
    rows.append(asyncio.run(_heartbeat_row(n, concurrency, rounds, served.pid)))
    return rows
