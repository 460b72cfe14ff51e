"""Environments: the runs of an agent, linked to a job, that leave trajectories.

```python
async with await hud.gym.make("my-gym", task_id="t-1") as env:
    await env.record_step(observation_text="...", actions=[{"type": "click", "x": 1}])
    await env.close(reward=1.0)
```
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from hud import _api
from hud._validate import check_id, check_metadata, check_optional_text, check_reward
from hud._wire import (
    MAX_ACTION_DEPTH,
    MAX_ENVIRONMENT_BYTES,
    MAX_ENVIRONMENT_STEPS,
    MAX_ERROR_LENGTH,
    MAX_LOGS_LENGTH,
    MAX_STEP_BYTES,
)
from hud.errors import ConflictError, InvalidInputError
from hud.job import Job, current_job, settings_of
from hud.settings import Settings, settings_for
from hud.trajectory import TrajectoryStep, TrajectorySummary

__all__ = ["Environment", "make"]


class _Created(BaseModel):
    id: str
    metadata: dict[str, Any] | None = None


class Environment:
    """An open environment on the server. Record steps as they happen, then close it.

    Each recorded step is sent at once, so a crashed agent loses nothing it recorded. Used as an async
    context manager it closes itself on the way out, recording the error when the block raised.

    Attributes:
        id: The environment's id (also the id of the trajectory it leaves).
        job_id: The job it runs for, or None.
        gym_id: Its gym.
        task_id: Its task, if any.
        metadata: What the server stored with it.
    """

    def __init__(
        self,
        *,
        id: str,
        job_id: str | None,
        gym_id: str,
        task_id: str | None,
        metadata: dict[str, Any] | None,
        settings: Settings,
    ) -> None:
        self.id = id
        self.job_id = job_id
        self.gym_id = gym_id
        self.task_id = task_id
        self.metadata = metadata
        self._settings = settings
        self._closed: TrajectorySummary | None = None
        # What this handle sent: the environment's limits are checked before sending.
        self._step_count = 0
        self._step_bytes = 0

    def __repr__(self) -> str:
        return f"Environment(id={self.id!r}, gym_id={self.gym_id!r}, job_id={self.job_id!r}, closed={self.closed})"

    @property
    def closed(self) -> bool:
        """Whether `close()` has succeeded."""
        return self._closed is not None

    async def record_step(
        self,
        observation_text: str | None = None,
        observation_url: str | None = None,
        actions: list[dict[str, Any]] | None = None,
        *,
        start_timestamp: datetime | None = None,
        end_timestamp: datetime | None = None,
    ) -> TrajectoryStep:
        """Append one step to the environment's trajectory; it is on the server when this returns.

        Args:
            observation_text: What the agent read.
            observation_url: Where an observation (a screenshot, say) is stored.
            actions: The actions the agent took, each a JSON object.
            start_timestamp: When the step began (default: now).
            end_timestamp: When it ended (default: now).
        """
        if self.closed:
            raise ConflictError(409, f"environment {self.id} is closed; steps cannot be added", operation="appendSteps")
        if actions is not None and (not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions)):
            raise InvalidInputError("actions must be a list of dicts (JSON objects)")
        for action in actions or []:
            check_metadata(action, "each action", MAX_ACTION_DEPTH, max_bytes=None)
        for what, text in (("observation_text", observation_text), ("observation_url", observation_url)):
            if text is not None and not isinstance(text, str):
                raise InvalidInputError(f"{what} must be a string or None, got {type(text).__name__}")
        now = datetime.now(UTC)
        step = TrajectoryStep(
            observation_text=observation_text,
            observation_url=observation_url,
            actions=actions or [],
            start_timestamp=start_timestamp or now,
            end_timestamp=end_timestamp or now,
        )
        size = _stored_size(step)
        if size > MAX_STEP_BYTES:
            raise InvalidInputError(
                f"this step is {size} bytes as JSON; the limit is {MAX_STEP_BYTES}: store bulky observations "
                "(screenshots, pages) elsewhere and pass their URL as observation_url"
            )
        if self._step_count + 1 > MAX_ENVIRONMENT_STEPS or self._step_bytes + size > MAX_ENVIRONMENT_BYTES:
            raise InvalidInputError(
                f"environment {self.id} holds {self._step_count} steps ({self._step_bytes} bytes); this one would "
                f"take it over its limits of {MAX_ENVIRONMENT_STEPS} steps and {MAX_ENVIRONMENT_BYTES} bytes: "
                "close it and record the rest in a new environment"
            )
        await _api.append_steps(self._settings, self.id, [step])
        self._step_count += 1
        self._step_bytes += size
        return step

    async def close(
        self, reward: float | None = None, logs: str | None = None, error: str | None = None
    ) -> TrajectorySummary:
        """Close the environment, leaving its trajectory on the job.

        Returns the trajectory's summary: its id, reward, logs, error and `step_count`, without the
        steps themselves, so that closing costs the same however large the trajectory. Read the steps
        with `Job.iter_trajectories()` (or `Job.load_trajectories()`).

        Args:
            reward: The run's reward (a finite number).
            logs: Free text (at most 4,194,304 characters).
            error: What went wrong, when the run failed (at most 65,536 characters).

        Raises:
            ConflictError: it was closed already.
            InvalidInputError: an argument is refused before sending (the environment stays open).
        """
        if self._closed is not None:
            raise ConflictError(409, f"environment {self.id} is closed already", operation="closeEnvironment")
        checked = check_reward(reward)
        for what, text, limit in (("logs", logs, MAX_LOGS_LENGTH), ("error", error, MAX_ERROR_LENGTH)):
            if text is not None and not isinstance(text, str):
                raise InvalidInputError(f"{what} must be a string or None, got {type(text).__name__}")
            if text is not None and len(text) > limit:
                raise InvalidInputError(
                    f"{what} is {len(text)} characters long; the limit is {limit}: keep the end that matters, "
                    "or store it elsewhere and put its URL in it"
                )
        self._closed = await _api.close_environment(self._settings, self.id, reward=checked, logs=logs, error=error)
        return self._closed

    async def __aenter__(self) -> Environment:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.closed:
            return
        # The exception's text may be of any length: what fits the server's limit is recorded.
        await self.close(error=None if exc is None else f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])


def _stored_size(step: TrajectoryStep) -> int:
    """The step's size as the server stores it: compact UTF-8 JSON of the fields it was sent."""
    wire = {
        "observation_url": step.observation_url,
        "observation_text": step.observation_text,
        "actions": step.actions,
        "start_timestamp": None if step.start_timestamp is None else step.start_timestamp.isoformat(),
        "end_timestamp": None if step.end_timestamp is None else step.end_timestamp.isoformat(),
    }
    return len(json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


async def make(
    gym: str,
    *,
    job: Job | str | None = None,
    task_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    api_key: str | None = None,
) -> Environment:
    """Create an environment of `gym`, linked to a job.

    The job is `job` when given (a Job or its id), else the active `@job` call's (`current_job()`),
    else none.

    Args:
        gym: The gym's id.
        job: The job to link to, overriding the active one.
        task_id: The task the environment runs, if any.
        metadata: A JSON object stored with the environment.
        api_key: Overrides HUD_API_KEY (default: the linked Job's key, when it was loaded with one).
    """
    gym_id = check_id(gym, "gym")
    target = job if job is not None else current_job()
    if isinstance(target, Job):
        job_id: str | None = target.id
        settings = settings_of(target, api_key)
    else:
        job_id = None if target is None else check_id(target, "job")
        settings = settings_for(api_key)
    created = await _api.create_environment(
        settings,
        _Created,
        run_id=job_id,
        gym_id=gym_id,
        task_id=check_optional_text(task_id, "task_id"),
        metadata=check_metadata(metadata),
    )
    return Environment(
        id=created.id, job_id=job_id, gym_id=gym_id, task_id=task_id, metadata=created.metadata, settings=settings
    )
