"""Environment operations: create, append steps, close (which leaves the trajectory)."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, bindparam, select, update

from hud.server._errors import ApiError, NotFound
from hud.server._operations.jobs import job_exists, now
from hud.server._operations.trajectories import steps_of
from hud.server._render import dumps, trajectory_json
from hud.server._requests import EnvironmentClose, EnvironmentCreate, StepsAppend
from hud.server._sql import Statement
from hud.server._tables import NO_GYM, environments, steps, trajectories

__all__ = ["append_steps", "close_environment", "create_environment", "step_texts"]

_insert_env = Statement(environments.insert())
_env_state = Statement(
    select(environments.c.closed_at).where(
        environments.c.id == bindparam("id"), environments.c.account == bindparam("account")
    )
)
_bump_steps = Statement(
    update(environments)
    .where(
        environments.c.id == bindparam("env_id"),
        environments.c.account == bindparam("acct"),
        environments.c.closed_at.is_(None),
    )
    .values(step_count=environments.c.step_count + bindparam("n"))
    .returning(environments.c.step_count)
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
    .returning(environments.c.job_id, environments.c.step_count)
)
_insert_trajectory = Statement(trajectories.insert())


def create_environment(conn: Connection, account: str, body: EnvironmentCreate) -> str:
    """Opens an environment, linked to the job `run_id` when given (404 when the account has no such job)."""
    run_id = body.run_id
    if run_id is not None and not job_exists(conn, account, run_id):
        raise NotFound("job (run_id)", run_id)
    env_id = str(uuid.uuid4())
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


def close_environment(conn: Connection, account: str, env_id: str, body: EnvironmentClose) -> str:
    """Closes an open environment; its trajectory row appears and is answered."""
    closed_at = now()
    closed = _close_env.one(conn, {"env_id": env_id, "acct": account, "now": closed_at})
    if closed is None:
        raise _closed_or_missing(conn, account, env_id)
    job_id, step_count = closed
    _insert_trajectory.run(
        conn,
        {
            "id": env_id,
            "account": account,
            "job_id": job_id,
            "reward": body.reward,
            "logs": body.logs,
            "error": body.error,
            "step_count": step_count,
            "created_at": closed_at,
        },
    )
    # The row just written is known: answer from it instead of reading it back (one query less).
    texts = steps_of(conn, env_id) if step_count else []
    return trajectory_json(env_id, body.reward, body.logs, body.error, texts)
