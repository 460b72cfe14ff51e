"""`JobSummary`: what a job's trajectories add up to, and how one trajectory ended."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from hud._wire import trajectory_outcome
from hud.trajectory import Trajectory

__all__ = ["JobSummary", "SummaryBuilder"]


class JobSummary(BaseModel):
    """The numbers of a job's trajectories: counts, mean reward, success rate, errors, by status.

    `mean_reward` averages the scored trajectories (reward not None); `success_rate` is the share of
    all trajectories with a reward of at least 1. Both are None for a job without trajectories.

    Example:
        >>> summary = await job.summary()  # doctest: +SKIP
        >>> print(f"{summary.success_rate:.1%} of {summary.trajectories}")  # doctest: +SKIP
    """

    model_config = ConfigDict(frozen=True)

    job_id: str
    trajectories: int
    scored: int
    mean_reward: float | None
    min_reward: float | None
    max_reward: float | None
    successes: int
    success_rate: float | None
    errors: int
    steps: int
    by_status: dict[str, int]
    """Trajectories per outcome (`hud._wire.trajectory_outcome`): error, success, fail, unscored."""

    def _repr_html_(self) -> str:
        """HTML for notebooks (Jupyter calls this); every value is escaped."""
        from hud._display import summary_html

        return summary_html(self)


class SummaryBuilder:
    """Adds trajectories up one at a time, so a summary of any size needs flat memory."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.count = 0
        self._rewards_total = 0.0
        self._scored = 0
        self._min: float | None = None
        self._max: float | None = None
        self._steps = 0
        self._statuses: Counter[str] = Counter()

    def add(self, trajectory: Trajectory) -> None:
        """Count one trajectory in."""
        self.count += 1
        self._steps += len(trajectory.trajectory)
        self._statuses[trajectory_outcome(trajectory.reward, trajectory.error)] += 1
        reward = trajectory.reward
        if reward is not None:
            self._scored += 1
            self._rewards_total += reward
            self._min = reward if self._min is None else min(self._min, reward)
            self._max = reward if self._max is None else max(self._max, reward)

    def extend(self, trajectories: Iterable[Trajectory]) -> SummaryBuilder:
        """Count many in; returns self."""
        for trajectory in trajectories:
            self.add(trajectory)
        return self

    def result(self) -> JobSummary:
        """The summary of what was added so far."""
        successes = self._statuses["success"]
        return JobSummary(
            job_id=self.job_id,
            trajectories=self.count,
            scored=self._scored,
            mean_reward=self._rewards_total / self._scored if self._scored else None,
            min_reward=self._min,
            max_reward=self._max,
            successes=successes,
            success_rate=successes / self.count if self.count else None,
            errors=self._statuses["error"],
            steps=self._steps,
            by_status={k: self._statuses[k] for k in ("success", "fail", "error", "unscored") if self._statuses[k]},
        )
