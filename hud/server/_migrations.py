"""Versioned schema migrations.

Each step is frozen DDL: never edit a released step, append a new one. `migrate` applies the steps a
database lacks, in one transaction, under a write lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL
advisory lock), so several processes starting at once on one database are safe.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, text

__all__ = ["LATEST_VERSION", "MIGRATIONS", "SchemaTooNewError", "current_version", "migrate"]

# An arbitrary constant: the key of the PostgreSQL advisory lock that serialises migrations.
_PG_LOCK_KEY = 0x68756432  # "hud2"

_V1 = [
    """CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    """CREATE TABLE jobs (
        seq {pk},
        id TEXT NOT NULL UNIQUE,
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        metadata TEXT,
        gym_id TEXT,
        evalset_id TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX jobs_account_seq ON jobs (account, seq)",
    """CREATE TABLE environments (
        seq {pk},
        id TEXT NOT NULL UNIQUE,
        account TEXT NOT NULL,
        job_id TEXT,
        gym_id TEXT NOT NULL,
        task_id TEXT,
        metadata TEXT,
        step_count INTEGER NOT NULL DEFAULT 0,
        closed_at TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE trajectories (
        seq {pk},
        id TEXT NOT NULL UNIQUE,
        account TEXT NOT NULL,
        job_id TEXT,
        reward DOUBLE PRECISION,
        logs TEXT,
        error TEXT,
        step_count INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX trajectories_job_seq ON trajectories (job_id, seq)",
    """CREATE TABLE steps (
        env_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (env_id, position)
    )""",
]

_V2 = [
    """CREATE TABLE idempotency_keys (
        account TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (account, key)
    )""",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
    # The `status` and `name` filters of GET /v2/jobs page on these.
    "CREATE INDEX jobs_account_status_seq ON jobs (account, status, seq)",
    "CREATE INDEX jobs_account_name_seq ON jobs (account, name, seq)",
]

_V3 = [
    # Job.error (an extension): why a job failed.
    "ALTER TABLE jobs ADD COLUMN error TEXT",
]

_V4 = [
    # Leases (an extension): when a job's last heartbeat arrived, in seconds since the epoch.
    "ALTER TABLE jobs ADD COLUMN heartbeat_at DOUBLE PRECISION",
    # Task identity (extensions): a trajectory carries its environment's task, gym, metadata and
    # times, and why it ended in error. `created_at` was the closing time: it moves to `closed_at`,
    # and `created_at` becomes the environment's creation time.
    "ALTER TABLE trajectories ADD COLUMN task_id TEXT",
    "ALTER TABLE trajectories ADD COLUMN gym_id TEXT",
    "ALTER TABLE trajectories ADD COLUMN metadata TEXT",
    "ALTER TABLE trajectories ADD COLUMN closed_at TEXT",
    "ALTER TABLE trajectories ADD COLUMN error_kind TEXT",
    "UPDATE trajectories SET closed_at = created_at",
    """UPDATE trajectories SET
        task_id = (SELECT e.task_id FROM environments e WHERE e.id = trajectories.id),
        gym_id = (SELECT e.gym_id FROM environments e WHERE e.id = trajectories.id),
        metadata = (SELECT e.metadata FROM environments e WHERE e.id = trajectories.id),
        created_at = COALESCE(
            (SELECT e.created_at FROM environments e WHERE e.id = trajectories.id), trajectories.created_at
        )""",
    # A job's environments (listing, open counts) and the running jobs a sweep looks for.
    "CREATE INDEX environments_job_seq ON environments (job_id, seq)",
    "CREATE INDEX jobs_status_heartbeat ON jobs (status, heartbeat_at)",
]

_V5 = [
    # Sizes, in bytes of compact UTF-8 JSON: an environment's steps and its largest step (the
    # environment size limit; answers streamed in reads bounded by bytes), copied to its trajectory
    # with the size of the whole trajectory (steps, logs, error) for pages bounded by bytes. NULL on
    # a trajectory: unknown (rows written by other tools), read as large.
    "ALTER TABLE environments ADD COLUMN step_bytes BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE environments ADD COLUMN max_step_bytes BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE trajectories ADD COLUMN size_bytes BIGINT",
    "ALTER TABLE trajectories ADD COLUMN max_step_bytes BIGINT",
    # The rows written before: measured once (octet_length: built into PostgreSQL; on SQLite before
    # 3.43 `_db` provides it).
    """UPDATE environments SET
        step_bytes = COALESCE((SELECT SUM(octet_length(s.data)) FROM steps s WHERE s.env_id = environments.id), 0),
        max_step_bytes = COALESCE((SELECT MAX(octet_length(s.data)) FROM steps s WHERE s.env_id = environments.id), 0)
    WHERE step_count > 0""",
    """UPDATE trajectories SET
        size_bytes = COALESCE((SELECT SUM(octet_length(s.data)) FROM steps s WHERE s.env_id = trajectories.id),
            0) + COALESCE(octet_length(logs), 0) + COALESCE(octet_length(error), 0),
        max_step_bytes = COALESCE((SELECT MAX(octet_length(s.data)) FROM steps s
            WHERE s.env_id = trajectories.id), 0)""",
    # An idempotent answer too large to keep is replayed from the object it describes (its id here;
    # `body` is then empty).
    "ALTER TABLE idempotency_keys ADD COLUMN ref_id TEXT",
]

_V6 = [
    # Analysis (extensions): a job's per-task aggregates (GET /v2/jobs/{job_id}/tasks) walk this index
    # in task order, a page of tasks at a time; trajectories without a task follow in `seq` order.
    "CREATE INDEX trajectories_job_task_seq ON trajectories (job_id, task_id, seq)",
    # A job's open environments (the summary's count, the dashboard): only open rows are indexed.
    "CREATE INDEX environments_job_open ON environments (job_id) WHERE closed_at IS NULL",
    # Seconds from creation to close, written with each trajectory; its quantiles walk this index.
    # Rows written before (or by a writer that leaves it NULL) are computed when read.
    "ALTER TABLE trajectories ADD COLUMN duration DOUBLE PRECISION",
    "CREATE INDEX trajectories_job_duration ON trajectories (job_id, account, duration)",
]

_V7 = [
    # Dashboard sign-ins (`_sessions.py`): the cookie holds a random id, stored here as its SHA-256 only.
    """CREATE TABLE dashboard_sessions (
        id_hash TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        account TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id)",
    "CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at)",
]

_V8 = [
    # Sync (extensions): a job copied here by `hud sync` (POST /v2/import) runs elsewhere. `synced_at`:
    # when an import last wrote it (NULL for a job recorded here); `relayed_heartbeat_at`: its last
    # heartbeat at the other store, in this server's clock (seconds since the epoch), which this
    # server's lease reads instead of `heartbeat_at` (the other store's clock, shown as is).
    "ALTER TABLE jobs ADD COLUMN synced_at TEXT",
    "ALTER TABLE jobs ADD COLUMN relayed_heartbeat_at DOUBLE PRECISION",
]

_V9 = [
    # The scoring rule's error kind (`hud._wire.effective_error_kind`: an error recorded without a kind
    # is the agent's), kept by the database itself: computed on read on SQLite (VIRTUAL, which ALTER
    # TABLE can add), stored on PostgreSQL (which has no other kind). Every writer stays as it is.
    """ALTER TABLE trajectories ADD COLUMN effective_error_kind TEXT GENERATED ALWAYS AS (
        COALESCE(error_kind, CASE WHEN error IS NOT NULL AND error <> '' THEN 'agent' END)) {generated}""",
    # Everything a job's summary and its per-task aggregates read, in task order and `seq` order within
    # a task: both are one walk of this index, never of the table (the error text stays out of it).
    """CREATE INDEX trajectories_job_scores ON trajectories
        (job_id, account, task_id, seq, effective_error_kind, reward, step_count, duration)""",
    # It serves every query of the index of step 6 it replaces (each names the account too).
    "DROP INDEX trajectories_job_task_seq",
    # The few trajectories with an error, for the summary's counts by kind: a walk of these alone.
    """CREATE INDEX trajectories_job_errors ON trajectories (job_id, account, effective_error_kind, reward, step_count)
        WHERE effective_error_kind IS NOT NULL""",
]

MIGRATIONS: Sequence[Sequence[str]] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9)
"""Migration steps; step i (0-based) takes the schema from version i to version i + 1."""

LATEST_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer hud than this one."""


def _octet_length(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return len(value)
    return len(str(value).encode("utf-8", "surrogatepass"))


def _pk(engine_or_conn: Engine | Connection) -> str:
    if engine_or_conn.dialect.name == "postgresql":
        return "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    # A rowid alias: the cheapest monotonically increasing key SQLite has.
    return "INTEGER PRIMARY KEY"


def _read_version(conn: Connection) -> int:
    row = conn.execute(text("SELECT version FROM schema_version")).first()
    return int(row[0]) if row is not None else 0


def current_version(engine: Engine) -> int:
    """The schema version of the database behind `engine` (0 for an empty database)."""
    with engine.connect() as conn:
        try:
            return _read_version(conn)
        except Exception:
            conn.rollback()
            return 0


def migrate(engine: Engine, target: int = LATEST_VERSION) -> int:
    """Brings the database up to schema version `target`; returns the version it was at.

    Raises:
        SchemaTooNewError: the database is at a version this hud does not know.
    """
    with engine.execution_options(hud_write=True).connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        if conn.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 43, 0):
            # SQL's octet_length (bytes of a value's text), built into PostgreSQL and SQLite >= 3.43.
            conn.connection.driver_connection.create_function("octet_length", 1, _octet_length, deterministic=True)  # type: ignore[union-attr]
        conn.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
        before = _read_version(conn)
        if before > LATEST_VERSION:
            raise SchemaTooNewError(
                f"the database is at schema version {before} but this hud knows only up to "
                f"{LATEST_VERSION}: upgrade hud"
            )
        if before >= target:
            return before
        pk = _pk(conn)
        generated = "STORED" if conn.dialect.name == "postgresql" else "VIRTUAL"
        for step in MIGRATIONS[before:target]:
            for statement in step:
                conn.exec_driver_sql(statement.replace("{pk}", pk).replace("{generated}", generated))
        if before == 0:
            conn.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": target})
        else:
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": target})
        return before
