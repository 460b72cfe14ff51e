"""Environment operations: create, append steps, close (which leaves the trajectory)."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, case, select, update

from hud._wire import MAX_ENVIRONMENT_BYTES, MAX_ENVIRONMENT_STEPS, MAX_STEP_BYTES
from hud.server._errors import ApiError, NotFound
from hud.server._operations.jobs import job_exists, now
from hud.server._render import dumps, summary_json
from hud.server._requests import EnvironmentClose, EnvironmentCreate, StepsAppend
from hud.server._sql import Statement
from hud.server._tables import NO_GYM, environments, steps, trajectories

__all__ = [
    "StepTexts",
    "append_steps",
    "close_environment",
    "closed_answer",
    "create_environment",
    "environment_answer",
    "step_texts",
]

_insert_env = Statement(environments.insert())
_e = environments.c
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
        environments.c.job_id, environments.c.step_count, environments.c.step_bytes, environments.c.max_step_bytes
    )
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


def close_environment(conn: Connection, account: str, env_id: str, body: EnvironmentClose) -> str:
    """Closes an open environment; its trajectory row appears, and its summary (no steps) is answered."""
    closed_at = now()
    closed = _close_env.one(conn, {"env_id": env_id, "acct": account, "now": closed_at})
    if closed is None:
        raise _refused(conn, account, env_id)
    job_id, step_count, step_bytes, max_step_bytes = closed
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
            "size_bytes": int(step_bytes) + _octets(body.logs) + _octets(body.error),
            "max_step_bytes": int(max_step_bytes),
        },
    )
    # Not the steps: an answer (and its idempotent replay) must not grow with the trajectory.
    return summary_json(env_id, body.reward, body.logs, body.error, step_count)


_env_answer = Statement(select(_e.id, _e.metadata).where(_e.id == bindparam("id"), _e.account == bindparam("account")))
_t = trajectories.c
_closed_answer = Statement(
    select(_t.id, _t.reward, _t.logs, _t.error, _t.step_count).where(
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
    return summary_json(*row)
