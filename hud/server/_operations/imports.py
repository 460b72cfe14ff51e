"""Import (an extension): records copied from another store by `hud sync`, written with their ids and times.

Every record is compared with what is here before anything of it is written: the same content is
`unchanged`, other content a conflict (listed in the answer, not written), the rest is written. So
a batch can be sent again after any failure (a lost answer, a killed client, a restarted server)
and nothing is written twice. One account's imports run one at a time (PostgreSQL: an advisory
lock; SQLite: the one writer), so two copies of one batch never race each other.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update

from hud._wire import FINAL_STATUSES, MAX_ENVIRONMENT_BYTES, MAX_ENVIRONMENT_STEPS, MAX_STEP_BYTES
from hud.server._import_body import ImportBatch, ImportClose, ImportEnvironment, ImportJob, ImportSteps
from hud.server._render import dumps, duration, iso_time, now, same_json
from hud.server._sql import Statement
from hud.server._tables import NO_GYM, environments, jobs, steps, stored_gym, trajectories

__all__ = ["import_batch"]

_j = jobs.c
_e = environments.c
_t = trajectories.c
_job_row = Statement(
    select(
        _j.account, _j.name, _j.gym_id, _j.evalset_id, _j.created_at, _j.metadata, _j.status, _j.error,
        _j.heartbeat_at, _j.synced_at,
    ).where(_j.id == bindparam("id"))
)  # fmt: skip
_insert_job = Statement(jobs.insert())
_update_job = Statement(
    update(jobs)
    .where(_j.id == bindparam("jid"))
    .values(
        metadata=bindparam("metadata"),
        status=bindparam("status"),
        error=bindparam("error"),
        heartbeat_at=bindparam("heartbeat_at"),
        relayed_heartbeat_at=bindparam("relayed"),
        synced_at=bindparam("synced_at"),
    )
)
_env_row = Statement(
    select(
        _e.account, _e.job_id, _e.gym_id, _e.task_id, _e.metadata, _e.created_at, _e.step_count, _e.closed_at,
        _e.step_bytes, _e.max_step_bytes,
    ).where(_e.id == bindparam("id"))
)  # fmt: skip
_insert_env = Statement(environments.insert())
_stored_steps = Statement(
    select(steps.c.data)
    .where(
        steps.c.env_id == bindparam("env_id"),
        steps.c.position >= bindparam("low"),
        steps.c.position < bindparam("high"),
    )
    .order_by(steps.c.position)
)
_bump_steps = Statement(
    update(environments)
    .where(_e.id == bindparam("env_id"), _e.step_count == bindparam("count"), _e.closed_at.is_(None))
    .values(
        step_count=bindparam("new_count"), step_bytes=bindparam("new_bytes"), max_step_bytes=bindparam("new_largest")
    )
)
_insert_steps = Statement(steps.insert())
_close_env = Statement(
    update(environments)
    .where(_e.id == bindparam("env_id"), _e.step_count == bindparam("count"), _e.closed_at.is_(None))
    .values(closed_at=bindparam("closed_at"))
)
_trajectory_row = Statement(
    select(_t.reward, _t.logs, _t.error, _t.error_kind, _t.closed_at, _t.step_count).where(_t.id == bindparam("id"))
)
_insert_trajectory = Statement(trajectories.insert())
_lock = Statement(text("SELECT pg_advisory_xact_lock(:k)"))


def _octets(text: str | None) -> int:
    return 0 if text is None else len(text.encode("utf-8"))


@dataclass
class _Import:
    """What one batch did, and the objects whose later records it skips."""

    counts: dict[str, list[int]] = field(
        default_factory=lambda: {kind: [0, 0] for kind in ("jobs", "environments", "steps", "closes")}
    )
    conflicts: list[dict[str, str]] = field(default_factory=list)
    skipped_jobs: set[str] = field(default_factory=set)
    skipped_envs: set[str] = field(default_factory=set)

    def written(self, kind: str, n: int = 1) -> None:
        self.counts[kind][0] += n

    def unchanged(self, kind: str, n: int = 1) -> None:
        self.counts[kind][1] += n

    def conflict(self, kind: str, object_id: str, detail: str) -> None:
        self.conflicts.append({"kind": kind, "id": object_id, "detail": detail})
        (self.skipped_jobs if kind == "job" else self.skipped_envs).add(object_id)

    def answer(self) -> str:
        body: dict[str, Any] = {
            kind: {"written": written, "unchanged": unchanged} for kind, (written, unchanged) in self.counts.items()
        }
        body["conflicts"] = self.conflicts
        return dumps(body)


def import_batch(conn: Connection, account: str, body: ImportBatch) -> str:
    """Writes a batch of records (jobs, then environments, then steps, then closes); answers the counts."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.sha256(f"hud-import\x00{account}".encode("utf-8", "surrogatepass")).digest()
        _lock.one(conn, {"k": int.from_bytes(digest[:8], "big", signed=True)})
    result = _Import()
    for job in body.jobs:
        _import_job(conn, account, job, result)
    for env in body.environments:
        _import_environment(conn, account, env, result)
    for record in body.steps:
        if record.env_id not in result.skipped_envs:
            _import_steps(conn, account, record, result)
    for close in body.closes:
        if close.env_id not in result.skipped_envs:
            _import_close(conn, account, close, result)
    return result.answer()


def _epoch(timestamp: str | None) -> float | None:
    return None if timestamp is None else datetime.fromisoformat(timestamp.replace("z", "Z")).timestamp()


def _import_job(conn: Connection, account: str, job: ImportJob, result: _Import) -> None:
    heartbeat = _epoch(job.heartbeat_at)
    # The other store's heartbeat in this server's clock: its age there, counted back from now here.
    relayed = None if heartbeat is None or job.heartbeat_age is None else time.time() - job.heartbeat_age
    row = _job_row.one(conn, {"id": job.id})
    if row is None:
        _insert_job.run(
            conn,
            {
                "id": job.id,
                "account": account,
                "name": job.name,
                "status": job.status,
                "metadata": None if job.metadata is None else dumps(job.metadata),
                "gym_id": job.gym_id,
                "evalset_id": job.evalset_id,
                "created_at": job.created_at,
                "error": job.error,
                "heartbeat_at": heartbeat,
                "synced_at": now(),
                "relayed_heartbeat_at": relayed,
            },
        )
        result.written("jobs")
        return
    owner, name, gym_id, evalset_id, created_at, metadata, status, error, heartbeat_at, synced_at = row
    if owner != account:
        result.conflict("job", job.id, "the id is taken by a job of another account")
        return
    if (name, gym_id, evalset_id, created_at) != (job.name, job.gym_id, job.evalset_id, job.created_at):
        result.conflict("job", job.id, "a job with this id is here with another name, gym, evalset or creation time")
        return
    same = (status, error) == (job.status, job.error) and same_json(metadata, job.metadata)
    if same and iso_time(heartbeat_at) == iso_time(heartbeat):
        result.unchanged("jobs")
        return
    if synced_at is None:
        result.conflict("job", job.id, "the job was recorded here, not copied here: importing never overwrites it")
        return
    if status in FINAL_STATUSES and status != job.status:
        result.conflict(
            "job",
            job.id,
            f"the job is {status} here and {job.status} at the source: importing never reverts a final status",
        )
        return
    _update_job.run(
        conn,
        {
            "jid": job.id,
            "metadata": None if job.metadata is None else dumps(job.metadata),
            "status": job.status,
            "error": job.error,
            "heartbeat_at": heartbeat,
            "relayed": relayed,
            "synced_at": now(),
        },
    )
    result.written("jobs")


def _import_environment(conn: Connection, account: str, env: ImportEnvironment, result: _Import) -> None:
    if env.job_id in result.skipped_jobs:
        result.skipped_envs.add(env.id)
        return
    row = _env_row.one(conn, {"id": env.id})
    if row is None:
        job = _job_row.one(conn, {"id": env.job_id})
        if job is None or job[0] != account:
            result.conflict("environment", env.id, f"its job {env.job_id!r} is not here: import the job first")
            return
        _insert_env.run(
            conn,
            {
                "id": env.id,
                "account": account,
                "job_id": env.job_id,
                "gym_id": NO_GYM if env.gym_id is None else env.gym_id,
                "task_id": env.task_id,
                "metadata": None if env.metadata is None else dumps(env.metadata),
                "step_count": 0,
                "closed_at": None,
                "created_at": env.created_at,
            },
        )
        result.written("environments")
        return
    owner, job_id, gym_id, task_id, metadata, created_at = row[:6]
    gym_id = stored_gym(gym_id)
    if owner != account:
        result.conflict("environment", env.id, "the id is taken by an environment of another account")
        return
    if (job_id, gym_id, task_id, created_at) != (env.job_id, env.gym_id, env.task_id, env.created_at) or not same_json(
        metadata, env.metadata
    ):
        result.conflict(
            "environment",
            env.id,
            "an environment with this id is here with another job, gym, task, metadata or creation time",
        )
        return
    result.unchanged("environments")


def _import_steps(conn: Connection, account: str, record: ImportSteps, result: _Import) -> None:
    env_id, position = record.env_id, record.position
    row = _env_row.one(conn, {"id": env_id})
    if row is None or row[0] != account:
        result.conflict("steps", env_id, "the environment is not here: import it first")
        return
    count, closed_at, size, largest = int(row[6]), row[7], int(row[8]), int(row[9])
    if position > count:
        result.conflict(
            "steps",
            env_id,
            f"the environment has {count} steps here and these start at {position}: send the steps before them first",
        )
        return
    texts = [dumps(step.model_dump()) for step in record.steps]
    overlap = min(len(texts), count - position)
    if overlap:
        stored = _stored_steps.all(conn, {"env_id": env_id, "low": position, "high": position + overlap})
        if [data for (data,) in stored] != texts[:overlap]:
            result.conflict(
                "steps", env_id, f"steps {position} to {position + overlap - 1} are here with other content"
            )
            return
        result.unchanged("steps", overlap)
    new = texts[overlap:]
    if not new:
        return
    if closed_at is not None:
        result.conflict("steps", env_id, f"the environment is closed here with {count} steps: steps cannot be added")
        return
    sizes = [len(data.encode("utf-8")) for data in new]
    too_large = next((i for i, n in enumerate(sizes) if n > MAX_STEP_BYTES), None)
    if too_large is not None:
        result.conflict(
            "steps", env_id, f"step {count + too_large} is {sizes[too_large]} bytes; the limit here is {MAX_STEP_BYTES}"
        )
        return
    if count + len(new) > MAX_ENVIRONMENT_STEPS or size + sum(sizes) > MAX_ENVIRONMENT_BYTES:
        result.conflict(
            "steps",
            env_id,
            f"{count + len(new)} steps ({size + sum(sizes)} bytes) are over this server's limits of "
            f"{MAX_ENVIRONMENT_STEPS} steps and {MAX_ENVIRONMENT_BYTES} bytes per environment",
        )
        return
    bump = {
        "env_id": env_id,
        "count": count,
        "new_count": count + len(new),
        "new_bytes": size + sum(sizes),
        "new_largest": max([largest, *sizes]),
    }
    if not _bump_steps.run(conn, bump):
        result.conflict("steps", env_id, "the environment changed here during the import: import again")
        return
    _insert_steps.run_many(
        conn, [{"env_id": env_id, "position": count + i, "data": data} for i, data in enumerate(new)]
    )
    result.written("steps", len(new))


def _import_close(conn: Connection, account: str, close: ImportClose, result: _Import) -> None:
    env_id = close.env_id
    row = _env_row.one(conn, {"id": env_id})
    if row is None or row[0] != account:
        result.conflict("close", env_id, "the environment is not here: import it first")
        return
    _owner, job_id, gym_id, task_id, metadata, created_at, count, closed_at, size, largest = row
    outcome = (close.reward, close.logs, close.error, close.error_kind, close.closed_at, close.step_count)
    if closed_at is not None:
        if _trajectory_row.one(conn, {"id": env_id}) != outcome:
            result.conflict("close", env_id, "the environment is closed here with another outcome or time")
            return
        result.unchanged("closes")
        return
    if count != close.step_count:
        result.conflict(
            "close", env_id, f"the environment has {count} of its {close.step_count} steps here: send the others first"
        )
        return
    if not _close_env.run(conn, {"env_id": env_id, "count": count, "closed_at": close.closed_at}):
        result.conflict("close", env_id, "the environment changed here during the import: import again")
        return
    _insert_trajectory.run(
        conn,
        {
            "id": env_id,
            "account": account,
            "job_id": job_id,
            "reward": close.reward,
            "logs": close.logs,
            "error": close.error,
            "step_count": count,
            "created_at": created_at,
            "task_id": task_id,
            "gym_id": stored_gym(gym_id),
            "metadata": metadata,
            "closed_at": close.closed_at,
            "error_kind": close.error_kind,
            # As a close here writes them: pages are planned from sizes, quantiles read durations.
            "size_bytes": int(size) + _octets(close.logs) + _octets(close.error),
            "max_step_bytes": int(largest),
            "duration": duration(created_at, close.closed_at),
        },
    )
    result.written("closes")
