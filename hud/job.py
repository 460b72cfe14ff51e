"""Jobs: group the runs of an agent, and read back what they left.

```python
from hud.job import job, create_job, load_job, run_job

@job("my-eval", metadata={"agent": "v2"})   # one Job per call of the function
async def run_eval() -> None:
    env = await hud.gym.make("my-gym")        # linked to that Job, also inside tasks it spawns
    ...
    await env.close(reward=1.0)               # leaves a trajectory on the Job

async with job("my-eval", metadata={"model": model}) as j:   # the same, for a block
    ...

j = await run_job("my-eval", tasks, agent, gym_id="my-gym", repeats=3)   # tasks x repeats, resumable
j = await load_job(job_id)
trajectories = await j.load_trajectories()
```
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr

from hud import _analysis, _api
from hud._comparison import Comparison, compare
from hud._constants import (
    ENVIRONMENT_PAGE_SIZE,
    JOB_PAGE_SIZE,
    TASK_PAGE_SIZE,
    TRAJECTORY_PAGE_SIZE,
)
from hud._export import jobs_to_pandas
from hud._lifecycle import active_job
from hud._summary import JobSummary, TaskStats
from hud._terminal import printable
from hud._validate import (
    check_client_id,
    check_confidence,
    check_id,
    check_metadata,
    check_name,
    check_optional_text,
    check_page_size,
    check_threshold,
)
from hud._wire import (
    DEFAULT_SUCCESS_THRESHOLD,
    ENVIRONMENT_PAGE_MAX,
    JOB_PAGE_MAX,
    TASK_PAGE_MAX,
    TRAJECTORY_PAGE_MAX,
)
from hud.errors import InvalidInputError, ServerError
from hud.settings import Settings, settings_for
from hud.trajectory import EnvironmentInfo, Trajectory

__all__ = [
    "Comparison",
    "Job",
    "JobSummary",
    "Task",
    "TaskStats",
    "compare",
    "create_job",
    "current_job",
    "iter_jobs",
    "job",
    "jobs_to_pandas",
    "load_job",
    "run_job",
]


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
        cursors = _Cursors("listJobTrajectories")
        cursor: str | None = None
        while True:
            page, cursor = await _api.list_job_trajectories(settings, self.id, limit=page_size, cursor=cursor)
            yield page
            del page
            if cursor is None:
                return
            cursors.check(cursor)

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
        cursors = _Cursors("listJobEnvironments")
        cursor: str | None = None
        while True:
            page = await _api.list_job_environments(
                settings, _EnvironmentPage, self.id, limit=page_size, cursor=cursor, state=state
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = cursors.check(page.next_cursor)

    async def summary(
        self,
        *,
        api_key: str | None = None,
        success_threshold: float = DEFAULT_SUCCESS_THRESHOLD,
        confidence: float = 0.95,
    ) -> JobSummary:
        """The numbers of the job's trajectories: counts, mean reward, success rate, errors, with intervals.

        `infrastructure`, `cancelled` and `crashed` trajectories are counted apart and left out of the
        mean and the success rate; `agent` and `timeout` errors count as failures (reward 0 when none
        was given). The server computes the numbers (`/summary`, `/tasks`); against one without those
        endpoints (the platform) they are added up here from the trajectories, a page at a time, to
        the same result. The task-level intervals need the extra `hud[analysis]`.

        Args:
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
            success_threshold: A trajectory succeeded when its reward is at least this.
            confidence: The confidence level of the intervals.

        Example:
            >>> summary = await job.summary()  # doctest: +SKIP
            >>> summary.counted, summary.mean_reward, summary.mean_reward_ci  # doctest: +SKIP
        """
        check_confidence(confidence)
        settings = self._settings(api_key)
        threshold = check_threshold(success_threshold)
        return await _analysis.job_summary(self, settings, api_key, threshold, confidence, TASK_PAGE_SIZE)

    async def iter_tasks(
        self,
        *,
        api_key: str | None = None,
        success_threshold: float = DEFAULT_SUCCESS_THRESHOLD,
        page_size: int = TASK_PAGE_SIZE,
    ) -> AsyncIterator[TaskStats]:
        """Yield the job's per-task aggregates (attempts, counted, mean reward, successes) (extension).

        One per `task_id` (its repeats are its attempts), then one per trajectory recorded without a
        task. Computed by the server; added up here from the trajectories when it cannot.

        Args:
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
            success_threshold: A trajectory succeeded when its reward is at least this.
            page_size: Tasks per request (1 to 10000).
        """
        check_page_size(page_size, TASK_PAGE_MAX)
        settings = self._settings(api_key)
        threshold = check_threshold(success_threshold)
        async for task in _analysis.iter_tasks(self, settings, api_key, threshold, page_size):
            yield task

    async def to_pandas(
        self, *, api_key: str | None = None, success_threshold: float = DEFAULT_SUCCESS_THRESHOLD
    ) -> Any:
        """The job's trajectories as a pandas DataFrame, one row each (needs `hud[analysis]`).

        Columns: id, task_id, gym_id, reward, outcome, error_kind, error, steps, created_at,
        closed_at, duration (seconds), metadata (JSON text). Steps are counted, not copied.
        """
        from hud._export import trajectories_table

        return (await trajectories_table(self, api_key, check_threshold(success_threshold))).to_pandas()

    async def to_arrow(
        self, *, api_key: str | None = None, success_threshold: float = DEFAULT_SUCCESS_THRESHOLD
    ) -> Any:
        """The job's trajectories as a `pyarrow.Table`, the columns of `to_pandas` (needs `hud[analysis]`)."""
        from hud._export import trajectories_table

        return await trajectories_table(self, api_key, check_threshold(success_threshold))

    async def refresh(self, *, api_key: str | None = None) -> Job:
        """The job as the server has it now (status, metadata, heartbeat); this Job, a snapshot, is unchanged.

        Args:
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
        """
        loaded = await _api.get_job(self._settings(api_key), Job, self.id)
        return loaded._keeping(api_key or _secret(self._api_key))

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
        merge: bool = False,
    ) -> Job:
        """Set the job's status, metadata and/or error on the server; the updated Job is returned.

        Arguments left as None are not changed. This Job is not modified: it is a snapshot.

        Args:
            status: The new status.
            metadata: The new metadata: replaces the job's, or with `merge=True` sets only its keys.
            error: Why the job failed.
            api_key: Overrides the key this Job was loaded with (and HUD_API_KEY).
            merge: Set the keys of `metadata` and keep the others (a shallow merge, top-level keys).
                The server merges atomically (extension of `PATCH /v2/jobs/{id}`): concurrent merges
                of different keys all keep theirs, where a read, change and write here would lose some.

        Example:
            >>> await job.update(metadata={"score": 0.8}, merge=True)  # doctest: +SKIP
        """
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = check_name(status, "status")
        if merge:
            if metadata is None:
                raise InvalidInputError("update(merge=True) needs metadata: the keys to set")
            body["metadata_merge"] = check_metadata(metadata)
        elif metadata is not None:
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
    cursors = _Cursors("listJobs")
    cursor: str | None = None
    while True:
        page = await _api.list_jobs(settings, _JobPage, limit=page_size, cursor=cursor, status=status, name=name)
        for item in page.items:
            yield item._keeping(api_key)
        if page.next_cursor is None:
            return
        cursor = cursors.check(page.next_cursor)


class _Cursors:
    """The cursors one listing was given: a server that gives one twice would have it page forever."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self._seen: set[str] = set()

    def check(self, cursor: str) -> str:
        if cursor in self._seen:
            raise ServerError(
                200,
                f"the server gave the paging cursor {printable(cursor[:80])!s} a second time: reading on would "
                "never end; the server's paging is broken (report it with this message)",
                operation=self.operation,
            )
        self._seen.add(cursor)
        return cursor


def current_job() -> Job | None:
    """The Job of the innermost `@job` call or `async with job(...)` block running in this context, or None."""
    return cast("Job | None", active_job.get())


# At the end: these build on everything above (and hud.gym, which they use, imports this module).
from hud._runner import Task, run_job  # noqa: E402
from hud._running import job, running  # noqa: E402, F401 - hud.job.running, the lifecycle of a job block
