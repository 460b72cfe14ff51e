"""Job operations: create (with a client's id too), get, update, list, heartbeat."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, null, or_, select, update

from hud._wire import JOB_PAGE_MAX_BYTES, MAX_METADATA_BYTES
from hud.server._cursors import decode_cursor, encode_cursor
from hud.server._errors import ApiError, NotFound
from hud.server._operations.leases import (
    CRASHED,
    RUNNING,
    close_open_environments,
    effective_status,
    expired,
    relay_expired,
)
from hud.server._render import dumps, job_json, now, same_json
from hud.server._requests import JobCreate, JobUpdate
from hud.server._sql import Statement
from hud.server._tables import jobs

__all__ = ["check_replay", "create_job", "get_job", "heartbeat", "job_exists", "list_jobs", "update_job"]


def _job_cols(cutoff: Any) -> tuple[Any, ...]:
    return (
        jobs.c.id,
        jobs.c.name,
        jobs.c.metadata,
        jobs.c.created_at,
        effective_status(cutoff).label("status"),
        jobs.c.error,
        jobs.c.heartbeat_at,
        jobs.c.gym_id,
        jobs.c.evalset_id,
    )


_get_job = select(*_job_cols(bindparam("cutoff"))).where(
    jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account")
)
_job_exists = Statement(select(jobs.c.seq).where(jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account")))
_insert_job = Statement(jobs.insert())
_job_identity = Statement(
    select(jobs.c.account, jobs.c.name, jobs.c.metadata, jobs.c.gym_id, jobs.c.evalset_id).where(
        jobs.c.id == bindparam("id")
    )
)
# A heartbeat here means the job now runs against this server: a copy made by `hud sync` stops
# being one (its lease is held here from now on).
_heartbeat = Statement(
    update(jobs)
    .where(jobs.c.id == bindparam("jid"), jobs.c.account == bindparam("acct"))
    .values(
        heartbeat_at=bindparam("now"),
        status=case((jobs.c.status == CRASHED, RUNNING), else_=jobs.c.status),
        relayed_heartbeat_at=null(),
        synced_at=null(),
    )
)

#: Statuses that close a job's open environments, with that error kind.
_CLOSING_STATUSES = frozenset({"cancelled", "crashed"})


def check_replay(what: str, object_id: str, ours: bool, same: bool) -> None:
    """A create with a client's id that exists already: a replay when the caller's and the same, else 409."""
    if not ours:
        raise ApiError(409, f"{what} id {object_id!r} is taken: choose another id")
    if not same:
        raise ApiError(
            409,
            f"{what} {object_id!r} exists with other fields: choose another id, or send the same fields to "
            "repeat the create",
        )


def job_exists(conn: Connection, account: str, job_id: str) -> bool:
    """Whether the account has a job of that id."""
    return _job_exists.one(conn, {"id": job_id, "account": account}) is not None


def create_job(conn: Connection, account: str, body: JobCreate, lease: float) -> str:
    """Inserts a new job, status `created`; with the client's `id`, a repeat of the same create is a replay.

    The same id with other content, or another account's, answers 409.
    """
    if body.id is not None:
        existing = _job_identity.one(conn, {"id": body.id})
        if existing is not None:
            owner, name, metadata, gym_id, evalset_id = existing
            same = (name, gym_id, evalset_id) == (body.name, body.gym_id, body.evalset_id)
            check_replay("job", body.id, owner == account, same and same_json(metadata, body.metadata))
            return get_job(conn, account, body.id, lease)
    job = {
        "id": body.id or str(uuid.uuid4()),
        "name": body.name,
        "metadata": body.metadata,
        "created_at": now(),
        "status": "created",
        "error": None,
        "heartbeat_at": None,
        "gym_id": body.gym_id,
        "evalset_id": body.evalset_id,
    }
    _insert_job.run(
        conn,
        {
            **job,
            "account": account,
            "metadata": None if body.metadata is None else dumps(body.metadata),
        },
    )
    return dumps(job)


def get_job(conn: Connection, account: str, job_id: str, lease: float) -> str:
    """The job, its status as of now (a running job past its lease reads `crashed`), or 404."""
    row = conn.execute(_get_job, {"id": job_id, "account": account, "cutoff": time.time() - lease}).first()
    if row is None:
        raise NotFound("job", job_id)
    return dumps(job_json(*row))


def update_job(conn: Connection, account: str, job_id: str, body: JobUpdate, lease: float) -> str:
    """Sets the fields the body names (in one UPDATE, so concurrent updates of other fields keep theirs).

    `cancelled` and `crashed` also close the job's open environments with that error kind; `running`
    drops the lease (the next heartbeat takes it again), so a job set running by hand does not read
    as crashed from an old heartbeat.
    """
    values: dict[str, Any] = {}
    if body.status is not None:
        values["status"] = body.status
        if body.status == "running":
            values["heartbeat_at"] = None
            values["relayed_heartbeat_at"] = None
    if "metadata" in body.model_fields_set:
        values["metadata"] = None if body.metadata is None else dumps(body.metadata)
    if body.metadata_merge is not None:
        values["metadata"] = _merged_metadata(conn, account, job_id, body.metadata_merge)
    if "error" in body.model_fields_set:
        values["error"] = body.error
    if values:
        updated = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.account == account).values(**values))
        if updated.rowcount and body.status in _CLOSING_STATUSES:
            close_open_environments(conn, account, job_id, body.status, f"{body.status}: the job was {body.status}")
    return get_job(conn, account, job_id, lease)


def _merged_metadata(conn: Connection, account: str, job_id: str, keys: dict[str, Any]) -> str:
    """The job's metadata with `keys` set (a shallow merge), as stored JSON text.

    Read with FOR UPDATE (PostgreSQL locks the row until the transaction ends; SQLite's writes are one
    at a time anyway): two concurrent merges of different keys both keep theirs, never the last one's only.
    """
    stored = conn.execute(
        select(jobs.c.metadata).where(jobs.c.id == job_id, jobs.c.account == account).with_for_update()
    ).scalar_one_or_none()
    current = json.loads(stored) if stored else {}
    if not isinstance(current, dict):  # stored by an older server as something else: replaced
        current = {}
    merged = dumps({**current, **keys})
    size = len(merged.encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise ApiError(
            422,
            f"the merged metadata would be {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}: "
            "store large data elsewhere and put its URL in metadata",
        )
    return merged


def heartbeat(conn: Connection, account: str, job_id: str, lease: float) -> str:
    """Records a heartbeat of the job's process now; a `crashed` job is `running` again."""
    if not _heartbeat.run(conn, {"jid": job_id, "acct": account, "now": time.time()}):
        raise NotFound("job", job_id)
    return get_job(conn, account, job_id, lease)


def list_jobs(
    conn: Connection,
    account: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    name: str | None,
    lease: float,
) -> str:
    """One page of the account's jobs, newest first, with the cursor of the next: at most `limit`,
    and fewer once their metadata and errors reach JOB_PAGE_MAX_BYTES (characters; at least one job).

    The status filter applies to the status as readers see it (`crashed` includes running jobs past
    their lease; `running` excludes them).
    """
    before = decode_cursor(cursor)
    cutoff = time.time() - lease
    query = select(jobs.c.seq, *_job_cols(cutoff)).where(jobs.c.account == account)
    if status == "crashed":
        query = query.where((jobs.c.status == "crashed") | expired(cutoff) | relay_expired(cutoff))
    elif status == "running":
        # NULL-safe: a job without heartbeats holds no lease and stays running.
        local = and_(
            jobs.c.relayed_heartbeat_at.is_(None), or_(jobs.c.heartbeat_at.is_(None), jobs.c.heartbeat_at >= cutoff)
        )
        query = query.where(jobs.c.status == "running", or_(local, jobs.c.relayed_heartbeat_at >= cutoff))
    elif status is not None:
        query = query.where(jobs.c.status == status)
    if name is not None:
        query = query.where(jobs.c.name == name)
    if before is not None:
        query = query.where(jobs.c.seq < before)
    # Sizes first (a job's metadata may hold 1 MiB): the page ends before JOB_PAGE_MAX_BYTES of them.
    text = func.coalesce(func.length(jobs.c.metadata), 0) + func.coalesce(func.length(jobs.c.error), 0)
    sized = conn.execute(
        query.with_only_columns(jobs.c.seq, text.label("size")).order_by(jobs.c.seq.desc()).limit(limit + 1)
    ).all()
    taken, total = 0, 0
    for _seq, size in sized[:limit]:
        if taken and total + int(size) > JOB_PAGE_MAX_BYTES:
            break
        taken, total = taken + 1, total + int(size)
    if not taken:
        return dumps({"items": [], "next_cursor": None})
    last = sized[taken - 1].seq
    rows = conn.execute(query.where(jobs.c.seq >= last, jobs.c.seq <= sized[0].seq).order_by(jobs.c.seq.desc())).all()
    next_cursor = encode_cursor(last) if len(sized) > taken else None
    return dumps({"items": [job_json(*r[1:]) for r in rows], "next_cursor": next_cursor})
