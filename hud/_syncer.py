"""`Syncer`: one run of `hud sync`, job by job (the module `hud._sync` documents how it works)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from hud import _api
from hud._sync_batches import Batches
from hud._sync_report import SyncProblem, SyncReport
from hud._wire import ENVIRONMENT_PAGE_MAX, FINAL_STATUSES, JOB_PAGE_MAX, STEP_PAGE_MAX
from hud.errors import HudError, NotFoundError
from hud.settings import Settings

__all__ = ["SCAN_PAGE", "SELECTIVE_CLOSES", "Syncer"]

#: Up to this many trajectories to close are read one by one; more, by scanning the job's pages.
SELECTIVE_CLOSES = 64
#: Trajectories per page when scanning a job at the source.
SCAN_PAGE = 1000


class _Job(BaseModel):
    """A job as a store answers it, times kept as the text it sent."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    metadata: dict[str, Any] | None = None
    created_at: str
    status: str
    error: str | None = None
    heartbeat_at: str | None = None
    gym_id: str | None = None
    evalset_id: str | None = None


class _Env(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    gym_id: str | None
    task_id: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: str
    closed_at: str | None = None
    step_count: int = 0
    state: str


class _JobPage(BaseModel):
    items: list[_Job]
    next_cursor: str | None = None


class _EnvPage(BaseModel):
    items: list[_Env]
    next_cursor: str | None = None


def _same(a: Any, b: Any) -> bool:
    """JSON equality as the server compares: key order aside, 1 and 1.0 differ."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _job_conflict(source: _Job, target: _Job) -> str | None:
    if (source.name, source.created_at, source.gym_id, source.evalset_id) != (
        target.name,
        target.created_at,
        target.gym_id,
        target.evalset_id,
    ):
        return "a job with this id is at the target with another name, gym, evalset or creation time"
    if target.status in FINAL_STATUSES and target.status != source.status:
        return f"the job is {target.status} at the target and {source.status} at the source: sync never reverts it"
    return None


def _env_conflict(source: _Env, target: _Env) -> str | None:
    if (source.gym_id, source.task_id, source.created_at) != (
        target.gym_id,
        target.task_id,
        target.created_at,
    ) or not _same(source.metadata, target.metadata):
        return "an environment with this id is at the target with another gym, task, metadata or creation time"
    if target.state == "closed" and source.state != "closed":
        return "it is closed at the target and still open at the source (was its job cancelled at the target?)"
    if target.state == "closed" and (target.closed_at, target.step_count) != (source.closed_at, source.step_count):
        return "it was closed at the target at another time or with another number of steps"
    if target.step_count > source.step_count:
        return f"the target has {target.step_count} of its steps and the source only {source.step_count}"
    return None


class Syncer:
    """One run of `hud sync`: its report, and where it is (for a progress display)."""

    def __init__(
        self,
        source: Settings,
        target: Settings,
        *,
        dry_run: bool = False,
        on_progress: Callable[[Syncer], None] = lambda _s: None,
    ) -> None:
        self.source = source
        self.target = target
        self.report = SyncReport(source=_describe(source), target=_describe(target), dry_run=dry_run)
        self.on_progress = on_progress
        self.batches = Batches(target, self.report, dry_run=dry_run, on_sent=lambda: on_progress(self))
        self.jobs_total = 0
        self.jobs_done = 0

    async def run(self, job_ids: list[str] | None) -> SyncReport:
        """Copies `job_ids` (all of the source's, oldest first, when None); raises what stopped it, if anything."""
        started = time.monotonic()
        ids: list[str] = []
        try:
            ids = list(dict.fromkeys(job_ids)) if job_ids is not None else await self._all_job_ids()
            self.jobs_total = len(ids)
            for job_id in ids:
                await self._job(job_id)
                self.jobs_done += 1
                self.on_progress(self)
            await self.batches.close()
        except HudError as exc:
            self.report.stopped = str(exc)
            self.report.not_attempted = ids[self.jobs_done + 1 :]
            raise
        finally:
            self.report.seconds = time.monotonic() - started
        return self.report

    async def _all_job_ids(self) -> list[str]:
        ids: list[str] = []
        cursor: str | None = None
        while True:
            page = await _api.list_jobs(
                self.source, _JobPage, limit=JOB_PAGE_MAX, cursor=cursor, status=None, name=None
            )
            ids += [j.id for j in page.items]
            if page.next_cursor is None:
                ids.reverse()  # oldest first: the target lists them in the source's order
                return ids
            cursor = page.next_cursor

    async def _envs(self, settings: Settings, job_id: str) -> AsyncIterator[_Env]:
        cursor: str | None = None
        while True:
            page = await _api.list_job_environments(
                settings, _EnvPage, job_id, limit=ENVIRONMENT_PAGE_MAX, cursor=cursor, state=None
            )
            for env in page.items:
                yield env
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _problem(self, job_id: str, kind: str, object_id: str, detail: str) -> None:
        self.report.problems.append(SyncProblem(job_id=job_id, kind=kind, id=object_id, detail=detail))

    async def _job(self, job_id: str) -> None:
        try:
            source = await _api.get_job(self.source, _Job, job_id)
        except NotFoundError:
            self._problem(job_id, "job", job_id, "no such job at the source (check the id and the source's key)")
            return
        try:
            target: _Job | None = await _api.get_job(self.target, _Job, job_id)
        except NotFoundError:
            target = None
        if target is not None and (reason := _job_conflict(source, target)) is not None:
            self._problem(job_id, "job", job_id, reason)
            return
        changed = target is None or not (
            (source.status, source.error, source.heartbeat_at) == (target.status, target.error, target.heartbeat_at)
            and _same(source.metadata, target.metadata)
        )
        if target is None:
            # A new job goes first: its environments need it.
            await self.batches.add("jobs", _job_record(source), job_id=job_id)
        target_envs = {} if target is None else {e.id: e async for e in self._envs(self.target, job_id)}
        to_close, to_extend = await self._environments(job_id, target_envs)
        await self._closes(job_id, to_close)
        await self._open_steps(job_id, to_extend)
        if target is not None:
            if changed and not self.batches.failed(job_id):
                # Last: a status read before the environments never claims more than they show.
                await self.batches.add("jobs", _job_record(source), job_id=job_id)
            elif not changed:
                self.report.jobs.skipped += 1

    async def _environments(
        self, job_id: str, target_envs: dict[str, _Env]
    ) -> tuple[dict[str, tuple[int, str]], list[tuple[str, int]]]:
        """New environments go to the batches; returns those to close (steps there, closing time) and the
        open ones with steps to add (steps there)."""
        to_close: dict[str, tuple[int, str]] = {}
        to_extend: list[tuple[str, int]] = []
        async for env in self._envs(self.source, job_id):
            if self.batches.failed(job_id):
                break
            there = target_envs.pop(env.id, None)
            if there is None:
                record = {k: getattr(env, k) for k in ("id", "gym_id", "task_id", "metadata", "created_at")}
                await self.batches.add("environments", {**record, "job_id": job_id}, job_id=job_id, env_id=env.id)
            elif (reason := _env_conflict(env, there)) is not None:
                self._problem(job_id, "environment", env.id, reason)
                continue
            else:
                self.report.environments.skipped += 1
                self.report.steps.skipped += there.step_count
                if there.state == "closed":
                    self.report.trajectories.skipped += 1
                    continue
            have = 0 if there is None else there.step_count
            if env.state == "closed":
                to_close[env.id] = (have, env.closed_at or "")
            elif env.step_count > have:
                to_extend.append((env.id, have))
        return to_close, to_extend

    async def _closes(self, job_id: str, to_close: dict[str, tuple[int, str]]) -> None:
        """The closed environments' missing steps and closes, in the source's closing order."""
        if len(to_close) <= SELECTIVE_CLOSES:
            for env_id in sorted(to_close, key=lambda e: to_close[e][1]):
                found = await _api.get_trajectory_json(self.source, env_id)
                await self._close(job_id, found, to_close[env_id][0])
            return
        cursor: str | None = None
        while to_close and not self.batches.failed(job_id):
            page, cursor = await _api.list_job_trajectories_json(self.source, job_id, limit=SCAN_PAGE, cursor=cursor)
            for found in page:
                there = to_close.pop(str(found["id"]), None)
                if there is not None:
                    await self._close(job_id, found, there[0])
            if cursor is None:
                break
        for env_id in to_close:
            self._problem(job_id, "close", env_id, "listed as closed at the source, but its trajectory is not there")

    async def _close(self, job_id: str, trajectory: dict[str, Any], have: int) -> None:
        env_id = str(trajectory["id"])
        steps: list[dict[str, Any]] = trajectory["trajectory"]
        if len(steps) > have:
            await self.batches.add_steps(job_id, env_id, have, steps[have:])
        record = {k: trajectory.get(k) for k in ("reward", "logs", "error", "error_kind", "closed_at")}
        record.update(env_id=env_id, step_count=len(steps))
        await self.batches.add("closes", record, job_id=job_id, env_id=env_id)

    async def _open_steps(self, job_id: str, to_extend: list[tuple[str, int]]) -> None:
        """The steps the target lacks of environments still open at the source (as many as there are now)."""
        for env_id, offset in to_extend:
            while not self.batches.failed(job_id, env_id):
                page = await _api.list_environment_steps(self.source, env_id, offset=offset, limit=STEP_PAGE_MAX)
                steps: list[dict[str, Any]] = page["steps"]
                if steps:
                    await self.batches.add_steps(job_id, env_id, offset, steps)
                    offset += len(steps)
                if not steps or offset >= int(page["step_count"]):
                    break


def _job_record(job: _Job) -> dict[str, Any]:
    record = job.model_dump()
    if job.heartbeat_at is not None:
        # How old the heartbeat is now, by this machine's clock (the embedded default's own): the target
        # counts its lease from that, in its own clock.
        then = datetime.fromisoformat(job.heartbeat_at).timestamp()
        record["heartbeat_age"] = max(0.0, time.time() - then)
    return record


def _describe(settings: Settings) -> str:
    if settings.target == "embedded":
        return f"the embedded store {settings.database_path}"
    return str(settings.resolved_base_url)
