"""Trajectory operations: one by id, and a job's trajectories a page (or a streamed batch) at a time."""

from __future__ import annotations

import time
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select

from hud.server._cursors import decode_cursor, encode_cursor
from hud.server._errors import NotFound
from hud.server._operations.leases import expired
from hud.server._render import trajectory_json
from hud.server._sql import Statement
from hud.server._tables import jobs, steps, trajectories

__all__ = ["STREAM_BATCH", "FirstPage", "first_page", "get_trajectory", "steps_of", "trajectory_page"]

#: Trajectories per batch when a job's trajectories are answered unpaged (streamed).
STREAM_BATCH = 500

_t = trajectories.c
_traj_cols = (
    _t.seq,
    _t.id,
    _t.reward,
    _t.logs,
    _t.error,
    _t.step_count,
    _t.task_id,
    _t.gym_id,
    _t.metadata,
    _t.created_at,
    _t.closed_at,
    _t.error_kind,
)
_get_trajectory = select(*_traj_cols).where(
    trajectories.c.id == bindparam("id"), trajectories.c.account == bindparam("account")
)
_steps_of = Statement(select(steps.c.data).where(steps.c.env_id == bindparam("env_id")).order_by(steps.c.position))
_job_state = Statement(
    select(jobs.c.seq, expired(bindparam("cutoff"))).where(
        jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account")
    )
)
_page = (
    select(*_traj_cols)
    .where(
        trajectories.c.job_id == bindparam("job_id"),
        trajectories.c.account == bindparam("account"),
        trajectories.c.seq > bindparam("after"),
    )
    .order_by(trajectories.c.seq)
    .limit(bindparam("n"))
)
# The steps of a whole page in one query, by the page's seq range (no N+1, no huge IN list).
_page_steps = (
    select(steps.c.env_id, steps.c.data)
    .select_from(trajectories.join(steps, steps.c.env_id == trajectories.c.id))
    .where(
        trajectories.c.job_id == bindparam("job_id"),
        trajectories.c.account == bindparam("account"),
        trajectories.c.seq > bindparam("after"),
        trajectories.c.seq <= bindparam("last"),
    )
    .order_by(trajectories.c.seq, steps.c.position)
)


def steps_of(conn: Connection, env_id: str) -> list[str]:
    """The stored JSON texts of an environment's steps, in order."""
    return [data for (data,) in _steps_of.all(conn, {"env_id": env_id})]


def get_trajectory(conn: Connection, account: str, trajectory_id: str) -> str:
    """One trajectory, or 404."""
    row = conn.execute(_get_trajectory, {"id": trajectory_id, "account": account}).first()
    if row is None:
        raise NotFound("trajectory", trajectory_id)
    return trajectory_json(row, steps_of(conn, row.id) if row.step_count else [])


def trajectory_page(conn: Connection, account: str, job_id: str, after: int, n: int) -> tuple[list[str], list[int]]:
    """Up to `n` trajectories after seq `after`, as JSON texts, with their seqs."""
    rows = conn.execute(_page, {"job_id": job_id, "account": account, "after": after, "n": n}).all()
    if not rows:
        return [], []
    by_env: dict[str, list[str]] = {}
    if any(r.step_count for r in rows):
        params = {"job_id": job_id, "account": account, "after": after, "last": rows[-1].seq}
        for env_id, data in conn.execute(_page_steps, params):
            by_env.setdefault(env_id, []).append(data)
    texts = [trajectory_json(r, by_env.get(r.id, ())) for r in rows]
    return texts, [int(r.seq) for r in rows]


class FirstPage(NamedTuple):
    """The start of an answer to `GET /v2/jobs/{job_id}/trajectories`."""

    body: bytes
    """The first chunk of the body: the whole array, or its start when `resume_after` is set."""
    next_cursor: str | None
    """The X-Next-Cursor header, when paged and more follow."""
    resume_after: int | None
    """Unpaged with more to come: stream the rest after this seq (`trajectory_page`), then `]`."""
    expired: bool = False
    """The job's lease ran out: nothing was read; sweep the job (`leases.crash_job`), then ask again."""


def first_page(
    conn: Connection, account: str, job_id: str, limit: int | None, cursor: str | None, lease: float
) -> FirstPage:
    """With `limit`, one page; without, the first streamed batch (404 for an unknown job either way)."""
    job = _job_state.one(conn, {"id": job_id, "account": account, "cutoff": time.time() - lease})
    if job is None:
        raise NotFound("job", job_id)
    if job[1]:
        return FirstPage(b"", None, None, expired=True)
    after = decode_cursor(cursor) or 0
    n = limit if limit is not None else STREAM_BATCH
    # One more than asked tells whether more follow.
    items, seqs = trajectory_page(conn, account, job_id, after, n + 1)
    more = len(items) > n
    items, seqs = items[:n], seqs[:n]
    if limit is not None:
        next_cursor = encode_cursor(seqs[-1]) if more else None
        return FirstPage(("[" + ",".join(items) + "]").encode(), next_cursor, None)
    if not more:
        return FirstPage(("[" + ",".join(items) + "]").encode(), None, None)
    return FirstPage(("[" + ",".join(items)).encode(), None, seqs[-1])
