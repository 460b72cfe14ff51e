"""`compare(a, b)`: is job B better than job A, and how sure are we? Paired over tasks.

It reads each job's per-task aggregates (`GET /v2/jobs/{id}/tasks`), never their steps, and leaves
the statistics to `hud._stats` (numpy, scipy: the extra `hud[analysis]`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, TypeAdapter

from hud._analysis import TaskUnits, both, require_stats, task_units
from hud._constants import TASK_PAGE_SIZE
from hud._summary import TaskStats
from hud._validate import check_confidence, check_id, check_threshold
from hud._wire import DEFAULT_SUCCESS_THRESHOLD
from hud.settings import settings_for

if TYPE_CHECKING:
    from hud.job import Job

__all__ = ["Comparison", "TaskComparison", "compare"]


class TaskComparison(BaseModel):
    """A task both jobs ran: its mean reward and success rate in each."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    mean_a: float | None
    mean_b: float | None
    success_rate_a: float
    success_rate_b: float

    @property
    def diff(self) -> float | None:
        """Mean reward in B minus in A (None unless both were scored)."""
        return None if self.mean_a is None or self.mean_b is None else self.mean_b - self.mean_a


class Comparison(BaseModel):
    """Job B against job A, paired over the tasks both ran (Miller, arXiv:2411.00640).

    Differences are B − A over paired tasks, each task's repeats averaged first. A task with no
    counted attempt in a job is absent from it; trajectories without a `task_id` cannot be paired
    and are counted in `untasked_a` / `untasked_b`. Every statistic is None when too few tasks
    pair (fewer than two for intervals and tests).

    Example:
        >>> result = await hud.job.compare(baseline_id, candidate_id)  # doctest: +SKIP
        >>> print(result.verdict)  # doctest: +SKIP
        B is better by 0.12 (95% CI 0.04 to 0.20, p = 0.003)
    """

    model_config = ConfigDict(frozen=True)

    job_a: str
    job_b: str
    success_threshold: float
    confidence: float
    tasks_paired: int
    only_in_a: list[str]
    only_in_b: list[str]
    untasked_a: int
    untasked_b: int
    mean_a: float | None
    """The mean over paired tasks of A's per-task mean reward."""
    mean_b: float | None
    mean_diff: float | None
    mean_diff_ci: tuple[float, float] | None
    """Paired t interval."""
    mean_diff_ci_bootstrap: tuple[float, float] | None
    """Paired bootstrap over tasks (10,000 resamples, seeded): percentile interval."""
    p_value: float | None
    """Two-sided paired t test of no difference in mean reward."""
    success_diff: float | None
    success_diff_ci: tuple[float, float] | None
    mcnemar_p: float | None
    """McNemar's exact test on each task's outcome (its majority outcome with repeats)."""
    correlation: float | None
    """Pearson correlation of the per-task means of A and B (what pairing gains)."""
    mde: float | None
    """The smallest difference in mean reward detectable with 80% power at alpha 0.05 with these tasks."""
    improved: list[str]
    """Tasks whose mean reward rose from A to B, largest change first."""
    regressed: list[str]
    """Tasks whose mean reward fell, largest change first."""
    tasks: list[TaskComparison]
    """Every paired task, in task order."""
    verdict: str
    """The answer in words: "B is better by 0.12 (95% CI 0.04 to 0.20, p = 0.003)", or "no detectable
    difference ...; with 80 tasks the smallest detectable is 0.15"."""

    def _repr_html_(self) -> str:
        """HTML for notebooks (Jupyter calls this); every value is escaped."""
        from hud._display import comparison_html

        return comparison_html(self)


_TASKS = TypeAdapter(list[TaskComparison])


def comparison_of(
    job_a: str,
    job_b: str,
    tasks_a: TaskUnits | list[TaskStats],
    tasks_b: TaskUnits | list[TaskStats],
    threshold: float,
    confidence: float,
) -> Comparison:
    """The comparison of two jobs' per-task aggregates (raises MissingDependencyError without the extra)."""
    stats = require_stats("compare()")
    units_a = tasks_a if isinstance(tasks_a, TaskUnits) else TaskUnits.of_stats(tasks_a)
    units_b = tasks_b if isinstance(tasks_b, TaskUnits) else TaskUnits.of_stats(tasks_b)
    result = stats.compare_columns(units_a.columns(stats), units_b.columns(stats), confidence)
    # One validation of every paired task at once: pydantic-core builds them, no Python call each.
    tasks = _TASKS.validate_python(
        [
            {"task_id": k, "mean_a": ma, "mean_b": mb, "success_rate_a": ra, "success_rate_b": rb}
            for k, ma, mb, ra, rb in zip(*result.pop("paired"), strict=True)
        ]
    )
    return Comparison(
        job_a=job_a,
        job_b=job_b,
        success_threshold=threshold,
        untasked_a=units_a.untasked,
        untasked_b=units_b.untasked,
        tasks=tasks,
        verdict=stats.verdict(result),
        **result,
    )


async def compare(
    a: Job | str,
    b: Job | str,
    *,
    success_threshold: float = DEFAULT_SUCCESS_THRESHOLD,
    confidence: float = 0.95,
    api_key: str | None = None,
) -> Comparison:
    """Compare job B with job A over the tasks both ran: is B better, and how sure are we?

    Reads both jobs' per-task aggregates (never their steps), pairs tasks by `task_id`, and reports
    the difference in mean reward with a paired t interval, a paired bootstrap interval and a
    p-value, the difference in success rate, McNemar's test, the correlation, the minimum
    detectable effect, and the tasks that improved or regressed.

    Args:
        a: The baseline: a Job or a job id.
        b: The candidate: a Job or a job id.
        success_threshold: A trajectory succeeded when its reward is at least this.
        confidence: The confidence level of the intervals.
        api_key: Overrides HUD_API_KEY (and the key a Job was loaded with).

    Raises:
        MissingDependencyError: numpy and scipy are not installed (`pip install 'hud[analysis]'`).
        NotFoundError: no such job in the key's account.
    """
    require_stats("compare()")  # before any request: say what to install first
    threshold = check_threshold(success_threshold)
    check_confidence(confidence)
    from hud.job import settings_of

    async def units(target: Job | str) -> tuple[str, TaskUnits]:
        if isinstance(target, str):  # its listing says whether there is such a job: no getJob first
            job_id = check_id(target, "job id")
            return job_id, await task_units(job_id, settings_for(api_key), api_key, threshold, TASK_PAGE_SIZE)
        return target.id, await task_units(target, settings_of(target, api_key), api_key, threshold, TASK_PAGE_SIZE)

    (id_a, tasks_a), (id_b, tasks_b) = await both(units(a), units(b))
    return comparison_of(id_a, id_b, tasks_a, tasks_b, threshold, confidence)
