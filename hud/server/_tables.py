"""The tables of the current schema, as SQLAlchemy Core, for building queries.

The DDL that creates these tables lives in `_migrations.py`, frozen per version; `tests/server`
checks that a migrated database matches this description.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, Table, Text

__all__ = ["api_keys", "environments", "idempotency_keys", "jobs", "metadata", "steps", "trajectories"]

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
)
