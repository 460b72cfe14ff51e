"""Running a job in this process: `job()` (a decorator and an async context manager) and `running`.

`run_lifecycle` is the lifecycle itself: the job `running` and the active job of the block, its lease
renewed by heartbeats, SIGTERM handled as a cancellation, then a final status that never raises over
the block's own outcome. `hud.job` re-exports `job` and `running`; `run_job` uses `run_lifecycle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from hud import _api
from hud._constants import FINAL_STATUS_MAX_RETRIES
from hud._lifecycle import Heartbeat, PendingCloses, TerminateAsCancel, active_job, pending_closes
from hud._validate import check_metadata, check_name, error_text
from hud.errors import HudError
from hud.job import Job, create_job, settings_of

__all__ = ["RunOutcome", "job", "run_lifecycle", "running"]

logger = logging.getLogger("hud")

P = ParamSpec("P")
R = TypeVar("R")


def job(name: str, metadata: dict[str, Any] | None = None) -> _JobBlock:
    """Run as a new Job: each call of a decorated async function, or each `async with` block.

    Each call (or block) creates a Job and sets it `running`; every environment made inside it (also
    in tasks it spawns with `gather`, `create_task`, `TaskGroup` or `asyncio.to_thread`) is linked to
    it. When it ends the Job is set `completed`, `failed` (with the error message) or `cancelled`, and
    its own result or exception reaches the caller unchanged: when that last update fails (the server
    went down, or answers an error), it is logged on the `hud` logger, never raised in place of the
    outcome. While it runs, the Job's lease is renewed by heartbeats (see `running`). A nested call
    links to the innermost Job. The active Job is `current_job()`.

    Args:
        name: The name of each Job (1 to 256 characters).
        metadata: A JSON object stored with each Job.

    Raises:
        TypeError: at decoration time, when the function is not async.
        InvalidInputError: at once, for a bad name or metadata.

    Example:
        >>> @job("nightly-eval", metadata={"agent": "v2"})
        ... async def run_eval() -> None: ...

        Or, where there is no function to decorate (a notebook, a script, metadata known at run time):

        >>> async with job("nightly-eval", metadata={"model": model}) as j:  # doctest: +SKIP
        ...     env = await hud.gym.make("my-gym", task_id="t-1")  # linked to j
    """
    check_name(name)
    check_metadata(metadata)
    return _JobBlock(name, metadata)


class _JobBlock:
    """What `job(name, metadata)` returns: a decorator of async functions, and an async context manager.

    Reusable both ways, also concurrently: each call, and each `async with`, creates its own Job.
    """

    def __init__(self, name: str, metadata: dict[str, Any] | None) -> None:
        self._name = name
        self._metadata = metadata
        # The blocks this object is running, per context (task): concurrent and nested `async with`
        # blocks each leave their own.
        self._blocks: contextvars.ContextVar[tuple[contextlib.AbstractAsyncContextManager[Job], ...]] = (
            contextvars.ContextVar(f"hud_job_block_{id(self)}", default=())
        )

    def __repr__(self) -> str:
        return f"job({self._name!r}, metadata={self._metadata!r})"

    # Typed with Coroutine, not Awaitable: a call's result goes to asyncio.run, create_task and
    # TaskGroup.create_task, which accept coroutines only.
    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        """Decorate `fn`: each call runs as a new Job."""
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(
                f"@job({self._name!r}) decorates async functions (async def); "
                f"{getattr(fn, '__qualname__', fn)!r} is not one. Make it async, use `async with job(...)`, "
                "or call create_job() yourself."
            )
        name, metadata = self._name, self._metadata

        @functools.wraps(fn)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            created = await create_job(name, metadata=metadata)
            async with running(created):
                return await fn(*args, **kwargs)

        return run

    async def __aenter__(self) -> Job:
        created = await create_job(self._name, metadata=self._metadata)
        block = running(created)
        entered = await block.__aenter__()
        self._blocks.set((*self._blocks.get(), block))
        return entered

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        blocks = self._blocks.get()
        if not blocks:
            raise RuntimeError("job(...).__aexit__ without its __aenter__ in this task")
        self._blocks.set(blocks[:-1])
        return await blocks[-1].__aexit__(exc_type, exc, tb)


@contextlib.asynccontextmanager
async def running(target: Job) -> AsyncIterator[Job]:
    """The lifecycle of a job run by this process: `running`, held by heartbeats, then final.

    The job is `running` (the active job of the block, `current_job()`) and its lease is renewed in
    the background. The block's end sets `completed`; an exception `failed` (with its message as the
    job's error) and a cancellation (Ctrl-C, SIGTERM) `cancelled`. The final status is retried
    longer than ordinary calls; if it still fails, the failure is logged and the block's own
    outcome (its return, its exception) stands unchanged: the server's lease then calls the job
    crashed. Environments closing in the background are waited for first.
    """
    async with run_lifecycle(target, RunOutcome()) as entered:
        yield entered


class RunOutcome:
    """How a block run by `run_lifecycle` ended, when it returned normally (for `run_job`).

    Attributes:
        failure: Set by the block: end `failed` with this error instead of `completed`.
        final: After the block: the Job as the final status update answered (None if it failed).
    """

    def __init__(self) -> None:
        self.failure: str | None = None
        self.final: Job | None = None


@contextlib.asynccontextmanager
async def run_lifecycle(target: Job, outcome: RunOutcome) -> AsyncIterator[Job]:
    """`running`, where the block may end the job `failed` without raising (`outcome.failure`)."""
    token = active_job.set(target)
    closes = PendingCloses()
    closes_token = pending_closes.set(closes)
    settings = settings_of(target, None)
    heartbeat = Heartbeat(
        lambda: _api.heartbeat_job(settings.model_copy(update={"max_retries": 0}), Job, target.id),
        settings.heartbeat_interval,
        f"job {target.id}",
    )
    try:
        with TerminateAsCancel.guard():
            await _set_status(target, "running")
            heartbeat.start()
            try:
                yield target
            except asyncio.CancelledError:
                await _finish(target, "cancelled", None, closes, heartbeat)
                raise
            except BaseException as exc:
                await _finish(target, "failed", error_text(exc), closes, heartbeat)
                raise
            if outcome.failure is not None:
                outcome.final = await _finish(target, "failed", outcome.failure, closes, heartbeat)
            else:
                outcome.final = await _finish(target, "completed", None, closes, heartbeat)
    finally:
        await heartbeat.stop()
        pending_closes.reset(closes_token)
        active_job.reset(token)


async def _finish(
    target: Job, status: str, error: str | None, closes: PendingCloses, heartbeat: Heartbeat
) -> Job | None:
    """Waits for background closes, stops the heartbeats, and sets the final status without raising.

    Returns the Job as the update answered, or None when it failed (logged).
    """
    await closes.wait()
    await heartbeat.stop()
    settings = settings_of(target, None)
    settings = settings.model_copy(update={"max_retries": max(settings.max_retries, FINAL_STATUS_MAX_RETRIES)})
    try:
        if error is None:
            updated = await _api.update_job(settings, Job, target.id, status=status)
        else:
            updated = await _api.update_job(settings, Job, target.id, status=status, error=error)
    except HudError as exc:
        logger.error(
            "hud: could not set job %s to %r after its call ended (%s); the call's own outcome stands "
            "(the server's lease will mark the job crashed)",
            target.id,
            status,
            exc,
        )
        return None
    return target.model_copy(update=dict(updated))  # a copy keeps the key the job was loaded with


async def _set_status(target: Job, status: str) -> None:
    settings = settings_of(target, None)
    if target.error is None:
        await _api.update_job(settings, Job, target.id, status=status)
    else:  # a job run again (a resume): the error of its last run no longer holds
        await _api.update_job(settings, Job, target.id, status=status, error=None)
