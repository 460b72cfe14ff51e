"""A job's summary and per-task numbers from the server's aggregates, with a client-side fallback.

The server computes both in SQL (`GET /v2/jobs/{id}/summary`, `/tasks`); against a server without
them (the platform answers 404) the same numbers are added up here from the trajectories, a page at
a time. Either way the task-level intervals come from `hud._stats` (numpy and scipy, dependencies of hud).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from types import ModuleType
from typing import TYPE_CHECKING

from pydantic import BaseModel

from hud import _api
from hud._summary import JobSummary, SummaryBuilder, TaskStats
from hud.errors import MissingDependencyError, NotFoundError
from hud.settings import Settings

if TYPE_CHECKING:
    from hud.job import Job

__all__ = ["ANALYSIS_EXTRA", "iter_tasks", "job_summary", "require_stats", "with_task_numbers"]

logger = logging.getLogger("hud")

ANALYSIS_EXTRA = "pip install 'hud[analysis]'"
#: numpy and scipy are dependencies of hud: missing, the installation is broken.
STATS_FIX = "hud depends on them: pip install numpy scipy (or reinstall hud)"
_said_missing = False


class _TaskPage(BaseModel):
    items: list[TaskStats]
    next_cursor: str | None = None


def require_stats(feature: str) -> ModuleType:
    """`hud._stats`, or a MissingDependencyError that says what to install."""
    try:
        # Through the import system (sys.modules), not the package attribute: what is installed decides.
        stats = importlib.import_module("hud._stats")
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs numpy and scipy ({exc.name or exc} is missing): {STATS_FIX}"
        ) from None
    return stats


def with_task_numbers(summary: JobSummary, tasks: list[TaskStats], confidence: float) -> JobSummary:
    """`summary` with its task-level numbers and intervals; unchanged (said once in the log) when numpy
    or scipy cannot be imported."""
    global _said_missing
    try:
        stats = require_stats("confidence intervals")
    except MissingDependencyError as exc:
        if not _said_missing:
            _said_missing = True
            logger.warning("hud: the summary has no task-level intervals: %s", exc)
        return summary
    # One order whatever the server's: the same per-task numbers always give the same floats.
    ordered = sorted(tasks, key=lambda t: (t.task_id is None, t.task_id or "", t.trajectory_id or ""))
    numbers = [stats.TaskNumbers(t.counted, t.mean_reward, t.successes) for t in ordered]
    return summary.model_copy(update=stats.summarize_tasks(numbers, confidence))


async def _fallback(job: Job, settings_key: str | None, threshold: float) -> SummaryBuilder:
    builder = SummaryBuilder(job.id, threshold)
    async for trajectory in job.iter_trajectories(api_key=settings_key):
        builder.add(trajectory)
    return builder


async def _open_environments(job: Job, api_key: str | None) -> int | None:
    try:
        return sum([1 async for _ in job.iter_environments(state="open", api_key=api_key, page_size=1000)])
    except NotFoundError:
        return None


async def _server_tasks(settings: Settings, job_id: str, threshold: float, page_size: int) -> AsyncIterator[TaskStats]:
    cursor: str | None = None
    while True:
        page = await _api.list_job_tasks(
            settings, _TaskPage, job_id, limit=page_size, cursor=cursor, success_threshold=threshold
        )
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def iter_tasks(
    job: Job, settings: Settings, api_key: str | None, threshold: float, page_size: int
) -> AsyncIterator[TaskStats]:
    """The job's per-task aggregates: the server's `/tasks`, or added up from its trajectories."""
    pages = _server_tasks(settings, job.id, threshold, page_size)
    try:
        first = await anext(pages, None)
    except NotFoundError:
        # No such endpoint (or no such job: then reading its trajectories says so).
        for task in (await _fallback(job, api_key, threshold)).task_stats():
            yield task
        return
    if first is not None:
        yield first
    async for task in pages:
        yield task


async def job_summary(
    job: Job, settings: Settings, api_key: str | None, threshold: float, confidence: float, page_size: int
) -> JobSummary:
    """The job's summary with task-level intervals (see `Job.summary`)."""
    try:
        summary = await _api.get_job_summary(settings, JobSummary, job.id, success_threshold=threshold)
    except NotFoundError:
        builder = await _fallback(job, api_key, threshold)
        summary = builder.result(open_environments=await _open_environments(job, api_key))
        return with_task_numbers(summary, builder.task_stats(), confidence)
    tasks = [task async for task in _server_tasks(settings, job.id, threshold, page_size)]
    return with_task_numbers(summary, tasks, confidence)
