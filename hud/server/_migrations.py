"""Versioned schema migrations.

Each step is frozen DDL: never edit a released step, append a new one. `migrate` applies the steps a
database lacks, in one transaction, under a write lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL
advisory lock), so several processes starting at once on one database are safe.
"""

from __future__ import annotations

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
    # Sync (extensions): a job copied here by `hud sync` (POST /v2/import) runs elsewhere. `synced_at`:
    # when an import last wrote it (NULL for a job recorded here); `relayed_heartbeat_at`: its last
    # heartbeat at the other store, in this server's clock (seconds since the epoch), which this
    # server's lease reads instead of `heartbeat_at` (the other store's clock, shown as is).
    "ALTER TABLE jobs ADD COLUMN synced_at TEXT",
    "ALTER TABLE jobs ADD COLUMN relayed_heartbeat_at DOUBLE PRECISION",
]

MIGRATIONS: Sequence[Sequence[str]] = (_V1, _V2, _V3, _V4, _V5)
"""Migration steps; step i (0-based) takes the schema from version i to version i + 1."""

LATEST_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer hud than this one."""


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
        for step in MIGRATIONS[before:target]:
            for statement in step:
                conn.exec_driver_sql(statement.replace("{pk}", pk))
        if before == 0:
            conn.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": target})
        else:
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": target})
        return before
