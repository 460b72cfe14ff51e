"""Analysis benchmarks: `Job.summary()` through the server's aggregates against the client-side
computation, and `compare` against the two `/tasks` listings it needs, in the same run.

`python -m bench._analysis run [--quick]` runs these rows alone (`python -m bench` runs them with
the rest). `python -m bench._analysis memory BASE_URL API_KEY JOB_ID` (a child process) prints the
peak RSS growth of one `Job.summary()`, as `bench._memory` does for `iter_trajectories`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench._rows import Row, log, raw_client
from bench._servers import Served
from hud.server._db import get_engine, write_engine
from hud.server._tables import jobs, steps, trajectories

__all__ = ["ROWS", "analysis_rows", "load_tasks_job"]

ROWS = (
    "summary: /summary + /tasks vs client-side",
    "summary memory through the endpoints",
    "compare of two jobs",
)
_BATCH = 5000
#: Flat: the job of 10x the trajectories (the same tasks) may grow memory by at most this many times.
FLAT_RATIO = 1.5


def load_tasks_job(database_url: str, account: str, *, tasks: int, repeats: int, steps_n: int, seed: int) -> str:
    """A job of `tasks` tasks x `repeats` attempts of `steps_n` steps, written straight into the tables.

    Rewards are 0 or 1 (task difficulty varies), one attempt in 50 is an agent error and one in 100
    an infrastructure error; durations vary. Its id.
    """
    rng = random.Random(seed)
    engine = write_engine(get_engine(database_url))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job_id = str(uuid.uuid4())
    step = json.dumps(
        {"observation_text": "the page shows a form", "actions": [{"type": "click", "x": 1}]}, separators=(",", ":")
    )
    step_bytes = len(step.encode())
    with engine.begin() as conn:
        conn.execute(
            insert(jobs),
            {"id": job_id, "account": account, "name": f"bench-tasks-{tasks}x{repeats}", "status": "completed",
             "metadata": None, "gym_id": None, "evalset_id": None, "created_at": start.isoformat(), "error": None},
        )  # fmt: skip
    difficulty = [rng.random() for _ in range(tasks)]
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(insert(trajectories), rows)
            if steps_n:
                conn.execute(
                    insert(steps),
                    [{"env_id": r["id"], "position": p, "data": step} for r in rows for p in range(steps_n)],
                )
        rows.clear()

    for repeat in range(repeats):
        for task in range(tasks):
            roll = rng.random()
            created = start + timedelta(seconds=repeat * tasks + task, microseconds=rng.randrange(1_000_000))
            error, kind = (
                ("boom", "agent") if roll < 0.02 else ("down", "infrastructure") if roll < 0.03 else (None, None)
            )
            closed = created + timedelta(microseconds=rng.randrange(1, 30_000_000))
            rows.append(
                {"id": str(uuid.uuid4()), "account": account, "job_id": job_id,
                 "reward": None if error else float(rng.random() < difficulty[task]), "logs": None, "error": error,
                 "error_kind": kind, "step_count": steps_n, "task_id": f"task-{task:05d}", "gym_id": "bench",
                 "metadata": None, "created_at": created.isoformat(), "closed_at": closed.isoformat(),
                 # As the server stores them on close: without sizes a row reads as large, one a page.
                 "size_bytes": steps_n * step_bytes + len((error or "").encode()),
                 "max_step_bytes": step_bytes if steps_n else 0,
                 "duration": (closed - created).total_seconds()}
            )  # fmt: skip
            if len(rows) >= _BATCH:
                flush()
    if rows:
        flush()
    return job_id


async def _timed(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _summary_row(served: Served, key: str, job_id: str, n: int, steps_n: int, rounds: int) -> Row:
    from hud import _api
    from hud.errors import NotFoundError
    from hud.job import load_job

    job = await load_job(job_id, api_key=key)
    served_summary = await job.summary()
    endpoint = await _timed(job.summary, rounds)
    real = (_api.get_job_summary, _api.list_job_tasks)

    async def missing(*_args: object, **_kwargs: object) -> None:
        raise NotFoundError(404, "Not Found", operation="getJobSummary")

    # The platform's answer to both endpoints: Job.summary() then adds up every trajectory itself.
    _api.get_job_summary, _api.list_job_tasks = missing, missing  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        computed = await job.summary()
        client_side = time.perf_counter() - started
    finally:
        _api.get_job_summary, _api.list_job_tasks = real
    same = computed.model_dump() == served_summary.model_dump()
    ratio = client_side / endpoint
    return Row(
        f"summary: /summary + /tasks vs client-side ({n:,} x {steps_n} steps, {served_summary.tasks:,} tasks)",
        f"{endpoint:.3f} s (median of {rounds})",
        f"{client_side:.1f} s client-side (1 run){'' if same else '; RESULTS DIFFER'}",
        f"{ratio:.0f}x faster",
        ">= 50x; the same numbers",
        ratio >= 50 and same,
    )


def _memory(served: Served, key: str, job_id: str) -> float:
    command = [sys.executable, "-m", "bench._analysis", "memory", served.base_url, key, job_id]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=1800)
    growth: float = json.loads(done.stdout)["growth_mb"]
    return growth


def _memory_row(served: Served, key: str, small: str, large: str, tasks: int, n_small: int, n_large: int) -> Row:
    small_mb, large_mb = _memory(served, key, small), _memory(served, key, large)
    ratio = large_mb / small_mb if small_mb >= 1 else None
    shown = f"{large_mb:.1f} MB, " + (f"{ratio:.2f}x small" if ratio is not None else "ratio n/a (< 1 MB)")
    return Row(
        f"summary memory through the endpoints ({tasks:,} tasks both)",
        f"+{large_mb:.1f} MB peak RSS, {n_large:,} trajectories",
        f"+{small_mb:.1f} MB, {n_small:,} trajectories",
        shown,
        f"<= {FLAT_RATIO}x (flat in trajectories and steps)",
        ratio is not None and ratio <= FLAT_RATIO,
    )


async def _compare_row(served: Served, key: str, a: str, b: str, tasks: int, rounds: int) -> Row:
    from hud._summary import TaskStats
    from hud.job import compare

    sizes: list[int] = []
    async with raw_client(served.base_url, key) as raw:

        async def listing(job_id: str) -> list[TaskStats]:
            found: list[TaskStats] = []
            params = {"limit": "10000"}
            while True:
                response = (await raw.get(f"/v2/jobs/{job_id}/tasks", params=params)).raise_for_status()
                sizes.append(len(response.content))
                page = json.loads(response.content)
                found += [TaskStats.model_validate(item) for item in page["items"]]
                if not page["next_cursor"]:
                    return found
                params["cursor"] = page["next_cursor"]

        async def listings() -> None:
            await asyncio.gather(listing(a), listing(b))

        await listings()
        per_task = sum(sizes) / (2 * tasks)
        baseline = await _timed(listings, rounds)

        async def call() -> None:
            result = await compare(a, b, api_key=key)
            assert result.tasks_paired > 0

        await call()
        seconds = await _timed(call, rounds)
    ratio = seconds / baseline
    return Row(
        f"compare of two jobs ({tasks:,} tasks each, 1 and 10 attempts)",
        f"{seconds:.3f} s, {per_task:.0f} bytes/task",
        f"{baseline:.3f} s for the two /tasks listings",
        f"{ratio:.2f}x the listings",
        "<= 2x; <= 300 bytes/task",
        ratio <= 2 and per_task <= 300,
    )


async def _bytes_per_task(served: Served, key: str, job_ids: list[str]) -> list[float]:
    found = []
    async with raw_client(served.base_url, key) as raw:
        for job_id in job_ids:
            response = (await raw.get(f"/v2/jobs/{job_id}/tasks", params={"limit": "10000"})).raise_for_status()
            found.append(len(response.content) / max(1, len(json.loads(response.content)["items"])))
    return found


def analysis_rows(
    served: Served, key: str, database_url: str, *, trajectories_n: int, steps_n: int, rounds: int
) -> list[Row]:
    """The analysis rows: a job of `trajectories_n` x `steps_n` (tasks of 10 attempts) and its peers."""
    tasks = max(1, trajectories_n // 10)
    log(f"analysis: loading {trajectories_n:,} x {steps_n} steps ({tasks:,} tasks x 10) and a {tasks:,}-task peer")
    large = load_tasks_job(database_url, "bench", tasks=tasks, repeats=10, steps_n=steps_n, seed=1)
    small = load_tasks_job(database_url, "bench", tasks=tasks, repeats=1, steps_n=steps_n, seed=2)
    bare = load_tasks_job(database_url, "bench", tasks=tasks, repeats=1, steps_n=0, seed=2)
    rows = []
    log("analysis: Job.summary() through the endpoints vs client-side")
    rows.append(asyncio.run(_summary_row(served, key, large, trajectories_n, steps_n, rounds)))
    log("analysis: summary memory (each in a child process)")
    rows.append(_memory_row(served, key, small, large, tasks, tasks, trajectories_n))
    log("analysis: compare vs the two /tasks listings")
    row = asyncio.run(_compare_row(served, key, small, large, tasks, rounds))
    with_steps, without = asyncio.run(_bytes_per_task(served, key, [small, bare]))
    row.baseline += f"; bytes/task {with_steps:.0f} with {steps_n} steps, {without:.0f} with none"
    row.met = bool(row.met) and with_steps == without
    rows.append(row)
    return rows


async def _memory_child(base_url: str, api_key: str, job_id: str) -> dict[str, float]:
    os.environ["HUD_BASE_URL"] = base_url
    import hud._stats  # noqa: F401 - numpy and scipy load once per process; not what is measured
    from bench._memory import status_kb
    from hud.job import load_job

    job = await load_job(job_id, api_key=api_key)
    before = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # noqa: ASYNC240 - a tiny procfs write, before timing
    summary = await job.summary()
    return {"growth_mb": max(0, status_kb("VmHWM") - before) / 1024, "tasks": float(summary.tasks or 0)}


def _standalone(quick: bool) -> None:
    """These rows alone, at the sizes of the full suite (or --quick), against a fresh `hud server`."""
    import tempfile

    from bench._rows import table
    from bench._run import FULL, QUICK
    from bench._servers import hud_server
    from hud.server import create_key

    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="hud-bench-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        key = create_key(url, "bench")
        with hud_server(url) as served:
            from hud.settings import get_settings

            os.environ.update(HUD_BASE_URL=served.base_url, HUD_API_KEY=key, HUD_HOME=str(Path(workdir) / "home"))
            get_settings.cache_clear()
            rows = analysis_rows(served, key, url, trajectories_n=sizes.large, steps_n=sizes.steps, rounds=sizes.rounds)
    print(table(rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        print(json.dumps(asyncio.run(_memory_child(*sys.argv[2:5]))))
    elif sys.argv[1:2] == ["run"]:
        _standalone("--quick" in sys.argv)
    else:
        sys.exit("usage: python -m bench._analysis run [--quick] | memory BASE_URL API_KEY JOB_ID")
