"""A job's summary and per-task numbers from the server's aggregates, with a client-side fallback.

The server computes both in SQL (`GET /v2/jobs/{id}/summary`, `/tasks`); against a server without
them (the platform answers 404) the same numbers are added up here from the trajectories, a page at
a time. Either way the task-level intervals come from `hud._stats` (the extra `hud[analysis]`).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, NotRequired, TypeVar

from pydantic import BaseModel
from typing_extensions import TypedDict

from hud import _api
from hud._summary import JobSummary, SummaryBuilder, TaskStats
from hud.errors import MissingDependencyError, NotFoundError
from hud.settings import Settings

if TYPE_CHECKING:
    from hud.job import Job

__all__ = [
    "ANALYSIS_EXTRA",
    "TaskUnits",
    "both",
    "iter_tasks",
    "job_summary",
    "require_stats",
    "task_units",
    "with_task_numbers",
]

A = TypeVar("A")
B = TypeVar("B")

logger = logging.getLogger("hud")

ANALYSIS_EXTRA = "pip install 'hud[analysis]'"
_said_missing = False


class _TaskItem(TypedDict):
    """A `/tasks` item validated as `TaskStats` is, into a plain dict: no object per task to build
    (or for the garbage collector to walk) when only its numbers are wanted."""

    task_id: NotRequired[str | None]
    trajectory_id: NotRequired[str | None]
    attempts: int
    counted: int
    scored: int
    mean_reward: NotRequired[float | None]
    successes: int


class _TaskItemsPage(BaseModel):
    items: list[_TaskItem]
    next_cursor: str | None = None


class _TaskPage(BaseModel):
    items: list[TaskStats]
    next_cursor: str | None = None


P = TypeVar("P", _TaskPage, _TaskItemsPage)


@dataclass(frozen=True, slots=True)
class TaskUnits:
    """A job's per-task aggregates as columns, one element per unit, in the order listed."""

    task_ids: list[str | None]
    trajectory_ids: list[str | None]
    counted: list[int]
    mean_reward: list[float | None]
    successes: list[int]

    @classmethod
    def of_items(cls, items: list[_TaskItem]) -> TaskUnits:
        """The columns of `/tasks` items."""
        return cls(
            [item.get("task_id") for item in items],
            [item.get("trajectory_id") for item in items],
            [item["counted"] for item in items],
            [item.get("mean_reward") for item in items],
            [item["successes"] for item in items],
        )

    @classmethod
    def of_stats(cls, tasks: list[TaskStats]) -> TaskUnits:
        """The columns of `TaskStats`."""
        return cls(
            [t.task_id for t in tasks],
            [t.trajectory_id for t in tasks],
            [t.counted for t in tasks],
            [t.mean_reward for t in tasks],
            [t.successes for t in tasks],
        )

    @property
    def untasked(self) -> int:
        """Units without a task id that have a counted attempt."""
        return sum(t is None and c > 0 for t, c in zip(self.task_ids, self.counted, strict=True))

    def columns(self, stats: ModuleType, *, ordered: bool = False) -> Any:
        """As `stats.TaskColumns`; `ordered`: in the SDK's one order (tasks by id, then the units
        without a task by trajectory id), whatever the server's, so that the same per-task numbers
        always give the same floats."""
        order = range(len(self.counted))
        if ordered:
            keys = [(t is None, t or "", r or "") for t, r in zip(self.task_ids, self.trajectory_ids, strict=True)]
            order = sorted(order, key=keys.__getitem__)  # type: ignore[assignment]
        return stats.TaskColumns.of_lists(
            [self.task_ids[i] for i in order],
            [self.counted[i] for i in order],
            [self.mean_reward[i] for i in order],
            [self.successes[i] for i in order],
        )


def require_stats(feature: str) -> ModuleType:
    """`hud._stats`, or a MissingDependencyError that names the extra to install."""
    try:
        # Through the import system (sys.modules), not the package attribute: what is installed decides.
        stats = importlib.import_module("hud._stats")
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs numpy and scipy ({exc.name or exc} is missing): {ANALYSIS_EXTRA}"
        ) from None
    return stats


def with_task_numbers(summary: JobSummary, tasks: TaskUnits | list[TaskStats], confidence: float) -> JobSummary:
    """`summary` with its task-level numbers and intervals; unchanged (said once in the log) without
    the extra `hud[analysis]`."""
    global _said_missing
    try:
        stats = require_stats("confidence intervals")
    except MissingDependencyError as exc:
        if not _said_missing:
            _said_missing = True
            logger.warning("hud: the summary has no task-level intervals: %s", exc)
        return summary
    units = tasks if isinstance(tasks, TaskUnits) else TaskUnits.of_stats(tasks)
    return summary.model_copy(update=stats.summarize_tasks(units.columns(stats, ordered=True), confidence))


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


async def _server_pages(
    settings: Settings, model: type[P], job_id: str, threshold: float, page_size: int
) -> AsyncIterator[P]:
    cursor: str | None = None
    while True:
        page = await _api.list_job_tasks(
            settings, model, job_id, limit=page_size, cursor=cursor, success_threshold=threshold
        )
        yield page
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def _server_units(settings: Settings, job_id: str, threshold: float, page_size: int) -> TaskUnits:
    pages = _server_pages(settings, _TaskItemsPage, job_id, threshold, page_size)
    return TaskUnits.of_items([item async for page in pages for item in page.items])


async def iter_tasks(
    job: Job, settings: Settings, api_key: str | None, threshold: float, page_size: int
) -> AsyncIterator[TaskStats]:
    """The job's per-task aggregates: the server's `/tasks`, or added up from its trajectories."""
    pages = _server_pages(settings, _TaskPage, job.id, threshold, page_size)
    try:
        first = await anext(pages, None)
    except NotFoundError:
        # No such endpoint (or no such job: then reading its trajectories says so).
        for task in (await _fallback(job, api_key, threshold)).task_stats():
            yield task
        return
    if first is not None:
        for task in first.items:
            yield task
    async for page in pages:
        for task in page.items:
            yield task


async def task_units(
    job: Job | str, settings: Settings, api_key: str | None, threshold: float, page_size: int
) -> TaskUnits:
    """The per-task aggregates of a job (or a job id) as columns: the server's `/tasks`, or added up
    from its trajectories (the job is loaded then: NotFoundError if there is none)."""
    try:
        return await _server_units(settings, job if isinstance(job, str) else job.id, threshold, page_size)
    except NotFoundError:
        # No such endpoint (or no such job: then loading it, or reading its trajectories, says so).
        if isinstance(job, str):
            from hud.job import load_job

            job = await load_job(job, api_key)
        return TaskUnits.of_stats((await _fallback(job, api_key, threshold)).task_stats())


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """The results of both, run at once. An error comes out as itself, not in a group (the first's
    if both fail), and the other is cancelled; so does a cancellation of the caller."""
    one, two = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        return await one, await two
    except BaseException:
        for task in (one, two):
            task.cancel()
        await asyncio.gather(one, two, return_exceptions=True)
        raise


async def job_summary(
    job: Job, settings: Settings, api_key: str | None, threshold: float, confidence: float, page_size: int
) -> JobSummary:
    """The job's summary with task-level intervals (see `Job.summary`): both aggregates at once."""
    try:
        summary, units = await both(
            _api.get_job_summary(settings, JobSummary, job.id, success_threshold=threshold),
            _server_units(settings, job.id, threshold, page_size),
        )
    except NotFoundError:
        builder = await _fallback(job, api_key, threshold)
        summary = builder.result(open_environments=await _open_environments(job, api_key))
        return with_task_numbers(summary, builder.task_stats(), confidence)
    return with_task_numbers(summary, units, confidence)
