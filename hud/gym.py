"""Environments: the runs of an agent, linked to a job, that leave trajectories.

```python
async with await hud.gym.make("my-gym", task_id="t-1") as env:
    await env.record_step(observation_text="...", actions=[{"type": "click", "x": 1}])
    await env.close(reward=1.0)
```
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from hud import _api
from hud._lifecycle import keep
from hud._validate import check_client_id, check_id, check_metadata, check_optional_text, check_reward, error_text
from hud._wire import (
    ERROR_KINDS,
    MAX_ACTION_DEPTH,
    MAX_ENVIRONMENT_BYTES,
    MAX_ENVIRONMENT_STEPS,
    MAX_ERROR_LENGTH,
    MAX_LOGS_LENGTH,
    MAX_STEP_BYTES,
)
from hud.errors import ConflictError, HudError, InvalidInputError
from hud.job import Job, current_job, settings_of
from hud.settings import Settings, settings_for
from hud.trajectory import TrajectoryStep, TrajectorySummary

__all__ = ["Environment", "make"]

logger = logging.getLogger("hud")


class _Created(BaseModel):
    id: str
    metadata: dict[str, Any] | None = None


class Environment:
    """An open environment on the server. Record steps as they happen, then close it.

    Each recorded step is sent at once, so a crashed agent loses nothing it recorded. Used as an async
    context manager it closes itself on the way out, recording why when the block raised:
    `error_kind` `timeout` for a `TimeoutError` (also from `asyncio.timeout` around the block),
    `cancelled` for a cancellation, `infrastructure` for an SDK error (the server could not be
    reached or refused) or an exception type given as `infra_errors`, else `agent`. The block's own
    exception always propagates: when closing fails too, that failure is logged, never raised
    in its place.

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
        infra_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.id = id
        self.job_id = job_id
        self.gym_id = gym_id
        self.task_id = task_id
        self.metadata = metadata
        self._settings = settings
        self._infra_errors = infra_errors
        self._closed: TrajectorySummary | None = None
        self._opened = time.monotonic()
        # When the previous step ended (at first, when the environment was made): the default start
        # of the next step.
        self._last_end = datetime.now(UTC)
        # What this handle sent: the environment's limits are checked before sending.
        self._step_count = 0
        self._step_bytes = 0

    def __repr__(self) -> str:
        return f"Environment(id={self.id!r}, gym_id={self.gym_id!r}, job_id={self.job_id!r}, closed={self.closed})"

    @property
    def closed(self) -> bool:
        """Whether `close()` has succeeded."""
        return self._closed is not None

    @property
    def trajectory(self) -> TrajectorySummary | None:
        """The trajectory it left once closed (what `close()` returned, without its steps); None while open."""
        return self._closed

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
            start_timestamp: When the step began (default: when the previous step ended, or the
                environment was made, for the first).
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
        end = end_timestamp or datetime.now(UTC)
        step = TrajectoryStep(
            observation_text=observation_text,
            observation_url=observation_url,
            actions=actions or [],
            start_timestamp=start_timestamp or self._last_end,
            end_timestamp=end,
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
        self._last_end = end
        self._step_count += 1
        self._step_bytes += size
        return step

    async def close(
        self,
        reward: float | None = None,
        logs: str | None = None,
        error: str | None = None,
        *,
        error_kind: str | None = None,
    ) -> TrajectorySummary:
        """Close the environment, leaving its trajectory on the job.

        Returns the trajectory's summary: its id, reward, logs, error, error kind, task and times and
        its `step_count`, without the steps themselves, so that closing costs the same however large
        the trajectory. Read the steps with `Job.iter_trajectories()` (or `Job.load_trajectories()`).

        Args:
            reward: The run's reward (a finite number).
            logs: Free text (at most 4,194,304 characters).
            error: What went wrong, when the run failed (at most 65,536 characters).
            error_kind: Why it failed: `agent`, `timeout`, `infrastructure`, `cancelled` or `crashed`
                (`infrastructure`, `cancelled` and `crashed` runs are left out of scores). Default:
                `agent` when `error` is given.

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
        if error_kind is not None and error_kind not in ERROR_KINDS:
            raise InvalidInputError(f"error_kind must be one of {', '.join(ERROR_KINDS)} or None, got {error_kind!r}")
        self._closed = await _api.close_environment(
            self._settings, self.id, reward=checked, logs=logs, error=error, error_kind=error_kind
        )
        return self._closed

    async def __aenter__(self) -> Environment:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.closed:
            return
        if exc is None:
            await self.close()
            return
        if isinstance(exc, asyncio.CancelledError):
            # Whether this is a timeout (asyncio.timeout turns it into TimeoutError just outside this
            # block) or a cancellation is only known once it has settled: close just after.
            task = asyncio.current_task()
            if task is not None:
                keep(asyncio.ensure_future(self._close_once_settled(task)))
            return
        await self.fail(exc)

    async def fail(self, exc: BaseException) -> TrajectorySummary | None:
        """Close the environment after `exc` ended its run, recording why, as the context manager does.

        `error_kind` `timeout` for a `TimeoutError`, `infrastructure` for an SDK error or a type of
        `infra_errors`, `cancelled` for `KeyboardInterrupt` or `SystemExit`, else `agent`; the error
        text is `exc`'s. Never raises in place of `exc`: when closing fails, that is logged and None
        returned (also when it was closed meanwhile, by its job's cancellation or crash).
        """
        kind, message = self._classify(exc)
        return await self._close_quietly(message, kind)

    def _classify(self, exc: BaseException) -> tuple[str, str]:
        elapsed = time.monotonic() - self._opened
        if isinstance(exc, TimeoutError):
            return "timeout", error_text(exc, f"timed out after {elapsed:.1f} s: ")
        if isinstance(exc, (HudError, *self._infra_errors)):
            return "infrastructure", error_text(exc)
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
            return "cancelled", error_text(exc, f"cancelled after {elapsed:.1f} s: ")
        return "agent", error_text(exc)

    async def _close_once_settled(self, task: asyncio.Task[Any]) -> None:
        await asyncio.sleep(0)
        elapsed = time.monotonic() - self._opened
        cancelled = task.cancelled() if task.done() else task.cancelling() > 0
        if cancelled:
            await self._close_quietly(f"cancelled after {elapsed:.1f} s", "cancelled")
        else:
            await self._close_quietly(f"timed out after {elapsed:.1f} s", "timeout")

    async def _close_quietly(self, message: str, kind: str) -> TrajectorySummary | None:
        """Closes with an error; a failure to close is logged, not raised (the caller has its own)."""
        try:
            return await self.close(error=message, error_kind=kind)
        except ConflictError:
            # Closed meanwhile: by the server when its job was cancelled, or crashed.
            logger.debug("hud: environment %s was already closed", self.id)
        except HudError as exc:
            logger.error("hud: could not close environment %s after its run ended (%s): %s", self.id, kind, exc)
        return None


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
    infra_errors: tuple[type[BaseException], ...] = (),
    id: str | None = None,
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
        infra_errors: Exception types that mean the infrastructure failed, not the agent (a
            provider's rate-limit error, say): a block ended by one closes with `error_kind`
            `infrastructure`, which scores leave out and a resume runs again.
        id: The environment's id (and its trajectory's), chosen by you (extension of the reference
            server; a UUID, say): making it again with the same job, gym, task and metadata returns
            it, with others raises `ConflictError`. None: the server makes one.
    """
    gym_id = check_id(gym, "gym")
    if not isinstance(infra_errors, tuple) or not all(
        isinstance(t, type) and issubclass(t, BaseException) for t in infra_errors
    ):
        raise InvalidInputError("infra_errors must be a tuple of exception types")
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
        env_id=check_client_id(id),
    )
    return Environment(
        id=created.id,
        job_id=job_id,
        gym_id=gym_id,
        task_id=task_id,
        metadata=created.metadata,
        settings=settings,
        infra_errors=infra_errors,
    )
