"""Exports: a job's trajectories as Arrow, pandas or Parquet, and the account's jobs with their summaries.

Trajectories are read a page at a time and turned into Arrow record batches as they arrive, so a
Parquet file of any size is written in flat memory (steps are counted, not copied). Needs the extra
`hud[analysis]` (pyarrow, pandas).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hud._analysis import ANALYSIS_EXTRA
from hud._wire import DEFAULT_SUCCESS_THRESHOLD
from hud.errors import MissingDependencyError
from hud.trajectory import Trajectory

if TYPE_CHECKING:
    from hud.job import Job

__all__ = ["BATCH_ROWS", "jobs_to_pandas", "record_batches", "trajectories_table", "write_parquet"]

#: Trajectories per Arrow record batch (and Parquet row group chunk).
BATCH_ROWS = 1000
#: Jobs whose summaries are read at once by `jobs_to_pandas`.
SUMMARY_CONCURRENCY = 8


def _pyarrow() -> ModuleType:
    try:
        import pyarrow
    except ImportError:
        raise MissingDependencyError(f"exporting to Arrow, pandas or Parquet needs pyarrow: {ANALYSIS_EXTRA}") from None
    module: ModuleType = pyarrow
    return module


def schema() -> Any:
    """The Arrow schema of a job's trajectories, one row each."""
    pa = _pyarrow()
    stamp = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("id", pa.string()),
            ("task_id", pa.string()),
            ("gym_id", pa.string()),
            ("reward", pa.float64()),
            ("outcome", pa.string()),
            ("error_kind", pa.string()),
            ("error", pa.string()),
            ("steps", pa.int64()),
            ("created_at", stamp),
            ("closed_at", stamp),
            ("duration", pa.float64()),
            ("metadata", pa.string()),
        ]
    )


def _row(t: Trajectory, threshold: float) -> tuple[Any, ...]:
    return (
        t.id,
        t.task_id,
        t.gym_id,
        t.reward,
        t.outcome(threshold),
        t.effective_error_kind,
        t.error,
        len(t.trajectory),
        t.created_at,
        t.closed_at,
        t.duration,
        None if t.metadata is None else json.dumps(t.metadata, ensure_ascii=False),
    )


def _batch(rows: list[tuple[Any, ...]], table_schema: Any) -> Any:
    pa = _pyarrow()
    columns = zip(*rows, strict=True)
    arrays = [pa.array(column, type=field.type) for column, field in zip(columns, table_schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=table_schema)


async def record_batches(job: Job, api_key: str | None, threshold: float) -> AsyncIterator[Any]:
    """The job's trajectories as Arrow record batches of up to `BATCH_ROWS` rows, oldest first."""
    table_schema = schema()
    rows: list[tuple[Any, ...]] = []
    async for trajectory in job.iter_trajectories(api_key=api_key):
        rows.append(_row(trajectory, threshold))
        if len(rows) >= BATCH_ROWS:
            yield _batch(rows, table_schema)
            rows = []
    if rows:
        yield _batch(rows, table_schema)


async def trajectories_table(job: Job, api_key: str | None, threshold: float) -> Any:
    """The job's trajectories as one `pyarrow.Table`."""
    pa = _pyarrow()
    batches = [batch async for batch in record_batches(job, api_key, threshold)]
    return pa.Table.from_batches(batches, schema=schema())


async def write_parquet(
    job: Job, path: Path, *, api_key: str | None = None, threshold: float = DEFAULT_SUCCESS_THRESHOLD
) -> int:
    """Writes the job's trajectories to a Parquet file, batch by batch; returns the rows written.

    The file appears complete or not at all: it is written beside the target and renamed at the end.
    """
    _pyarrow()
    import pyarrow.parquet as pq

    partial = path.with_name(path.name + ".partial")
    written = 0
    try:
        with pq.ParquetWriter(str(partial), schema()) as writer:
            async for batch in record_batches(job, api_key, threshold):
                writer.write_batch(batch)
                written += batch.num_rows
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return written


async def jobs_to_pandas(
    *,
    status: str | None = None,
    name: str | None = None,
    limit: int | None = 100,
    success_threshold: float = DEFAULT_SUCCESS_THRESHOLD,
    confidence: float = 0.95,
    api_key: str | None = None,
) -> Any:
    """The account's jobs, newest first, with their summaries, as a pandas DataFrame (one row per job).

    Columns: the job's fields (metadata as JSON text), then its summary's numbers: trajectories,
    counted, excluded, errors, open_environments, tasks, mean_reward, task_mean_reward with
    mean_reward_ci_low/high, success_rate, task_success_rate with success_rate_ci_low/high,
    duration_median and duration_p90.

    Args:
        status: Only jobs with this status.
        name: Only jobs with exactly this name.
        limit: At most this many jobs (None for all).
        success_threshold: A trajectory succeeded when its reward is at least this.
        confidence: The confidence level of the intervals.
        api_key: Overrides HUD_API_KEY.
    """
    _pyarrow()
    import pandas as pd

    from hud.job import iter_jobs

    found: list[Job] = []
    async for item in iter_jobs(status=status, name=name, api_key=api_key):
        if limit is not None and len(found) >= limit:
            break
        found.append(item)
    gate = asyncio.Semaphore(SUMMARY_CONCURRENCY)

    async def row(job: Job) -> dict[str, Any]:
        async with gate:
            s = await job.summary(success_threshold=success_threshold, confidence=confidence)
        mean_ci, rate_ci = s.mean_reward_ci or (None, None), s.success_rate_ci or (None, None)
        return {
            "id": job.id,
            "name": job.name,
            "status": job.status,
            "created_at": job.created_at,
            "metadata": None if job.metadata is None else json.dumps(job.metadata, ensure_ascii=False),
            "trajectories": s.trajectories,
            "counted": s.counted,
            "excluded": s.excluded,
            "errors": s.errors,
            "open_environments": s.open_environments,
            "tasks": s.tasks,
            "mean_reward": s.mean_reward,
            "task_mean_reward": s.task_mean_reward,
            "mean_reward_ci_low": mean_ci[0],
            "mean_reward_ci_high": mean_ci[1],
            "success_rate": s.success_rate,
            "task_success_rate": s.task_success_rate,
            "success_rate_ci_low": rate_ci[0],
            "success_rate_ci_high": rate_ci[1],
            "duration_median": s.duration_median,
            "duration_p90": s.duration_p90,
        }

    rows = await asyncio.gather(*(row(job) for job in found))
    return pd.DataFrame(rows, columns=None if rows else ["id", "name", "status", "created_at", "metadata"])
