"""Job operations: create, get, update, list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from hud.server._cursors import decode_cursor, encode_cursor
from hud.server._errors import NotFound
from hud.server._render import dumps, job_json
from hud.server._requests import JobCreate, JobUpdate
from hud.server._sql import Statement
from hud.server._tables import jobs

__all__ = ["create_job", "get_job", "job_exists", "list_jobs", "now", "update_job"]

_job_cols = (jobs.c.id, jobs.c.name, jobs.c.metadata, jobs.c.created_at, jobs.c.status, jobs.c.error)
_get_job = select(*_job_cols).where(jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account"))
_job_exists = Statement(select(jobs.c.seq).where(jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account")))
_insert_job = Statement(jobs.insert())


def now() -> str:
    """The current time as stored: ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat()


def job_exists(conn: Connection, account: str, job_id: str) -> bool:
    """Whether the account has a job of that id."""
    return _job_exists.one(conn, {"id": job_id, "account": account}) is not None


def create_job(conn: Connection, account: str, body: JobCreate) -> str:
    """Inserts a new job, status `created`."""
    job = {
        "id": str(uuid.uuid4()),
        "name": body.name,
        "metadata": body.metadata,
        "created_at": now(),
        "status": "created",
        "error": None,
    }
    _insert_job.run(
        conn,
        {
            **job,
            "account": account,
            "metadata": None if body.metadata is None else dumps(body.metadata),
            "gym_id": body.gym_id,
            "evalset_id": body.evalset_id,
        },
    )
    return dumps(job)


def get_job(conn: Connection, account: str, job_id: str) -> str:
    """The job, or 404."""
    row = conn.execute(_get_job, {"id": job_id, "account": account}).first()
    if row is None:
        raise NotFound("job", job_id)
    return dumps(job_json(*row))


def update_job(conn: Connection, account: str, job_id: str, body: JobUpdate) -> str:
    """Sets the fields the body names (in one UPDATE, so concurrent updates of other fields keep theirs)."""
    values: dict[str, Any] = {}
    if body.status is not None:
        values["status"] = body.status
    if "metadata" in body.model_fields_set:
        values["metadata"] = None if body.metadata is None else dumps(body.metadata)
    if "error" in body.model_fields_set:
        values["error"] = body.error
    if values:
        conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.account == account).values(**values))
    return get_job(conn, account, job_id)


def list_jobs(
    conn: Connection, account: str, *, limit: int, cursor: str | None, status: str | None, name: str | None
) -> str:
    """One page of the account's jobs, newest first, with the cursor of the next."""
    before = decode_cursor(cursor)
    query = select(jobs.c.seq, *_job_cols).where(jobs.c.account == account)
    if status is not None:
        query = query.where(jobs.c.status == status)
    if name is not None:
        query = query.where(jobs.c.name == name)
    if before is not None:
        query = query.where(jobs.c.seq < before)
    rows = conn.execute(query.order_by(jobs.c.seq.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return dumps({"items": [job_json(*r[1:]) for r in rows[:limit]], "next_cursor": next_cursor})
