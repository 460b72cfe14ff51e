"""The tables of the current schema, as SQLAlchemy Core, for building queries.

The DDL that creates these tables lives in `_migrations.py`, frozen per version; `tests/server`
checks that a migrated database matches this description.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Computed, Float, Integer, MetaData, Table, Text

__all__ = [
    "NO_GYM",
    "api_keys",
    "dashboard_sessions",
    "environments",
    "idempotency_keys",
    "jobs",
    "metadata",
    "steps",
    "stored_gym",
    "trajectories",
]

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("account", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
    Column("revoked_at", Text),
)

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("account", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("metadata", Text),
    Column("gym_id", Text),
    Column("evalset_id", Text),
    Column("created_at", Text, nullable=False),
    Column("error", Text),
    Column("heartbeat_at", Float),
    Column("synced_at", Text),
    Column("relayed_heartbeat_at", Float),
)

#: What `environments.gym_id` holds for an environment created with `"gym_id": null`. The column is
#: NOT NULL (SQLite cannot drop that without rebuilding the table) and no request can send an empty
#: gym id (minLength 1), so the empty string means "no gym" unambiguously: read it back as null.
NO_GYM = ""


def stored_gym(gym_id: str | None) -> str | None:
    """A gym as answered: a null gym (`gym_id: null` of the 0.2 client) is stored as NO_GYM."""
    return None if gym_id == NO_GYM else gym_id


environments = Table(
    "environments",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("account", Text, nullable=False),
    Column("job_id", Text),
    Column("gym_id", Text, nullable=False),
    Column("task_id", Text),
    Column("metadata", Text),
    Column("step_count", Integer, nullable=False),
    Column("closed_at", Text),
    Column("created_at", Text, nullable=False),
    # Bytes of its steps (compact UTF-8 JSON, as stored) and of the largest one.
    Column("step_bytes", BigInteger, nullable=False, server_default="0"),
    Column("max_step_bytes", BigInteger, nullable=False, server_default="0"),
)

# A trajectory row appears when its environment closes; `seq` is therefore the closing order,
# which keeps keyset paging stable while other environments are still running. It copies its
# environment's identity (task, gym, metadata, creation time), so reading it needs no join.
trajectories = Table(
    "trajectories",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("account", Text, nullable=False),
    Column("job_id", Text),
    Column("reward", Float),
    Column("logs", Text),
    Column("error", Text),
    Column("step_count", Integer, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("task_id", Text),
    Column("gym_id", Text),
    Column("metadata", Text),
    Column("closed_at", Text),
    Column("error_kind", Text),
    # Bytes of the whole trajectory (steps, logs, error) and of its largest step; NULL: unknown.
    Column("size_bytes", BigInteger),
    Column("max_step_bytes", BigInteger),
    # Seconds from created_at to closed_at, exact to the microsecond, written with the row (for the
    # summary's duration quantiles; NULL on rows written without it, which the summary computes).
    Column("duration", Float),
    # The scoring rule's error kind: `error_kind`, or `agent` for an error recorded without one.
    # Computed by the database (a generated column), never written.
    Column(
        "effective_error_kind",
        Text,
        Computed("COALESCE(error_kind, CASE WHEN error IS NOT NULL AND error <> '' THEN 'agent' END)"),
    ),
)

steps = Table(
    "steps",
    metadata,
    Column("env_id", Text, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("data", Text, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    # Set instead of `body` when the answer was too large to keep: the id of the object to render.
    Column("ref_id", Text),
)

dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id_hash", Text, primary_key=True),
    Column("key_id", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)
