"""Leases: a running job is held by heartbeats; when they stop for longer than the lease, it crashed.

A job's status is evaluated when read (`effective_status`: `running` with an expired lease reads as
`crashed`), and persisted by a sweep (`sweep`), which also closes the job's open environments as
trajectories with `error_kind: crashed`, keeping their steps. A job holds no lease until its first
heartbeat, so a client that never sends one never sees its job crash.

A job copied here by `hud sync` while it runs elsewhere (an import) has its heartbeats at the other
store: its lease reads `relayed_heartbeat_at` (that heartbeat in this server's clock, so the two
stores' clocks need not agree), and its crash is never persisted here: it reads `crashed` until an
import brings news, and its environments are closed by imports only, as at the other store.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, case, literal_column, or_, select, update

from hud.server._render import duration, now
from hud.server._sql import Statement
from hud.server._tables import environments, jobs, stored_gym, trajectories

__all__ = [
    "CRASHED",
    "RUNNING",
    "SWEEP_BATCH",
    "close_open_environments",
    "crash_job",
    "effective_status",
    "expired",
    "expired_jobs",
    "relay_expired",
    "sweep",
]

#: Jobs crashed per sweep transaction, so one sweep never holds the writer for long.
SWEEP_BATCH = 50
# Constants compiled into the SQL, not bound: the precompiled statements (`_sql.Statement`) bind
# every parameter by name.
RUNNING: ColumnElement[str] = literal_column("'running'")
CRASHED: ColumnElement[str] = literal_column("'crashed'")


def expired(cutoff: Any) -> ColumnElement[bool]:
    """A `running` job whose heartbeats come here, the last older than `cutoff` (seconds since the epoch):
    its crash is persisted (`crash_job`)."""
    return and_(jobs.c.status == RUNNING, jobs.c.relayed_heartbeat_at.is_(None), jobs.c.heartbeat_at < cutoff)


def relay_expired(cutoff: Any) -> ColumnElement[bool]:
    """A `running` job copied here while it runs elsewhere, whose last heartbeat brought by an import
    is older than `cutoff`: it reads `crashed`, and nothing is persisted."""
    return and_(jobs.c.status == RUNNING, jobs.c.relayed_heartbeat_at < cutoff)


def effective_status(cutoff: Any) -> ColumnElement[str]:
    """The status as readers see it: `crashed` for a running job whose lease ran out."""
    return case((or_(expired(cutoff), relay_expired(cutoff)), CRASHED), else_=jobs.c.status)


_e = environments.c
_close_open = Statement(
    update(environments)
    .where(_e.job_id == bindparam("jid"), _e.account == bindparam("acct"), _e.closed_at.is_(None))
    .values(closed_at=bindparam("now"))
    .returning(
        _e.id, _e.gym_id, _e.task_id, _e.metadata, _e.created_at, _e.step_count, _e.step_bytes, _e.max_step_bytes
    )
)
_insert_trajectory = Statement(trajectories.insert())
_crash = Statement(
    update(jobs)
    .where(jobs.c.id == bindparam("jid"), jobs.c.account == bindparam("acct"), expired(bindparam("cutoff")))
    .values(status=CRASHED)
)


def close_open_environments(conn: Connection, account: str, job_id: str, kind: str, error: str) -> int:
    """Closes every open environment of a job as a trajectory with `error_kind=kind`; returns how many."""
    closed_at = now()
    rows = _close_open.all(conn, {"jid": job_id, "acct": account, "now": closed_at})
    _insert_trajectory.run_many(
        conn,
        [
            {
                "id": env_id,
                "account": account,
                "job_id": job_id,
                "reward": None,
                "logs": None,
                "error": error,
                "step_count": step_count,
                "created_at": created_at,
                "task_id": task_id,
                "gym_id": stored_gym(gym_id),
                "metadata": metadata,
                "closed_at": closed_at,
                "error_kind": kind,
                "duration": duration(created_at, closed_at),
                "size_bytes": int(step_bytes) + len(error.encode("utf-8")),
                "max_step_bytes": int(max_step_bytes),
            }
            for env_id, gym_id, task_id, metadata, created_at, step_count, step_bytes, max_step_bytes in rows
        ],
    )
    return len(rows)


def crash_job(conn: Connection, account: str, job_id: str, lease: float) -> bool:
    """Persists one job's crash if its lease ran out (and no heartbeat came meanwhile)."""
    if not _crash.run(conn, {"jid": job_id, "acct": account, "cutoff": time.time() - lease}):
        return False
    close_open_environments(
        conn, account, job_id, "crashed", f"crashed: the job sent no heartbeat for more than {lease:g} s"
    )
    return True


def expired_jobs(conn: Connection, lease: float) -> list[tuple[str, str]]:
    """(job id, account) of up to SWEEP_BATCH running jobs whose lease ran out (a read)."""
    query = select(jobs.c.id, jobs.c.account).where(expired(time.time() - lease)).limit(SWEEP_BATCH)
    return [(str(job_id), str(account)) for job_id, account in conn.execute(query)]


def sweep(conn: Connection, found: list[tuple[str, str]], lease: float) -> int:
    """Persists the crash of the jobs `expired_jobs` found (those still expired); returns how many."""
    return sum(crash_job(conn, account, job_id, lease) for job_id, account in found)
