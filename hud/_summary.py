"""`JobSummary` and `TaskStats`: what a job's trajectories add up to, under the scoring rule of `hud._wire`.

The server computes both (`GET /v2/jobs/{id}/summary` and `/tasks`); `SummaryBuilder` computes the
same numbers from the trajectories, for servers without those endpoints (the platform).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from hud._wire import DEFAULT_SUCCESS_THRESHOLD, DURATION_QUANTILES, OUTCOMES, nearest_rank_value, succeeded
from hud.trajectory import Trajectory

__all__ = ["JobSummary", "SummaryBuilder", "TaskStats"]


class TaskStats(BaseModel):
    """One task of a job: its attempts (repeats) under the scoring rule.

    A trajectory recorded without a `task_id` is a unit of its own: `task_id` is None and
    `trajectory_id` names it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    task_id: str | None = None
    trajectory_id: str | None = None
    attempts: int
    counted: int
    """Attempts that count (not `infrastructure`, `cancelled` or `crashed`)."""
    scored: int
    mean_reward: float | None = None
    """The mean reward of its scored attempts."""
    successes: int


class JobSummary(BaseModel):
    """The numbers of a job's trajectories: counts, mean reward, success rate, errors, with intervals.

    Trajectories whose `error_kind` is `infrastructure`, `cancelled` or `crashed` say nothing about
    the agent: they are counted in `excluded` and left out of everything else. Of the others
    (`counted`), `agent` and `timeout` failures count with reward 0 when none was given; a
    trajectory with no reward and no error is `unscored`. `mean_reward` averages the scored ones,
    `success_rate` is the share of counted ones with a reward of at least `success_threshold`.

    The unit of the intervals is the task: a task's repeats are averaged first, then
    `task_mean_reward` and `task_success_rate` average the tasks (equal to the trajectory-level
    numbers when every task has as many attempts), and `mean_reward_ci` / `success_rate_ci` are their
    intervals at `confidence` (t over tasks; Wilson when each task has one attempt). They need the
    extra `hud[analysis]`, and are None without it (and with fewer than two tasks).

    Example:
        >>> summary = await job.summary()  # doctest: +SKIP
        >>> print(f"{summary.task_success_rate:.1%} (95% CI {summary.success_rate_ci})")  # doctest: +SKIP
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    job_id: str
    success_threshold: float
    trajectories: int
    counted: int
    excluded: int
    scored: int
    mean_reward: float | None
    min_reward: float | None
    max_reward: float | None
    successes: int
    success_rate: float | None
    errors: int
    """Trajectories with an error, of any kind."""
    steps: int
    by_outcome: dict[str, int]
    """Trajectories per outcome (`hud._wire.OUTCOMES`): success, fail, unscored, excluded."""
    by_error_kind: dict[str, int]
    """Trajectories per error kind (an error without a kind counts as `agent`)."""
    open_environments: int | None = None
    """Environments of the job still open (None when the server does not list them)."""
    duration_median: float | None = None
    """Seconds from creation to close of the trajectories, median by nearest rank."""
    duration_p90: float | None = None
    """The 90th percentile of those durations, by nearest rank."""
    confidence: float | None = None
    tasks: int | None = None
    """Tasks with at least one counted attempt: the number of units behind the intervals."""
    task_mean_reward: float | None = None
    mean_reward_ci: tuple[float, float] | None = None
    task_success_rate: float | None = None
    success_rate_ci: tuple[float, float] | None = None
    pass_at_k: dict[int, float] = {}
    """For each k up to the fewest attempts of a task: the chance that one of k attempts succeeds."""
    pass_at_k_ci: dict[int, tuple[float, float]] = {}

    def _repr_html_(self) -> str:
        """HTML for notebooks (Jupyter calls this); every value is escaped."""
        from hud._display import summary_html

        return summary_html(self)


class SummaryBuilder:
    """Adds trajectories up one at a time: the summary's counts in flat memory, plus one small record
    per task (its aggregates) and one float per trajectory (its duration)."""

    def __init__(self, job_id: str, success_threshold: float = DEFAULT_SUCCESS_THRESHOLD) -> None:
        self.job_id = job_id
        self.success_threshold = success_threshold
        self.count = 0
        self._rewards_total = 0.0
        self._scored = 0
        self._min: float | None = None
        self._max: float | None = None
        self._steps = 0
        self._outcomes: Counter[str] = Counter()
        self._kinds: Counter[str] = Counter()
        self._durations: list[float] = []
        # Per unit: attempts, counted, scored, reward total, successes; in first-seen order.
        self._tasks: dict[tuple[str | None, str | None], list[Any]] = {}

    def add(self, trajectory: Trajectory) -> None:
        """Count one trajectory in."""
        self.count += 1
        self._steps += len(trajectory.trajectory)
        self._outcomes[trajectory.outcome(self.success_threshold)] += 1
        kind = trajectory.effective_error_kind
        if kind is not None:
            self._kinds[kind] += 1
        if trajectory.duration is not None:
            self._durations.append(trajectory.duration)
        key = (trajectory.task_id, None) if trajectory.task_id is not None else (None, trajectory.id)
        task = self._tasks.setdefault(key, [0, 0, 0, 0.0, 0])
        task[0] += 1
        task[1] += trajectory.counts
        reward = trajectory.counted_reward
        if reward is not None:
            self._scored += 1
            self._rewards_total += reward
            self._min = reward if self._min is None else min(self._min, reward)
            self._max = reward if self._max is None else max(self._max, reward)
            task[2] += 1
            task[3] += reward
            task[4] += succeeded(reward, self.success_threshold)

    def extend(self, trajectories: Iterable[Trajectory]) -> SummaryBuilder:
        """Count many in; returns self."""
        for trajectory in trajectories:
            self.add(trajectory)
        return self

    def task_stats(self) -> list[TaskStats]:
        """The per-task aggregates of what was added, as the server's `/tasks` lists them."""
        return [
            TaskStats(
                task_id=task_id,
                trajectory_id=trajectory_id,
                attempts=attempts,
                counted=n_counted,
                scored=scored,
                mean_reward=total / scored if scored else None,
                successes=successes,
            )
            for (task_id, trajectory_id), (attempts, n_counted, scored, total, successes) in self._tasks.items()
        ]

    def result(self, *, open_environments: int | None = None) -> JobSummary:
        """The summary of what was added so far (without task-level intervals: see `with_task_numbers`)."""
        successes = self._outcomes["success"]
        excluded = self._outcomes["excluded"]
        counted = self.count - excluded
        durations = sorted(self._durations)
        return JobSummary(
            job_id=self.job_id,
            success_threshold=self.success_threshold,
            trajectories=self.count,
            counted=counted,
            excluded=excluded,
            scored=self._scored,
            mean_reward=self._rewards_total / self._scored if self._scored else None,
            min_reward=self._min,
            max_reward=self._max,
            successes=successes,
            success_rate=successes / counted if counted else None,
            errors=sum(self._kinds.values()),
            steps=self._steps,
            by_outcome={k: self._outcomes[k] for k in OUTCOMES if self._outcomes[k]},
            by_error_kind=dict(sorted(self._kinds.items())),
            open_environments=open_environments,
            **{name: nearest_rank_value(q, durations) for name, q in DURATION_QUANTILES.items()},
        )
