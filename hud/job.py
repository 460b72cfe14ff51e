"""Jobs: group the runs of an agent, and read back what they left.

```python
from hud.job import job, create_job, load_job

@job("my-eval", metadata={"agent": "v2"})   # one Job per call of the function
async def run_eval() -> None:
    env = await hud.gym.make("my-gym")        # linked to that Job, also inside tasks it spawns
    ...
    await env.close(reward=1.0)               # leaves a trajectory on the Job

j = await load_job(job_id)
trajectories = await j.load_trajectories()
```
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr

from hud import _api
from hud._constants import ENVIRONMENT_PAGE_SIZE, FINAL_STATUS_MAX_RETRIES, JOB_PAGE_SIZE, TRAJECTORY_PAGE_SIZE
from hud._lifecycle import Heartbeat, PendingCloses, TerminateAsCancel, pending_closes
from hud._summary import JobSummary, SummaryBuilder
from hud._validate import (
    check_client_id,
    check_id,
    check_metadata,
    check_name,
    check_optional_text,
    check_page_size,
    error_text,
)
from hud._wire import (
    DEFAULT_SUCCESS_THRESHOLD,
    ENVIRONMENT_PAGE_MAX,
    JOB_PAGE_MAX,
    TRAJECTORY_PAGE_MAX,
)
from hud.errors import HudError, InvalidInputError
from hud.settings import Settings, settings_for
from hud.trajectory import EnvironmentInfo, Trajectory

__all__ = ["Job", "JobSummary", "create_job", "current_job", "iter_jobs", "job", "load_job"]

logger = logging.getLogger("hud")

P = ParamSpec("P")
R = TypeVar("R")

# A ContextVar, not a global: asyncio tasks (gather, create_task, TaskGroup) and asyncio.to_thread copy
# the context they start in, so whatever a decorated call spawns sees its Job, and concurrent calls
# never see each other's.
_current_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar("hud_current_job", default=None)


class Job(BaseModel):
    """A job: the runs of an agent grouped under one id.

    `status` is a plain string: `created`, `running`, `completed`, `failed` or `cancelled` today, and
    any value the platform adds tomorrow. Fields the server adds later are ignored.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    metadata: dict[str, Any] | None = None
    created_at: datetime
    status: str
    error: str | None = None
    """Extension: why the job failed, when it did."""
    heartbeat_at: datetime | None = None
    """Extension: when the process running the job last renewed its lease (None: it never did)."""

    # The key this Job was loaded with, reused by its methods; private attributes stay out of repr.
    _api_key: SecretStr | None = PrivateAttr(default=None)

    def _settings(self, api_key: str | None) -> Settings:
        return settings_of(self, api_key)

    def _keeping(self, api_key: str | None) -> Job:
        # The key a Job was loaded with is reused by its methods.
        if api_key is not None:
            self._api_key = SecretStr(api_key)
        return self

    async def iter_trajectories(
        self, *, api_key: str | None = None, page_size: int = TRAJECTORY_PAGE_SIZE
    ) -> AsyncIterator[Trajectory]:
        """Yield the job's trajectories, oldest first, fetching them a page at a time.

        Memory stays flat however large the job: only one page is held at once.

        Args:
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
            page_size: Trajectories per request (1 to 10000).
        """
        async for page in self._pages(self._settings(api_key), check_page_size(page_size, TRAJECTORY_PAGE_MAX)):
            # Popped rather than iterated: nothing here keeps a page, or the last trajectory yielded,
            # referenced while the next page downloads and validates (that held two pages at once).
            page.reverse()
            while page:
                yield page.pop()

    async def load_trajectories(self, *, api_key: str | None = None) -> list[Trajectory]:
        """All of the job's trajectories, oldest first (paged through; see `iter_trajectories`).

        Args:
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
        """
        trajectories: list[Trajectory] = []
        async for page in self._pages(self._settings(api_key), TRAJECTORY_PAGE_SIZE):
            trajectories.extend(page)
        return trajectories

    async def _pages(self, settings: Settings, page_size: int) -> AsyncIterator[list[Trajectory]]:
        # One page at a time; load_trajectories extends by whole pages, not item by item.
        cursor: str | None = None
        while True:
            page, cursor = await _api.list_job_trajectories(settings, self.id, limit=page_size, cursor=cursor)
            yield page
            del page
            if cursor is None:
                return

    async def iter_environments(
        self, *, state: str | None = None, api_key: str | None = None, page_size: int = ENVIRONMENT_PAGE_SIZE
    ) -> AsyncIterator[EnvironmentInfo]:
        """Yield the job's environments, oldest first, a page at a time (extension).

        Open ones are those still running (or abandoned by a process that has not yet been called
        crashed); closed ones have left their trajectory.

        Args:
            state: `open` or `closed` for only those; None for all.
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
            page_size: Environments per request (1 to 1000).
        """
        if state not in (None, "open", "closed"):
            raise InvalidInputError(f"state must be 'open', 'closed' or None, got {state!r}")
        check_page_size(page_size, ENVIRONMENT_PAGE_MAX)
        settings = self._settings(api_key)
        cursor: str | None = None
        while True:
            page = await _api.list_job_environments(
                settings, _EnvironmentPage, self.id, limit=page_size, cursor=cursor, state=state
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def summary(
        self, *, api_key: str | None = None, success_threshold: float = DEFAULT_SUCCESS_THRESHOLD
    ) -> JobSummary:
        """The numbers of the job's trajectories: count, mean reward, success rate, errors, by outcome.

        `infrastructure`, `cancelled` and `crashed` trajectories are counted apart and left out of the
        mean and the success rate; `agent` and `timeout` errors count as failures (reward 0 when none
        was given). Computed here from `iter_trajectories`, a page at a time (flat memory), so it
        works against the platform, a `hud server` and the embedded default alike.

        Args:
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
            success_threshold: A trajectory succeeded when its reward is at least this.

        Example:
            >>> summary = await job.summary()  # doctest: +SKIP
            >>> summary.counted, summary.mean_reward, summary.by_outcome  # doctest: +SKIP
        """
        builder = SummaryBuilder(self.id, success_threshold)
        async for trajectory in self.iter_trajectories(api_key=api_key):
            builder.add(trajectory)
        return builder.result()

    def _repr_html_(self) -> str:
        """HTML for notebooks (Jupyter calls this); every value is escaped."""
        from hud._display import job_html

        return job_html(self)

    async def update(
        self,
        *,
        status: str | None = None,
        metadata: dict[str, Any] | None = None,
        error: str | None = None,
        api_key: str | None = None,
    ) -> Job:
        """Set the job's status, metadata and/or error on the server; the updated Job is returned.

        Arguments left as None are not changed. This Job is not modified: it is a snapshot.
        """
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = check_name(status, "status")
        if metadata is not None:
            body["metadata"] = check_metadata(metadata)
        if error is not None:
            body["error"] = error
        if not body:
            raise InvalidInputError("update() needs at least one of status, metadata, error")
        updated = await _api.update_job(self._settings(api_key), Job, self.id, **body)
        return updated._keeping(api_key or _secret(self._api_key))


def settings_of(target: Job, api_key: str | None) -> Settings:
    """The settings of a call about `target`: `api_key` when given, else the key it was loaded with."""
    if api_key is None and target._api_key is not None:
        api_key = target._api_key.get_secret_value()
    return settings_for(api_key)


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


async def create_job(
    name: str,
    gym_id: str | None = None,
    evalset_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    api_key: str | None = None,
    id: str | None = None,
) -> Job:
    """Create a job.

    Args:
        name: A name for people to read (1 to 256 characters).
        gym_id: The gym the job runs in, if any.
        evalset_id: The evaluation set the job runs, if any.
        metadata: A JSON object stored with the job.
        api_key: Overrides HUD_API_KEY for this call.
        id: The job's id, chosen by you (extension of the reference server; a UUID, say): creating it
            again with the same fields returns the job, with other fields raises `ConflictError`.
            None: the server makes one.

    Raises:
        InvalidInputError: an argument is refused before sending.
        HudError: the server refused or could not be reached (see `hud.errors`).
    """
    created = await _api.create_job(
        settings_for(api_key),
        Job,
        name=check_name(name),
        metadata=check_metadata(metadata),
        gym_id=check_optional_text(gym_id, "gym_id"),
        evalset_id=check_optional_text(evalset_id, "evalset_id"),
        job_id=check_client_id(id),
    )
    return created._keeping(api_key)


async def load_job(job_id: str, api_key: str | None = None) -> Job:
    """Load a job by id.

    Args:
        job_id: The job's id.
        api_key: Overrides HUD_API_KEY; the returned Job reuses it for its own calls.

    Raises:
        NotFoundError: no such job in the key's account.
    """
    loaded = await _api.get_job(settings_for(api_key), Job, check_id(job_id, "job_id"))
    return loaded._keeping(api_key)


class _JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None = None


class _EnvironmentPage(BaseModel):
    items: list[EnvironmentInfo]
    next_cursor: str | None = None


async def iter_jobs(
    *, status: str | None = None, name: str | None = None, api_key: str | None = None, page_size: int = JOB_PAGE_SIZE
) -> AsyncIterator[Job]:
    """Yield the account's jobs, newest first, a page at a time (extension).

    Args:
        status: Only jobs with this status.
        name: Only jobs with exactly this name.
        api_key: Overrides HUD_API_KEY.
        page_size: Jobs per request (1 to 1000).
    """
    check_page_size(page_size, JOB_PAGE_MAX)
    settings = settings_for(api_key)
    status = None if status is None else check_name(status, "status")
    name = None if name is None else check_name(name)
    cursor: str | None = None
    while True:
        page = await _api.list_jobs(settings, _JobPage, limit=page_size, cursor=cursor, status=status, name=name)
        for item in page.items:
            yield item._keeping(api_key)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def current_job() -> Job | None:
    """The Job of the innermost `@job` call running in this context, or None outside one."""
    return _current_job.get()


def job(
    name: str, metadata: dict[str, Any] | None = None
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Decorate an async function so that each call runs as a new Job.

    Each call creates a Job and sets it `running`; every environment made inside the call (also in
    tasks it spawns with `gather`, `create_task`, `TaskGroup` or `asyncio.to_thread`) is linked to it.
    When the call ends the Job is set `completed`, `failed` (with the error message) or `cancelled`,
    and the call's own result or exception reaches the caller unchanged: when that last update fails
    (the server went down, or answers an error), it is logged on the `hud` logger, never raised in
    place of the call's outcome. A nested decorated call links to the innermost Job. The active Job
    is `current_job()`.

    Args:
        name: The name of each Job (1 to 256 characters).
        metadata: A JSON object stored with each Job.

    Raises:
        TypeError: at decoration time, when the function is not async.
        InvalidInputError: at decoration time, for a bad name or metadata.

    Example:
        >>> @job("nightly-eval", metadata={"agent": "v2"})
        ... async def run_eval() -> None: ...
    """
    check_name(name)
    check_metadata(metadata)

    # Typed with Coroutine, not Awaitable: a call's result goes to asyncio.run, create_task and
    # TaskGroup.create_task, which accept coroutines only.
    def decorate(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(
                f"@job({name!r}) decorates async functions (async def); {getattr(fn, '__qualname__', fn)!r} is not "
                "one. Make it async, or call create_job() yourself."
            )

        @functools.wraps(fn)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            created = await create_job(name, metadata=metadata)
            async with running(created):
                return await fn(*args, **kwargs)

        return run

    return decorate


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
    token = _current_job.set(target)
    closes = PendingCloses()
    closes_token = pending_closes.set(closes)
    settings = target._settings(None)
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
            await _finish(target, "completed", None, closes, heartbeat)
    finally:
        await heartbeat.stop()
        pending_closes.reset(closes_token)
        _current_job.reset(token)


async def _finish(target: Job, status: str, error: str | None, closes: PendingCloses, heartbeat: Heartbeat) -> None:
    """Waits for background closes, stops the heartbeats, and sets the final status without raising."""
    await closes.wait()
    await heartbeat.stop()
    settings = target._settings(None)
    settings = settings.model_copy(update={"max_retries": max(settings.max_retries, FINAL_STATUS_MAX_RETRIES)})
    try:
        if error is None:
            await _api.update_job(settings, Job, target.id, status=status)
        else:
            await _api.update_job(settings, Job, target.id, status=status, error=error)
    except HudError as exc:
        logger.error(
            "hud: could not set job %s to %r after its call ended (%s); the call's own outcome stands "
            "(the server's lease will mark the job crashed)",
            target.id,
            status,
            exc,
        )


async def _set_status(target: Job, status: str) -> None:
    await _api.update_job(target._settings(None), Job, target.id, status=status)
