"""Environment operations: create, append steps, close (which leaves the trajectory), list a job's."""

from __future__ import annotations

import json
import time
import uuid
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from hud.server._cursors import decode_cursor, encode_cursor
from hud.server._errors import ApiError, NotFound
from hud.server._operations.jobs import check_replay, job_exists
from hud.server._operations.leases import expired
from hud.server._operations.trajectories import steps_of
from hud.server._render import dumps, now, same_json, trajectory_json
from hud.server._requests import EnvironmentClose, EnvironmentCreate, StepsAppend
from hud.server._sql import Statement
from hud.server._tables import environments, jobs, steps, trajectories

__all__ = [
    "EnvironmentPage",
    "append_steps",
    "close_environment",
    "create_environment",
    "list_environments",
    "list_steps",
    "step_texts",
]

_e = environments.c
_insert_env = Statement(environments.insert())
_env_identity = Statement(
    select(_e.account, _e.job_id, _e.gym_id, _e.task_id, _e.metadata).where(_e.id == bindparam("id"))
)
_env_state = Statement(select(_e.closed_at).where(_e.id == bindparam("id"), _e.account == bindparam("account")))
_bump_steps = Statement(
    update(environments)
    .where(_e.id == bindparam("env_id"), _e.account == bindparam("acct"), _e.closed_at.is_(None))
    .values(step_count=_e.step_count + bindparam("n"))
    .returning(_e.step_count)
)
_insert_steps = Statement(steps.insert())
_close_env = Statement(
    update(environments)
    .where(_e.id == bindparam("env_id"), _e.account == bindparam("acct"), _e.closed_at.is_(None))
    .values(closed_at=bindparam("now"))
    .returning(_e.job_id, _e.step_count, _e.gym_id, _e.task_id, _e.metadata, _e.created_at)
)
_insert_trajectory = Statement(trajectories.insert())
_job_state = Statement(
    select(jobs.c.seq, expired(bindparam("cutoff"))).where(
        jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account")
    )
)


def create_environment(conn: Connection, account: str, body: EnvironmentCreate) -> str:
    """Opens an environment, linked to the job `run_id` when given (404 when the account has no such job).

    With the client's `id`, a repeat of the same create is a replay; the same id with other content,
    or another account's, answers 409.
    """
    run_id = body.run_id
    if body.id is not None:
        existing = _env_identity.one(conn, {"id": body.id})
        if existing is not None:
            owner, job_id, gym_id, task_id, metadata = existing
            same = (job_id, gym_id, task_id) == (run_id, body.gym_id, body.task_id)
            check_replay("environment", body.id, owner == account, same and same_json(metadata, body.metadata))
            return dumps({"id": body.id, "metadata": body.metadata})
    if run_id is not None and not job_exists(conn, account, run_id):
        raise NotFound("job (run_id)", run_id)
    env_id = body.id or str(uuid.uuid4())
    _insert_env.run(
        conn,
        {
            "id": env_id,
            "account": account,
            "job_id": run_id,
            "gym_id": body.gym_id,
            "task_id": body.task_id,
            "metadata": None if body.metadata is None else dumps(body.metadata),
            "step_count": 0,
            "closed_at": None,
            "created_at": now(),
        },
    )
    return dumps({"id": env_id, "metadata": body.metadata})


def _closed_or_missing(conn: Connection, account: str, env_id: str) -> ApiError:
    if _env_state.one(conn, {"id": env_id, "account": account}) is None:
        return NotFound("environment", env_id)
    return ApiError(409, f"environment {env_id!r} is closed: create a new environment")


def step_texts(body: StepsAppend) -> list[str]:
    """The steps as the JSON texts they are stored as (computed before the transaction)."""
    return [dumps(step.model_dump()) for step in body.steps]


def append_steps(conn: Connection, account: str, env_id: str, texts: list[str]) -> str:
    """Appends steps (their stored texts, from `step_texts`) in order to an open environment."""
    bumped = _bump_steps.one(conn, {"env_id": env_id, "acct": account, "n": len(texts)})
    if bumped is None:
        raise _closed_or_missing(conn, account, env_id)
    count = int(bumped[0])
    first = count - len(texts)
    _insert_steps.run_many(conn, [{"env_id": env_id, "position": first + i, "data": t} for i, t in enumerate(texts)])
    return dumps({"id": env_id, "step_count": count})


_step_count = Statement(select(_e.step_count).where(_e.id == bindparam("id"), _e.account == bindparam("account")))
# A bound LIMIT is not a named bindparam to `Statement`: this read runs through SQLAlchemy.
_steps_from = (
    select(steps.c.data)
    .where(steps.c.env_id == bindparam("env_id"), steps.c.position >= bindparam("offset"))
    .order_by(steps.c.position)
    .limit(bindparam("n"))
)


def list_steps(conn: Connection, account: str, env_id: str, offset: int, limit: int) -> str:
    """Up to `limit` of an environment's steps from position `offset`, with its step count (404 if unknown)."""
    found = _step_count.one(conn, {"id": env_id, "account": account})
    if found is None:
        raise NotFound("environment", env_id)
    count = int(found[0])
    texts = (
        [data for (data,) in conn.execute(_steps_from, {"env_id": env_id, "offset": offset, "n": limit})]
        if offset < count
        else []
    )
    return f'{{"id":{dumps(env_id)},"step_count":{count},"offset":{offset},"steps":[{",".join(texts)}]}}'


class _Closed(NamedTuple):
    """The trajectory row just written by a close, as `trajectory_json` reads it."""

    id: str
    reward: float | None
    logs: str | None
    error: str | None
    task_id: str | None
    gym_id: str | None
    metadata: str | None
    created_at: str | None
    closed_at: str | None
    error_kind: str | None


def close_environment(conn: Connection, account: str, env_id: str, body: EnvironmentClose) -> str:
    """Closes an open environment; its trajectory row appears (with the environment's identity) and is answered."""
    closed_at = now()
    closed = _close_env.one(conn, {"env_id": env_id, "acct": account, "now": closed_at})
    if closed is None:
        raise _closed_or_missing(conn, account, env_id)
    job_id, step_count, gym_id, task_id, metadata, created_at = closed
    row = _Closed(
        env_id, body.reward, body.logs, body.error, task_id, gym_id, metadata, created_at, closed_at, body.error_kind
    )
    _insert_trajectory.run(conn, {**row._asdict(), "account": account, "job_id": job_id, "step_count": step_count})
    # The row just written is known: answer from it instead of reading it back (one query less).
    return trajectory_json(row, steps_of(conn, env_id) if step_count else [])


class EnvironmentPage(NamedTuple):
    """A page of a job's environments, or word that the job's lease ran out (sweep it first)."""

    body: str | None
    expired: bool


def list_environments(
    conn: Connection,
    account: str,
    job_id: str,
    *,
    limit: int,
    cursor: str | None,
    state: str | None,
    lease: float,
) -> EnvironmentPage:
    """One page of the job's environments, oldest first (404 for an unknown job)."""
    job = _job_state.one(conn, {"id": job_id, "account": account, "cutoff": time.time() - lease})
    if job is None:
        raise NotFound("job", job_id)
    if job[1]:
        return EnvironmentPage(None, True)
    scope = ("environments", account, job_id, state or "")
    after = decode_cursor(cursor, scope) or 0
    query = select(_e.seq, _e.id, _e.gym_id, _e.task_id, _e.metadata, _e.created_at, _e.closed_at, _e.step_count).where(
        _e.job_id == job_id, _e.account == account, _e.seq > after
    )
    if state == "open":
        query = query.where(_e.closed_at.is_(None))
    elif state == "closed":
        query = query.where(_e.closed_at.is_not(None))
    rows = conn.execute(query.order_by(_e.seq).limit(limit + 1)).all()
    items = [
        {
            "id": r.id,
            "job_id": job_id,
            "gym_id": r.gym_id,
            "task_id": r.task_id,
            "metadata": None if r.metadata is None else json.loads(r.metadata),
            "created_at": r.created_at,
            "closed_at": r.closed_at,
            "step_count": r.step_count,
            "state": "open" if r.closed_at is None else "closed",
        }
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1].seq, scope) if len(rows) > limit else None
    return EnvironmentPage(dumps({"items": items, "next_cursor": next_cursor}), False)
