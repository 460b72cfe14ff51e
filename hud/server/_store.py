"""Storage operations.

Each request runs in one transaction that authenticates the caller and performs the operation.
Reads are blocking (the app calls them through a thread pool). Writes are awaited: on SQLite they
run on the database's writer thread (`_writer.py`), which commits queued requests together; on
PostgreSQL each runs its own transaction on a pool thread.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text, update
from starlette.concurrency import run_in_threadpool

from hud.server._db import is_postgres, sqlite_writer, write_engine
from hud.server._errors import ApiError
from hud.server._keys import authenticate
from hud.server._schema import environments, idempotency_keys, jobs, steps, trajectories
from hud.server._sql import Statement
from hud.server._validation import (
    EnvironmentClose,
    EnvironmentCreate,
    JobCreate,
    JobUpdate,
    StepsAppend,
    decode_cursor,
    encode_cursor,
)

__all__ = ["IN_FLIGHT_HEADER", "LOCAL_ACCOUNT", "Store", "in_flight_error"]

LOCAL_ACCOUNT = "local"
IDEMPOTENCY_TTL_S = 24 * 3600
_PURGE_EVERY_S = 300.0
STREAM_BATCH = 500

T = TypeVar("T")
# Rows are read by attribute; SQLAlchemy 2.1 types them per column count, which buys nothing here.
_Row = Any
Op = Callable[[Connection, str], T]


#: Marks a 409 that only means "the same Idempotency-Key is still being processed" (openapi.yaml):
#: clients retry that one, never a 409 about an object's state.
IN_FLIGHT_HEADER = "Idempotency-In-Flight"


def in_flight_error() -> ApiError:
    """The 409 for a request whose Idempotency-Key another request is still processing."""
    return ApiError(
        409,
        "a request with this Idempotency-Key is still in flight: retry after it finishes",
        {IN_FLIGHT_HEADER: "true"},
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _loads_meta(value: str | None) -> Any:
    return None if value is None else json.loads(value)


# Statements built once: SQLAlchemy caches their compiled form, so the hot path only binds values.
# Those of the write path (and authentication) run as `Statement`s on the DBAPI cursor (_sql.py).
_job_cols = (jobs.c.id, jobs.c.name, jobs.c.metadata, jobs.c.created_at, jobs.c.status, jobs.c.error)
_get_job = select(*_job_cols).where(jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account"))
_job_exists = Statement(select(jobs.c.seq).where(jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account")))
_insert_job = Statement(insert(jobs))
_insert_env = Statement(insert(environments))
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
_insert_steps = Statement(insert(steps))
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
_insert_trajectory = Statement(insert(trajectories))
_traj_cols = (
    trajectories.c.seq,
    trajectories.c.id,
    trajectories.c.reward,
    trajectories.c.logs,
    trajectories.c.error,
    trajectories.c.step_count,
)
_get_trajectory = select(*_traj_cols).where(
    trajectories.c.id == bindparam("id"), trajectories.c.account == bindparam("account")
)
_steps_of = Statement(select(steps.c.data).where(steps.c.env_id == bindparam("env_id")).order_by(steps.c.position))
_page_trajectories = (
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
_get_idem = Statement(
    select(idempotency_keys.c.request_hash, idempotency_keys.c.body, idempotency_keys.c.created_at).where(
        idempotency_keys.c.account == bindparam("account"), idempotency_keys.c.key == bindparam("key")
    )
)
_del_idem = Statement(
    delete(idempotency_keys).where(
        idempotency_keys.c.account == bindparam("account"), idempotency_keys.c.key == bindparam("key")
    )
)
_insert_idem = Statement(insert(idempotency_keys))
_purge_idem = Statement(delete(idempotency_keys).where(idempotency_keys.c.created_at < bindparam("before")))
# Another transaction holding the key's lock is the same request still in flight (PostgreSQL).
_try_lock = Statement(text("SELECT pg_try_advisory_xact_lock(:k)"))


def _job_json(row: _Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "metadata": _loads_meta(row.metadata),
        "created_at": row.created_at,
        "status": row.status,
        "error": row.error,
    }


def _trajectory_json(row: _Row, step_texts: Sequence[str]) -> str:
    # Steps are stored as JSON text and spliced in as they are: no parse and re-dump per step.
    return (
        f'{{"id":{dumps(row.id)},"reward":{dumps(row.reward)},"logs":{dumps(row.logs)},'
        f'"error":{dumps(row.error)},"trajectory":[{",".join(step_texts)}]}}'
    )


class _Closed(NamedTuple):
    """A trajectory row as `_trajectory_json` and `Store._steps` read it."""

    id: str
    reward: float | None
    logs: str | None
    error: str | None
    step_count: int


class NotFound(ApiError):
    def __init__(self, what: str, value: str) -> None:
        super().__init__(404, f"no {what} {value!r} in this account: check the id and the API key")


class Store:
    """The operations of the API over one engine, for one app."""

    def __init__(self, engine: Engine, *, auth: bool) -> None:
        self.engine = engine
        self._write_engine = write_engine(engine)
        self._sqlite_writer = sqlite_writer(engine)
        self._auth = auth
        self._postgres = is_postgres(engine)
        self._last_purge = 0.0

    # -- transactions -------------------------------------------------------------------------

    def _account(self, conn: Connection, key: str | None) -> str:
        if not self._auth:
            return LOCAL_ACCOUNT
        account = authenticate(conn, key) if key is not None else None
        if account is None:
            raise ApiError(
                401,
                "unknown or revoked API key: check HUD_API_KEY, or ask the server's admin for a key "
                "(`hud keys create --db URL --account NAME`)",
                {"WWW-Authenticate": "Bearer"},
            )
        return account

    def read(self, key: str | None, pending: ApiError | None, op: Op[T]) -> T:
        """Runs `op(conn, account)` in a read transaction, after authenticating `key`."""
        with self.engine.begin() as conn:
            account = self._account(conn, key)
            if pending is not None:
                raise pending
            return op(conn, account)

    async def write(
        self,
        key: str | None,
        pending: ApiError | None,
        op: Op[str],
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[str, bool]:
        """Runs `op(conn, account)` in a write transaction and returns (JSON body, replayed).

        With `idempotency` = (Idempotency-Key, request hash), the first answer is stored in the same
        transaction as the operation, so a crash leaves either both or neither. The answer comes
        after the commit.
        """
        if self._sqlite_writer is not None:
            return await self._sqlite_writer.run(lambda conn: self._write_in(conn, key, pending, op, idempotency))
        return await run_in_threadpool(self._write_own_transaction, key, pending, op, idempotency)

    def _write_own_transaction(
        self, key: str | None, pending: ApiError | None, op: Op[str], idempotency: tuple[str, str] | None
    ) -> tuple[str, bool]:
        with self._write_engine.begin() as conn:
            return self._write_in(conn, key, pending, op, idempotency)

    def _write_in(
        self,
        conn: Connection,
        key: str | None,
        pending: ApiError | None,
        op: Op[str],
        idempotency: tuple[str, str] | None,
    ) -> tuple[str, bool]:
        """The write inside the caller's transaction."""
        account = self._account(conn, key)
        if pending is not None:
            raise pending
        if idempotency is None:
            return op(conn, account), False
        idem_key, request_hash = idempotency
        now = time.time()
        if self._postgres:
            # Another transaction holding the key is the same request still in flight.
            lock = hashlib.sha256(f"{account}\x00{idem_key}".encode("utf-8", "surrogatepass")).digest()
            got = _try_lock.one(conn, {"k": int.from_bytes(lock[:8], "big", signed=True)})
            if not (got and got[0]):
                raise in_flight_error()
        stored = _get_idem.one(conn, {"account": account, "key": idem_key})
        if stored is not None:
            stored_hash, stored_body, created_at = stored
            if created_at < now - IDEMPOTENCY_TTL_S:
                _del_idem.run(conn, {"account": account, "key": idem_key})
                stored = None
        if stored is not None:
            if stored_hash != request_hash:
                raise ApiError(
                    422,
                    "this Idempotency-Key was used for a different request: use a new key per request",
                )
            return str(stored_body), True
        body = op(conn, account)
        _insert_idem.run(
            conn,
            {
                "account": account,
                "key": idem_key,
                "request_hash": request_hash,
                "status_code": 200,
                "body": body,
                "created_at": now,
            },
        )
        if now - self._last_purge > _PURGE_EVERY_S:
            self._last_purge = now
            _purge_idem.run(conn, {"before": now - IDEMPOTENCY_TTL_S})
        return body, False

    def health(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.rollback()

    # -- operations: op(conn, account) -> JSON text ----------------------------------------------

    @staticmethod
    def create_job(body: JobCreate) -> Op[str]:
        def op(conn: Connection, account: str) -> str:
            job = {
                "id": str(uuid.uuid4()),
                "name": body.name,
                "metadata": body.metadata,
                "created_at": _now(),
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

        return op

    @staticmethod
    def get_job(job_id: str) -> Op[str]:
        def op(conn: Connection, account: str) -> str:
            row = conn.execute(_get_job, {"id": job_id, "account": account}).first()
            if row is None:
                raise NotFound("job", job_id)
            return dumps(_job_json(row))

        return op

    @staticmethod
    def update_job(job_id: str, body: JobUpdate) -> Op[str]:
        values: dict[str, Any] = {}
        if body.status is not None:
            values["status"] = body.status
        if "metadata" in body.model_fields_set:
            values["metadata"] = None if body.metadata is None else dumps(body.metadata)
        if "error" in body.model_fields_set:
            values["error"] = body.error

        def op(conn: Connection, account: str) -> str:
            if values:
                conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.account == account).values(**values))
            return Store.get_job(job_id)(conn, account)

        return op

    @staticmethod
    def list_jobs(limit: int, cursor: str | None, status: str | None, name: str | None) -> Op[str]:
        def op(conn: Connection, account: str) -> str:
            scope = ("jobs", account, status or "", name or "", "s" if status else "", "n" if name else "")
            before = decode_cursor(cursor, scope)
            query = select(jobs.c.seq, *_job_cols).where(jobs.c.account == account)
            if status is not None:
                query = query.where(jobs.c.status == status)
            if name is not None:
                query = query.where(jobs.c.name == name)
            if before is not None:
                query = query.where(jobs.c.seq < before)
            rows = conn.execute(query.order_by(jobs.c.seq.desc()).limit(limit + 1)).all()
            next_cursor = encode_cursor(rows[limit - 1].seq, scope) if len(rows) > limit else None
            return dumps({"items": [_job_json(r) for r in rows[:limit]], "next_cursor": next_cursor})

        return op

    @staticmethod
    def create_environment(body: EnvironmentCreate) -> Op[str]:
        def op(conn: Connection, account: str) -> str:
            run_id = body.run_id
            if run_id is not None and _job_exists.one(conn, {"id": run_id, "account": account}) is None:
                raise NotFound("job (run_id)", run_id)
            env_id = str(uuid.uuid4())
            _insert_env.run(
                conn,
                {
                    "id": env_id,
                    "account": account,
                    "job_id": body.run_id,
                    "gym_id": body.gym_id,
                    "task_id": body.task_id,
                    "metadata": None if body.metadata is None else dumps(body.metadata),
                    "step_count": 0,
                    "closed_at": None,
                    "created_at": _now(),
                },
            )
            return dumps({"id": env_id, "metadata": body.metadata})

        return op

    @staticmethod
    def _closed_or_missing(conn: Connection, account: str, env_id: str) -> ApiError:
        if _env_state.one(conn, {"id": env_id, "account": account}) is None:
            return NotFound("environment", env_id)
        return ApiError(409, f"environment {env_id!r} is closed: create a new environment")

    @staticmethod
    def append_steps(env_id: str, body: StepsAppend) -> Op[str]:
        texts = [dumps(step.model_dump()) for step in body.steps]

        def op(conn: Connection, account: str) -> str:
            bumped = _bump_steps.one(conn, {"env_id": env_id, "acct": account, "n": len(texts)})
            if bumped is None:
                raise Store._closed_or_missing(conn, account, env_id)
            count = int(bumped[0])
            first = count - len(texts)
            _insert_steps.run_many(
                conn, [{"env_id": env_id, "position": first + i, "data": t} for i, t in enumerate(texts)]
            )
            return dumps({"id": env_id, "step_count": count})

        return op

    @staticmethod
    def close_environment(env_id: str, body: EnvironmentClose) -> Op[str]:
        def op(conn: Connection, account: str) -> str:
            now = _now()
            closed = _close_env.one(conn, {"env_id": env_id, "acct": account, "now": now})
            if closed is None:
                raise Store._closed_or_missing(conn, account, env_id)
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
                    "created_at": now,
                },
            )
            # The row just written is known: answer from it instead of reading it back (one query less).
            row = _Closed(env_id, body.reward, body.logs, body.error, step_count)
            return _trajectory_json(row, Store._steps(conn, row))

        return op

    @staticmethod
    def _steps(conn: Connection, row: _Row) -> list[str]:
        if not row.step_count:
            return []
        return [data for (data,) in _steps_of.all(conn, {"env_id": row.id})]

    @staticmethod
    def get_trajectory(trajectory_id: str) -> Op[str]:
        def op(conn: Connection, account: str) -> str:
            row = conn.execute(_get_trajectory, {"id": trajectory_id, "account": account}).first()
            if row is None:
                raise NotFound("trajectory", trajectory_id)
            return _trajectory_json(row, Store._steps(conn, row))

        return op

    # -- trajectories of a job: paged, or streamed in batches ----------------------------------

    @staticmethod
    def _trajectory_page(
        conn: Connection, account: str, job_id: str, after: int, n: int
    ) -> tuple[list[str], list[int]]:
        """Up to `n` trajectories after seq `after`, as JSON texts, with their seqs."""
        rows = conn.execute(_page_trajectories, {"job_id": job_id, "account": account, "after": after, "n": n}).all()
        if not rows:
            return [], []
        by_env: dict[str, list[str]] = {}
        if any(r.step_count for r in rows):
            params = {"job_id": job_id, "account": account, "after": after, "last": rows[-1].seq}
            for env_id, data in conn.execute(_page_steps, params):
                by_env.setdefault(env_id, []).append(data)
        return [_trajectory_json(r, by_env.get(r.id, ())) for r in rows], [int(r.seq) for r in rows]

    def list_trajectories(
        self, key: str | None, pending: ApiError | None, job_id: str, limit: int | None, cursor: str | None
    ) -> tuple[bytes, str | None, Iterator[bytes] | None]:
        """(first body chunk, X-Next-Cursor, the rest of the stream or None).

        With `limit`, one page. Without, the first batch is read here (authenticated, 404 checked)
        and, when more follow, the rest is streamed batch by batch in bounded memory.
        """

        def op(conn: Connection, account: str) -> tuple[bytes, str | None, int | None, str]:
            if _job_exists.one(conn, {"id": job_id, "account": account}) is None:
                raise NotFound("job", job_id)
            scope = ("trajectories", account, job_id)
            after = decode_cursor(cursor, scope) or 0
            n = limit if limit is not None else STREAM_BATCH
            # One more than asked tells whether more follow.
            items, seqs = self._trajectory_page(conn, account, job_id, after, n + 1)
            more = len(items) > n
            items, seqs = items[:n], seqs[:n]
            if limit is not None:
                next_cursor = encode_cursor(seqs[-1], scope) if more else None
                return ("[" + ",".join(items) + "]").encode(), next_cursor, None, account
            if not more:
                return ("[" + ",".join(items) + "]").encode(), None, None, account
            return ("[" + ",".join(items)).encode(), None, seqs[-1], account

        body, next_cursor, resume, account = self.read(key, pending, op)
        rest = self._stream(account, job_id, resume) if resume is not None else None
        return body, next_cursor, rest

    def _stream(self, account: str, job_id: str, after: int) -> Iterator[bytes]:
        # Each batch is its own short read transaction, so a long download never pins a snapshot.
        while True:
            with self.engine.begin() as conn:
                items, seqs = self._trajectory_page(conn, account, job_id, after, STREAM_BATCH)
            if not items:
                yield b"]"
                return
            after = seqs[-1]
            yield ("," + ",".join(items)).encode()
