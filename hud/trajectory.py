"""What environments leave on their job: a `Trajectory` of `TrajectoryStep`s once closed, the
`TrajectorySummary` that closing an environment returns, and an `EnvironmentInfo` for each
environment, open or closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hud._wire import DEFAULT_SUCCESS_THRESHOLD, counted_reward, counts, effective_error_kind, trajectory_outcome

__all__ = ["EnvironmentInfo", "Trajectory", "TrajectoryStep", "TrajectorySummary"]


class TrajectoryStep(BaseModel):
    """One step of a run: what the agent observed and the actions it took.

    Fields the server adds in later versions are ignored, so an older SDK keeps reading newer data.
    """

    model_config = ConfigDict(extra="ignore")

    observation_url: str | None = None
    observation_text: str | None = None
    actions: list[dict[str, Any]] = Field(default_factory=list)
    start_timestamp: datetime | None = None
    end_timestamp: datetime | None = None


class _Outcome(BaseModel):
    """A closed environment's outcome and identity, with the scoring rule of `hud._wire`."""

    model_config = ConfigDict(extra="ignore")

    id: str
    reward: float | None = None
    logs: str | None = None
    error: str | None = None
    task_id: str | None = None
    gym_id: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    error_kind: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from the environment's creation to its close, when both are known."""
        if self.created_at is None or self.closed_at is None:
            return None
        return (self.closed_at - self.created_at).total_seconds()

    @property
    def counts(self) -> bool:
        """Whether it counts in means and success rates (`infrastructure`, `cancelled` and `crashed`
        runs say nothing about the agent, and are what a resume runs again)."""
        return counts(self.error, self.error_kind)

    @property
    def counted_reward(self) -> float | None:
        """The reward it counts with: None when excluded or unscored, 0 for an agent failure without one."""
        return counted_reward(self.reward, self.error, self.error_kind)

    def outcome(self, success_threshold: float = DEFAULT_SUCCESS_THRESHOLD) -> str:
        """`success`, `fail`, `unscored` or `excluded` (see `counts`), for a reward threshold."""
        return trajectory_outcome(self.reward, self.error, self.error_kind, success_threshold)

    @property
    def effective_error_kind(self) -> str | None:
        """Its error kind; `agent` for an error recorded without one (older clients, the platform)."""
        return effective_error_kind(self.error, self.error_kind)


class Trajectory(_Outcome):
    """The record of one environment's run on a job: its steps, reward, logs and error.

    `id` is the id of the environment that left it. The fields after `trajectory` are extensions of
    the reference server (None from a server that does not send them): which task and gym the
    environment ran, its metadata, when it was created and closed, and why it ended in error
    (`error_kind`: `agent`, `timeout`, `infrastructure`, `cancelled` or `crashed`).
    """

    trajectory: list[TrajectoryStep] = Field(default_factory=list)

    def _repr_html_(self) -> str:
        """HTML for notebooks (Jupyter calls this): outcome and first steps, every value escaped."""
        from hud._display import trajectory_html

        return trajectory_html(self)


class TrajectorySummary(_Outcome):
    """What `Environment.close()` returns: the trajectory it left, without its steps.

    The answer of a close does not grow with the trajectory (one of 300 steps of 1 MB would otherwise
    come back whole). Read the steps with `Job.iter_trajectories()` or `Job.load_trajectories()`.

    Attributes:
        step_count: How many steps the trajectory holds.
    """

    step_count: int = 0


class EnvironmentInfo(BaseModel):
    """An environment of a job, open or closed (extension of the reference server).

    Attributes:
        state: `open` until it is closed (then its trajectory is on the job).
        step_count: Steps recorded so far.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    job_id: str | None = None
    gym_id: str | None = None
    task_id: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime
    closed_at: datetime | None = None
    step_count: int = 0
    state: str
