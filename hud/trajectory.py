"""What a closed environment leaves on its job: a `Trajectory` of `TrajectoryStep`s, and the
`TrajectorySummary` that closing the environment returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Trajectory", "TrajectoryStep", "TrajectorySummary"]


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


class Trajectory(BaseModel):
    """The record of one environment's run on a job: its steps, reward, logs and error.

    `id` is the id of the environment that left it.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    reward: float | None = None
    logs: str | None = None
    error: str | None = None
    trajectory: list[TrajectoryStep] = Field(default_factory=list)

    def _repr_html_(self) -> str:
        """HTML for notebooks (Jupyter calls this): outcome and first steps, every value escaped."""
        from hud._display import trajectory_html

        return trajectory_html(self)


class TrajectorySummary(BaseModel):
    """What `Environment.close()` returns: the trajectory it left, without its steps.

    The answer of a close does not grow with the trajectory (one of 300 steps of 1 MB would otherwise
    come back whole). Read the steps with `Job.iter_trajectories()` or `Job.load_trajectories()`.

    Attributes:
        id: The trajectory's id (the environment's).
        reward: The reward recorded at close.
        logs: The logs recorded at close.
        error: The error recorded at close.
        step_count: How many steps the trajectory holds.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    reward: float | None = None
    logs: str | None = None
    error: str | None = None
    step_count: int = 0
