"""Environment operations: create, append steps, close (which leaves the trajectory), list a job's."""

from __future__ import annotations

import json
import time
import uuid
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, case, select, update

from hud._wire import MAX_ENVIRONMENT_BYTES, MAX_ENVIRONMENT_STEPS, MAX_STEP_BYTES
from hud.server._cursors import decode_cursor, encode_cursor
from hud.server._errors import ApiError, NotFound
from hud.server._operations.jobs import check_replay, job_exists
from hud.server._operations.leases import expired
from hud.server._render import TRAJECTORY_COLUMNS, TrajectoryHead, dumps, duration, now, same_json, summary_json
from hud.server._requests import EnvironmentClose, EnvironmentCreate, StepsAppend
from hud.server._sql import Statement
from hud.server._tables import NO_GYM, environments, jobs, steps, stored_gym, trajectories

__all__ = [
    "EnvironmentPage",
    "StepTexts",
    "append_steps",
    "close_environment",
    "closed_answer",
    "create_environment",
    "environment_answer",
    "list_environments",
    "list_steps",
    "step_texts",
]

_insert_env = Statement(environments.insert())
_e = environments.c
_env_identity = Statement(
    select(_e.account, _e.job_id, _e.gym_id, _e.task_id, _e.metadata).where(_e.id == bindparam("id"))
)
_env_state = Statement(
    select(_e.closed_at, _e.step_count, _e.step_bytes).where(
        _e.id == bindparam("id"), _e.account == bindparam("account")
    )
)
# Within the environment's limits or not at all: the check and the count are one statement.
_bump_steps = Statement(
    update(environments)
    .where(
        _e.id == bindparam("env_id"),
        _e.account == bindparam("acct"),
        _e.closed_at.is_(None),
        _e.step_count + bindparam("n") <= bindparam("max_steps"),
        _e.step_bytes + bindparam("bytes") <= bindparam("max_bytes"),
    )
    .values(
        step_count=_e.step_count + bindparam("n"),
        step_bytes=_e.step_bytes + bindparam("bytes"),
        max_step_bytes=case((_e.max_step_bytes < bindparam("largest"), bindparam("largest")), else_=_e.max_step_bytes),
    )
    .returning(_e.step_count)
)
_insert_steps = Statement(steps.insert())
_close_env = Statement(
    update(environments)
    .where(
        environments.c.id == bindparam("env_id"),
        environments.c.account == bindparam("acct"),
        environments.c.closed_at.is_(None),
    )
    .values(closed_at=bindparam("now"))
    .returning(
        _e.job_id,
        _e.step_count,
        _e.step_bytes,
        _e.max_step_bytes,
        _e.gym_id,
        _e.task_id,
        _e.metadata,
        _e.created_at,
    )
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
            same = (job_id, stored_gym(gym_id), task_id) == (run_id, body.gym_id, body.task_id)
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
            "gym_id": NO_GYM if body.gym_id is None else body.gym_id,
            "task_id": body.task_id,
            "metadata": None if body.metadata is None else dumps(body.metadata),
            "step_count": 0,
            "closed_at": None,
            "created_at": now(),
        },
    )
    return dumps({"id": env_id, "metadata": body.metadata})


def _refused(conn: Connection, account: str, env_id: str, steps: StepTexts | None = None) -> ApiError:
    state = _env_state.one(conn, {"id": env_id, "account": account})
    if state is None:
        return NotFound("environment", env_id)
    closed_at, count, size = state
    if closed_at is not None or steps is None:
        return ApiError(409, f"environment {env_id!r} is closed: create a new environment")
    return ApiError(
        409,
        f"environment {env_id!r} holds {count} steps ({size} bytes); {len(steps.texts)} more ({steps.size} bytes) "
        f"would take it over its limits of {MAX_ENVIRONMENT_STEPS} steps and {MAX_ENVIRONMENT_BYTES} bytes: "
        "close it and record the rest in a new environment, or store bulky observations elsewhere and send their URL",
    )


class StepTexts(NamedTuple):
    """Steps as the JSON texts they are stored as, with their sizes in bytes (see `step_texts`)."""

    texts: list[str]
    size: int
    largest: int


def step_texts(body: StepsAppend) -> StepTexts:
    """The steps' stored texts and sizes, computed before the transaction; 422 for a step over the limit."""
    texts = [dumps(step.model_dump()) for step in body.steps]
    sizes = [len(text.encode("utf-8")) for text in texts]
    for i, size in enumerate(sizes):
        if size > MAX_STEP_BYTES:
            raise ApiError(
                422,
                f"steps.{i} is {size} bytes as JSON; the limit is {MAX_STEP_BYTES}: store bulky observations "
                "elsewhere and send their URL in observation_url",
            )
    return StepTexts(texts, sum(sizes), max(sizes))


def append_steps(conn: Connection, account: str, env_id: str, steps: StepTexts) -> str:
    """Appends steps (from `step_texts`) in order to an open environment, within its limits (409 beyond)."""
    texts = steps.texts
    bumped = _bump_steps.one(
        conn,
        {
            "env_id": env_id,
            "acct": account,
            "n": len(texts),
            "bytes": steps.size,
            "largest": steps.largest,
            "max_steps": MAX_ENVIRONMENT_STEPS,
            "max_bytes": MAX_ENVIRONMENT_BYTES,
        },
    )
    if bumped is None:
        raise _refused(conn, account, env_id, steps)
    count = int(bumped[0])
    first = count - len(texts)
    _insert_steps.run_many(conn, [{"env_id": env_id, "position": first + i, "data": t} for i, t in enumerate(texts)])
    return dumps({"id": env_id, "step_count": count})


def _octets(text: str | None) -> int:
    return 0 if text is None else len(text.encode("utf-8"))


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


def close_environment(conn: Connection, account: str, env_id: str, body: EnvironmentClose) -> str:
    """Closes an open environment; its trajectory row appears, and its summary (no steps) is answered."""
    closed_at = now()
    closed = _close_env.one(conn, {"env_id": env_id, "acct": account, "now": closed_at})
    if closed is None:
        raise _refused(conn, account, env_id)
    job_id, step_count, step_bytes, max_step_bytes, gym_id, task_id, metadata, created_at = closed
    # The trajectory carries its environment's identity, so reading it needs no join.
    head = TrajectoryHead(
        env_id,
        body.reward,
        body.logs,
        body.error,
        task_id,
        stored_gym(gym_id),
        metadata,
        created_at,
        closed_at,
        body.error_kind,
    )
    _insert_trajectory.run(
        conn,
        {
            **head._asdict(),
            "account": account,
            "job_id": job_id,
            "step_count": step_count,
            "size_bytes": int(step_bytes) + _octets(body.logs) + _octets(body.error),
            "max_step_bytes": int(max_step_bytes),
            "duration": duration(created_at, closed_at),
        },
    )
    # Not the steps: an answer (and its idempotent replay) must not grow with the trajectory.
    return summary_json(head, step_count)


_env_answer = Statement(select(_e.id, _e.metadata).where(_e.id == bindparam("id"), _e.account == bindparam("account")))
_t = trajectories.c
_closed_answer = Statement(
    select(*(_t[name] for name in TRAJECTORY_COLUMNS), _t.step_count).where(
        _t.id == bindparam("id"), _t.account == bindparam("account")
    )
)


def environment_answer(conn: Connection, account: str, env_id: str) -> str:
    """What creating the environment answered (an idempotent replay; its metadata never changes)."""
    row = _env_answer.one(conn, {"id": env_id, "account": account})
    if row is None:
        raise NotFound("environment", env_id)
    return f'{{"id":{dumps(row[0])},"metadata":{"null" if row[1] is None else row[1]}}}'


def closed_answer(conn: Connection, account: str, env_id: str) -> str:
    """What closing the environment answered (an idempotent replay; a trajectory never changes)."""
    row = _closed_answer.one(conn, {"id": env_id, "account": account})
    if row is None:
        raise NotFound("trajectory", env_id)
    return summary_json(TrajectoryHead(*row[:-1]), row[-1])


class EnvironmentPage(NamedTuple):
    """A page of a job's environments, or word that the job's lease ran out (crash it first)."""

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
    after = decode_cursor(cursor) or 0
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
            "gym_id": stored_gym(r.gym_id),
            "task_id": r.task_id,
            "metadata": None if r.metadata is None else json.loads(r.metadata),
            "created_at": r.created_at,
            "closed_at": r.closed_at,
            "step_count": r.step_count,
            "state": "open" if r.closed_at is None else "closed",
        }
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return EnvironmentPage(dumps({"items": items, "next_cursor": next_cursor}), False)
