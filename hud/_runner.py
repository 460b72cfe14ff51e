"""`run_job`: run an agent on tasks x repeats as one job, and resume it into the same job.

```python
from hud.job import Task, run_job

async def agent(env: hud.gym.Environment, task: Task) -> float | None:
    ...                                       # act in env; the runner closes it with the reward
    return 1.0

job = await run_job("nightly", ["t-1", "t-2"], agent, gym_id="my-gym", repeats=3)
job = await run_job("nightly", ["t-1", "t-2"], agent, gym_id="my-gym", repeats=3, resume=job.id)  # runs nothing
```

The attempts themselves run in `hud._attempts`; this module checks the arguments, creates or reads
back the job, works out what is missing and runs it under the job's lifecycle (`hud.job.run_lifecycle`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from hud import gym
from hud._attempts import Attempts
from hud._constants import DEFAULT_MAX_CONCURRENT, DEFAULT_RUN_RETRIES, LEASE_POLL_INTERVAL
from hud._progress import RunProgress, RunStats
from hud._running import RunOutcome, run_lifecycle
from hud._task import Task, TaskT, as_tasks
from hud._validate import check_metadata, check_name, check_optional_text
from hud._wire import DEFAULT_SUCCESS_THRESHOLD
from hud.errors import InvalidInputError, JobBusyError
from hud.job import Job, create_job, load_job

__all__ = ["Task", "run_job"]

logger = logging.getLogger("hud")


async def run_job(
    name: str,
    tasks: Iterable[TaskT | Mapping[str, Any] | str],
    agent: Callable[[gym.Environment, TaskT], Awaitable[float | None]],
    *,
    metadata: dict[str, Any] | None = None,
    gym_id: str | None = None,
    repeats: int = 1,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    timeout: float | None = None,  # noqa: ASYNC109 - per attempt, not around this call
    infra_errors: tuple[type[BaseException], ...] = (),
    retries: int = DEFAULT_RUN_RETRIES,
    resume: Job | str | None = None,
    success_threshold: float = DEFAULT_SUCCESS_THRESHOLD,
    progress: bool | None = None,
    api_key: str | None = None,
) -> Job:
    """Run `agent` on each task `repeats` times as one job; returns the job, with its final status.

    Each attempt gets an open environment made for its task (`task_id`, `gym_id`, the task's
    metadata), linked to the job, and `await agent(env, task)` returns the reward (or None). The
    runner then closes the environment with it, unless the agent closed it itself; when the agent
    raises, the environment is closed with the error and its kind: `agent`, `timeout` (past
    `timeout`), `infrastructure` (an SDK error, or one of `infra_errors`) or `cancelled`.

    An infrastructure error says nothing about the agent: that try stays recorded (left out of
    scores) and the attempt runs again after a backoff, up to `retries` times. Concurrency adapts:
    each infrastructure error halves it (once per wave of attempts that ran together), each attempt
    that goes through raises it by one, up to `max_concurrent`, so a rate-limited provider slows the
    run down instead of failing it. So every task ends with exactly `repeats` trajectories that
    count, unless an attempt still fails after its retries: then the job ends `failed`, saying how
    many are missing, and `run_job(..., resume=job.id)` runs only those.

    With `resume=` (a job id or Job), the job is read back first: for each task, only the attempts
    still missing (`repeats` minus its trajectories that count) run, into the same job, which goes
    back to `running`, then `completed`. A job left `running` by a process that died (kill -9) is
    resumed once the server's lease calls it crashed (this waits; if its heartbeats go on, another
    process runs it: `JobBusyError`). Resuming a completed job with nothing missing does nothing.

    The job's lifecycle is `hud.job.running`'s: heartbeats hold its lease, Ctrl-C and SIGTERM end it
    `cancelled`. On a terminal, a progress line on stderr shows attempts done/total, the success rate
    so far, errors by kind and the concurrency now allowed.

    Args:
        name: The job's name (1 to 256 characters); a resumed job keeps its own (a warning if it differs).
        tasks: Task, dict with "id" (and any fields), or str (the task id) each; ids unique.
        agent: `async def agent(env, task) -> float | None`.
        metadata: A JSON object stored with the job. On resume, keys it shares with the job's must
            have the same values (else `InvalidInputError`: the attempts would mix two setups in one
            job); new keys are merged into the job's.
        gym_id: The gym of tasks that do not name one.
        repeats: Trajectories that count wanted per task.
        max_concurrent: Attempts running at once, at most.
        timeout: Seconds per attempt (the agent's call), or None for no limit.
        infra_errors: Exception types that mean the infrastructure failed (a provider's rate limit).
        retries: Re-attempts of an attempt that ended in an infrastructure error.
        resume: A job (or its id) to complete instead of creating one.
        success_threshold: The reward at which an attempt counts as a success (progress line only).
        progress: Draw the progress line: None when stderr is a terminal, True always, False never.
        api_key: Overrides HUD_API_KEY (and a resumed Job's own key).

    Raises:
        InvalidInputError: an argument is refused, before anything runs.
        JobBusyError: `resume` names a job another process is running.
        HudError: the job could not be created, read or resumed; or environments cannot be made at
            all (a wrong key, gym or setting: the first such error stops the run, the job `failed`).

    Example:
        >>> job = await run_job("nightly", tasks, agent, gym_id="my-gym", repeats=3)  # doctest: +SKIP
        >>> job = await run_job("nightly", tasks, agent, gym_id="my-gym", repeats=3, resume=job)  # doctest: +SKIP
    """
    check_name(name)
    check_metadata(metadata)
    default_gym = check_optional_text(gym_id, "gym_id")
    todo = as_tasks(tasks, default_gym)
    _check_int(repeats, "repeats", 1)
    _check_int(max_concurrent, "max_concurrent", 1)
    _check_int(retries, "retries", 0)
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0
    ):
        raise InvalidInputError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    if not isinstance(infra_errors, tuple) or not all(
        isinstance(t, type) and issubclass(t, BaseException) for t in infra_errors
    ):
        raise InvalidInputError("infra_errors must be a tuple of exception types")
    if not callable(agent):
        raise InvalidInputError(f"agent must be an async function agent(env, task), got {type(agent).__name__}")
    if progress not in (None, True, False):
        raise InvalidInputError(f"progress must be True, False or None, got {progress!r}")

    if resume is None:
        target = await create_job(name, gym_id=default_gym, metadata=metadata, api_key=api_key)
        missing = dict.fromkeys((task.id for task in todo), repeats)
    else:
        target = await _resumable(resume, name, metadata, api_key)
        counted = await _counted(target, {task.id for task in todo})
        missing = {task.id: max(0, repeats - counted[task.id]) for task in todo}
        if not any(missing.values()) and target.status == "completed":
            logger.info("hud: job %s has every attempt it needs: nothing to run", target.id)
            return target
    # Repeat by repeat: a run stopped early has every task about as often.
    plan = [task for r in range(repeats) for task in todo if r < missing[task.id]]
    stats = RunStats(total=len(plan), maximum=max_concurrent, limit=max_concurrent)
    drawing = RunProgress(target.name, stats, enabled=progress)
    attempts = Attempts(
        job=target,
        agent=agent,
        gym_id=default_gym,
        timeout=timeout,
        infra_errors=infra_errors,
        retries=retries,
        max_concurrent=max_concurrent,
        success_threshold=success_threshold,
        stats=stats,
        progress=drawing,
    )
    outcome = RunOutcome()
    try:
        async with run_lifecycle(target, outcome):
            drawing.tick()
            await attempts.run(plan)
            if stats.given_up:
                outcome.failure = (
                    f"{stats.given_up} attempt(s) still missing: infrastructure errors went on after "
                    f"{retries} retries (last: {attempts.last_error}); "
                    f"run_job(..., resume={target.id!r}) runs only those"
                )
                logger.warning("hud: job %s: %s", target.id, outcome.failure)
    finally:
        drawing.finish()
    return outcome.final or target


def _check_int(value: object, what: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInputError(f"{what} must be an int of at least {low}, got {value!r}")


async def _resumable(resume: Job | str, name: str, metadata: dict[str, Any] | None, api_key: str | None) -> Job:
    """The job to resume, as the server has it now, once no other process holds it."""
    if isinstance(resume, Job):
        target = await resume.refresh(api_key=api_key)
    elif isinstance(resume, str):
        target = await load_job(resume, api_key=api_key)
    else:
        raise InvalidInputError(f"resume must be a Job, a job id or None, got {type(resume).__name__}")
    if target.name != name:  # a label: the job keeps its own, but a wrong job id often shows here first
        logger.warning("hud: resuming job %s, named %r (not %r): it keeps its name", target.id, target.name, name)
    target = await _wait_for_lease(target)
    if metadata:
        current = target.metadata or {}
        differing = sorted(key for key in metadata if key in current and current[key] != metadata[key])
        if differing:
            raise InvalidInputError(
                f"resume: this call's metadata differs from job {target.id}'s on {', '.join(map(repr, differing))}: "
                "its attempts would run another setup in the same job. Pass the job's metadata (or none), "
                "or start a new job"
            )
        new = {key: value for key, value in metadata.items() if key not in current}
        if new:
            target = await target.update(metadata=new, merge=True)
    return target


async def _wait_for_lease(target: Job) -> Job:
    """Waits while a `running` job's lease may still be held; raises when its heartbeats go on."""
    if target.status != "running":
        return target
    if target.heartbeat_at is None:
        raise JobBusyError(
            f"job {target.id} is running and holds no lease (no heartbeats): it may still be running "
            f"somewhere. If nothing runs it any more, `hud jobs set-status {target.id} crashed`, then resume"
        )
    seen = target.heartbeat_at
    logger.warning(
        "hud: job %s is still running (last heartbeat at %s): waiting for its lease to run out, as its "
        "process may have died (if its heartbeats go on, another process runs it and this stops)",
        target.id,
        seen.isoformat(),
    )
    while True:
        await asyncio.sleep(LEASE_POLL_INTERVAL)
        target = await target.refresh()
        if target.status != "running":
            return target
        if target.heartbeat_at != seen:
            raise JobBusyError(
                f"job {target.id} is being run by another process: its heartbeats go on (the last at "
                f"{target.heartbeat_at}). Stop that process, or wait for it to end, then resume"
            )


async def _counted(target: Job, ids: set[str]) -> collections.Counter[str]:
    """Trajectories that count, per task id among `ids`."""
    counted: collections.Counter[str] = collections.Counter()
    async for trajectory in target.iter_trajectories():
        if trajectory.task_id in ids and trajectory.counts:
            counted[trajectory.task_id] += 1
    return counted
