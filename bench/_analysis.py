"""Analysis benchmarks: `Job.summary()` through the server's aggregates against the client-side
computation, and `compare` against the two `/tasks` listings it needs, in the same run.

`python -m bench._analysis run [--quick]` runs these rows alone (`python -m bench` runs them with
the rest), on SQLite and, with HUD_TEST_POSTGRES_URL set, on PostgreSQL. `python -m bench._analysis
memory BASE_URL API_KEY JOB_ID` (a child process) prints the peak RSS growth of one `Job.summary()`,
as `bench._memory` does for `iter_trajectories`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._analysis_data import load_tasks_job, settle
from bench._rows import Row, log, raw_client
from bench._servers import Served, hud_server, postgres_database

__all__ = ["ROWS", "analysis_rows", "postgres_analysis_rows"]

ROWS = (
    "summary: /summary + /tasks vs client-side, SQLite",
    "summary memory through the endpoints",
    "compare of two jobs, SQLite",
    "summary: /summary + /tasks vs client-side, PostgreSQL",
    "compare of two jobs, PostgreSQL",
)
#: Flat: the job of 10x the trajectories (the same tasks) may grow memory by at most this many times.
FLAT_RATIO = 1.5


async def _timed(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _summary_row(served: Served, key: str, job_id: str, n: int, steps_n: int, rounds: int, database: str) -> Row:
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
        f"summary: /summary + /tasks vs client-side, {database} "
        f"({n:,} x {steps_n} steps, {served_summary.tasks:,} tasks)",
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


async def _compare_row(served: Served, key: str, a: str, b: str, tasks: int, rounds: int, database: str) -> Row:
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
        f"compare of two jobs, {database} ({tasks:,} tasks each, 1 and 10 attempts)",
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


@contextlib.contextmanager
def _pointing_at(served: Served, key: str) -> Iterator[None]:
    """The SDK's settings point at `served` (HUD_BASE_URL, HUD_API_KEY) for the block, as before after."""
    from hud.settings import get_settings

    before = {name: os.environ.get(name) for name in ("HUD_BASE_URL", "HUD_API_KEY")}
    os.environ.update(HUD_BASE_URL=served.base_url, HUD_API_KEY=key)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def analysis_rows(
    served: Served,
    key: str,
    database_url: str,
    *,
    trajectories_n: int,
    steps_n: int,
    rounds: int,
    database: str = "SQLite",
    memory: bool = True,
) -> list[Row]:
    """The analysis rows: a job of `trajectories_n` x `steps_n` (tasks of 10 attempts) and its peers.

    `memory`: with the row of the summary's memory (the client's, whatever the database).
    """
    tasks = max(1, trajectories_n // 10)
    log(f"analysis, {database}: loading {trajectories_n:,} x {steps_n} steps ({tasks:,} tasks x 10) and a peer")
    large = load_tasks_job(database_url, "bench", tasks=tasks, repeats=10, steps_n=steps_n, seed=1)
    small = load_tasks_job(database_url, "bench", tasks=tasks, repeats=1, steps_n=steps_n, seed=2)
    bare = load_tasks_job(database_url, "bench", tasks=tasks, repeats=1, steps_n=0, seed=2)
    settle(database_url)
    rows = []
    with _pointing_at(served, key):
        log(f"analysis, {database}: Job.summary() through the endpoints vs client-side")
        rows.append(asyncio.run(_summary_row(served, key, large, trajectories_n, steps_n, rounds, database)))
        if memory:
            log("analysis: summary memory (each in a child process)")
            rows.append(_memory_row(served, key, small, large, tasks, tasks, trajectories_n))
        log(f"analysis, {database}: compare vs the two /tasks listings")
        row = asyncio.run(_compare_row(served, key, small, large, tasks, rounds, database))
        with_steps, without = asyncio.run(_bytes_per_task(served, key, [small, bare]))
    row.baseline += f"; bytes/task {with_steps:.0f} with {steps_n} steps, {without:.0f} with none"
    row.met = bool(row.met) and with_steps == without
    rows.append(row)
    return rows


def postgres_analysis_rows(admin_url: str | None, *, trajectories_n: int, steps_n: int, rounds: int) -> list[Row]:
    """The summary and compare rows on PostgreSQL (a fresh database of `admin_url`'s server, its own
    `hud server`); skipped without `admin_url` (HUD_TEST_POSTGRES_URL)."""
    if not admin_url:
        skipped = "skipped: HUD_TEST_POSTGRES_URL unset"
        return [Row(ROWS[3], "-", "-", skipped, ">= 50x", None), Row(ROWS[4], "-", "-", skipped, "<= 2x", None)]
    from hud.server import create_key

    with postgres_database(admin_url) as url:
        key = create_key(url, "bench")
        with hud_server(url) as served:
            return analysis_rows(
                served,
                key,
                url,
                trajectories_n=trajectories_n,
                steps_n=steps_n,
                rounds=rounds,
                database="PostgreSQL",
                memory=False,
            )


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
    from hud.server import create_key

    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="hud-bench-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        key = create_key(url, "bench")
        os.environ["HUD_HOME"] = str(Path(workdir) / "home")
        with hud_server(url) as served:
            rows = analysis_rows(served, key, url, trajectories_n=sizes.large, steps_n=sizes.steps, rounds=sizes.rounds)
        rows += postgres_analysis_rows(
            os.environ.get("HUD_TEST_POSTGRES_URL"),
            trajectories_n=sizes.large,
            steps_n=sizes.steps,
            rounds=sizes.rounds,
        )
    print(table(rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        print(json.dumps(asyncio.run(_memory_child(*sys.argv[2:5]))))
    elif sys.argv[1:2] == ["run"]:
        _standalone("--quick" in sys.argv)
    else:
        sys.exit("usage: python -m bench._analysis run [--quick] | memory BASE_URL API_KEY JOB_ID")
