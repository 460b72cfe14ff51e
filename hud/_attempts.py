"""The attempts of a `run_job`: workers under an adaptive limit, one environment per attempt, retries.

An attempt makes an environment for its task, runs the agent in it under the per-attempt timeout and
closes it with the agent's reward, or with why it failed (`Environment.fail`: the error kinds of
`hud._wire`). An attempt whose trajectory does not count (an infrastructure error: the environment
could not be made or closed, the SDK failed, or the agent raised one of `infra_errors`) is attempted
again after a backoff, up to `retries` times, each failed try staying recorded; the others are done.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hud import gym
from hud._concurrency import AdaptiveLimit
from hud._constants import RUN_BACKOFF_BASE, RUN_BACKOFF_CAP
from hud._lifecycle import keep
from hud._progress import RunProgress, RunStats
from hud._task import Task
from hud._validate import check_reward, error_text
from hud.errors import (
    AuthenticationError,
    ConfigurationError,
    HudError,
    InvalidInputError,
    InvalidRequestError,
    NotFoundError,
)
from hud.job import Job
from hud.trajectory import TrajectorySummary

__all__ = ["Attempts", "Outcome"]

logger = logging.getLogger("hud")

#: Errors of making an environment that another try cannot fix (a wrong key, gym, job or setting):
#: the run stops at the first, instead of recording the same failure for every attempt.
FATAL = (AuthenticationError, ConfigurationError, InvalidInputError, InvalidRequestError, NotFoundError)


@dataclass(frozen=True)
class Outcome:
    """How one try of an attempt ended.

    Attributes:
        kind: Its error kind, None when it ended without error.
        counted: Whether its trajectory counts (else the attempt is tried again, or given up).
        success: Counted, with a reward of at least the success threshold.
        error: The error text, when it failed.
        retry_after: Seconds the error asked to wait before trying again, when it said.
    """

    kind: str | None
    counted: bool
    success: bool = False
    error: str | None = None
    retry_after: float | None = None


class _NotAsync(TypeError):
    """The agent is not an async function: every attempt would fail the same way, so the run stops."""


@dataclass(frozen=True)
class _Try:
    task: Task
    retry: int = 0


def _retry_after(exc: BaseException | None) -> float | None:
    value = getattr(exc, "retry_after", None)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def backoff(retry: int, retry_after: float | None) -> float:
    """Seconds before re-attempt number `retry + 1`: what the error asked for, else exponential, jittered."""
    if retry_after is not None:
        return min(retry_after, RUN_BACKOFF_CAP)
    delay = min(RUN_BACKOFF_CAP, RUN_BACKOFF_BASE * 2**retry)
    return random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not security


class Attempts:
    """Runs a list of attempts (one task each) for a job; `run` returns when each is done or given up."""

    def __init__(
        self,
        *,
        job: Job,
        agent: Callable[[gym.Environment, Any], Awaitable[float | None]],  # Any: a Task (sub)class
        gym_id: str | None,
        timeout: float | None,
        infra_errors: tuple[type[BaseException], ...],
        retries: int,
        max_concurrent: int,
        success_threshold: float,
        stats: RunStats,
        progress: RunProgress,
    ) -> None:
        self._job = job
        self._agent = agent
        self._gym_id = gym_id
        self._timeout = timeout
        self._infra_errors = infra_errors
        self._retries = retries
        self._threshold = success_threshold
        self._workers = max_concurrent
        self.limit = AdaptiveLimit(max_concurrent)
        self.stats = stats
        self._progress = progress
        self.last_error: str | None = None
        self._queue: asyncio.Queue[_Try | None] = asyncio.Queue()
        self._waiting: set[asyncio.Task[None]] = set()
        self._remaining = 0

    async def run(self, tasks: list[Task]) -> None:
        """Runs one attempt per item of `tasks`; raises what stops the run (see `FATAL`, non-awaitable agents)."""
        self._remaining = len(tasks)
        if not tasks:
            return
        for task in tasks:
            self._queue.put_nowait(_Try(task))
        workers = [asyncio.ensure_future(self._work()) for _ in range(min(self._workers, len(tasks)))]
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            running = [*workers, *self._waiting]
            for future in running:
                future.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        for worker in done:
            error = None if worker.cancelled() else worker.exception()
            if error is not None:
                raise error

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            generation = await self.limit.acquire()
            self.stats.limit = self.limit.limit
            try:
                outcome = await self._attempt(item.task)
            except BaseException:
                self.limit.release(generation, overloaded=None)
                raise
            overloaded = None if outcome.kind in ("cancelled", "crashed") else not outcome.counted
            self.limit.release(generation, overloaded=overloaded)
            self._record(item, outcome)

    def _record(self, item: _Try, outcome: Outcome) -> None:
        stats = self.stats
        if outcome.kind is not None:
            stats.errors[outcome.kind] += 1
        if outcome.counted:
            stats.counted += 1
            stats.successes += outcome.success
            self._done()
        elif item.retry < self._retries:
            delay = backoff(item.retry, outcome.retry_after)
            logger.debug("hud: task %s: %s; re-attempt in %.2f s", item.task.id, outcome.error, delay)
            waiting = asyncio.ensure_future(self._again(_Try(item.task, item.retry + 1), delay))
            self._waiting.add(waiting)
            waiting.add_done_callback(self._waiting.discard)
        else:
            self.last_error = outcome.error
            stats.given_up += 1
            self._done()
        stats.limit = self.limit.limit
        self._progress.tick()

    def _done(self) -> None:
        self.stats.done += 1
        self._remaining -= 1
        if self._remaining == 0:
            for _ in range(self._workers):
                self._queue.put_nowait(None)

    async def _again(self, item: _Try, delay: float) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait(item)

    async def _attempt(self, task: Task) -> Outcome:
        gym_id = task.gym_id or self._gym_id
        assert gym_id is not None  # as_tasks checked that each task has one
        try:
            env = await gym.make(
                gym_id,
                job=self._job,
                task_id=task.id,
                metadata=task.metadata,
                infra_errors=self._infra_errors,
            )
        except FATAL:
            raise
        except HudError as exc:  # nothing was made, so nothing is recorded
            return Outcome("infrastructure", False, error=error_text(exc), retry_after=_retry_after(exc))
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                running = self._agent(env, task)
                if not inspect.isawaitable(running):
                    raise _NotAsync(
                        f"run_job's agent must be an async function: agent(env, task) returned "
                        f"{type(running).__name__}, not an awaitable (define it with `async def`)"
                    )
                reward = await running
        except _NotAsync as exc:
            await self._close(env, error=str(exc), error_kind="agent")
            raise
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            if current is not None and not current.cancelling():
                # Raised by the agent's own code, nothing cancelled this run: that try ends `cancelled`
                # (left out of scores) and is attempted again, instead of stopping a worker for good.
                return self._outcome(env.trajectory if env.closed else await env.fail(exc), exc)
            if not env.closed:  # closed once the cancellation settles; the job waits for it
                keep(asyncio.ensure_future(env.fail(asyncio.CancelledError())))
            raise
        except Exception as exc:
            return self._outcome(env.trajectory if env.closed else await env.fail(exc), exc)
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: recorded, then they stop the run
            if not env.closed:
                await env.fail(exc)
            raise
        if env.closed:  # the agent closed it itself
            return self._outcome(env.trajectory, None)
        try:
            checked = check_reward(reward)
        except InvalidInputError as exc:
            message = f"the agent returned {reward!r:.200}, not a reward (a finite number or None): {exc}"
            return self._outcome(await self._close(env, error=message, error_kind="agent"), None)
        logger.debug("hud: task %s done in %.2f s", task.id, time.monotonic() - started)
        return self._outcome(await self._close(env, reward=checked), None)

    @staticmethod
    async def _close(env: gym.Environment, **fields: Any) -> TrajectorySummary | None:
        try:
            return await env.close(**fields)
        except HudError as exc:
            logger.error("hud: could not close environment %s: %s", env.id, exc)
            return None

    def _outcome(self, trajectory: TrajectorySummary | None, exc: BaseException | None) -> Outcome:
        if trajectory is None:  # it could not be closed: nothing counts for sure, try again
            error = "the environment could not be closed" if exc is None else error_text(exc)
            return Outcome("infrastructure", False, error=error, retry_after=_retry_after(exc))
        return Outcome(
            trajectory.effective_error_kind,
            trajectory.counts,
            success=trajectory.outcome(self._threshold) == "success",
            error=trajectory.error,
            retry_after=_retry_after(exc),
        )
