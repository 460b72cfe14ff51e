"""`JobSummary`: what a job's trajectories add up to, under the scoring rule of `hud._wire`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from hud._wire import DEFAULT_SUCCESS_THRESHOLD, OUTCOMES
from hud.trajectory import Trajectory

__all__ = ["JobSummary", "SummaryBuilder"]


class JobSummary(BaseModel):
    """The numbers of a job's trajectories: counts, mean reward, success rate, errors, by outcome.

    Trajectories whose `error_kind` is `infrastructure`, `cancelled` or `crashed` say nothing about
    the agent: they are counted in `excluded` and left out of everything else. Of the others
    (`counted`), `agent` and `timeout` failures count with reward 0 when none was given; a
    trajectory with no reward and no error is `unscored`. `mean_reward` averages the scored ones,
    `success_rate` is the share of counted ones with a reward of at least `success_threshold`. Both
    are None when nothing counts.

    Example:
        >>> summary = await job.summary()  # doctest: +SKIP
        >>> print(f"{summary.success_rate:.1%} of {summary.counted}")  # doctest: +SKIP
    """

    model_config = ConfigDict(frozen=True)

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

    def _repr_html_(self) -> str:
        """HTML for notebooks (Jupyter calls this); every value is escaped."""
        from hud._display import summary_html

        return summary_html(self)


class SummaryBuilder:
    """Adds trajectories up one at a time, so a summary of any size needs flat memory."""

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

    def add(self, trajectory: Trajectory) -> None:
        """Count one trajectory in."""
        self.count += 1
        self._steps += len(trajectory.trajectory)
        self._outcomes[trajectory.outcome(self.success_threshold)] += 1
        kind = trajectory.effective_error_kind
        if kind is not None:
            self._kinds[kind] += 1
        reward = trajectory.counted_reward
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
        successes = self._outcomes["success"]
        excluded = self._outcomes["excluded"]
        counted = self.count - excluded
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
        )
