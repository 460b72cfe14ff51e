"""Damage: how a damaged database is recognised, probed and checked.

- `is_damage(exc)`: the driver says the data is damaged (SQLite `SQLITE_CORRUPT`/`SQLITE_NOTADB`,
  PostgreSQL SQLSTATE `XX001`/`XX002`). Such a failure is permanent: the API answers it with a 500
  and `X-Should-Retry: false`, never the 503 of a database that is only busy.
- `probe(conn)`: reads real rows of every table through its indexes (health, start check).
- `check(url, full=...)`: the start check (`hud server`, on by default: SQLite's `quick_check` on a
  file up to `QUICK_CHECK_MAX_BYTES`, else the probe) and `hud server --check-db` (every page).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

__all__ = ["QUICK_CHECK_MAX_BYTES", "check", "damage_detail", "is_damage", "probe"]

#: The start check reads every page of a SQLite file up to this size (a fraction of a second: SQLite
#: checks several hundred MB/s); a larger file gets the probe, and `hud server --check-db` reads it all.
QUICK_CHECK_MAX_BYTES = 128 * 1024 * 1024

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_PG_DAMAGE = frozenset({"XX001", "XX002"})  # data_corrupted, index_corrupted

# Newest rows through each table's primary key or index: root-to-leaf reads of real data, each a
# handful of pages whatever the table's size. Tables a database does not have yet are skipped.
_PROBES = {
    "schema_version": "SELECT version FROM schema_version",
    "api_keys": "SELECT count(*), max(key_hash) FROM api_keys",
    "jobs": "SELECT id, name, metadata, status FROM jobs ORDER BY seq DESC LIMIT 1",
    "environments": "SELECT id, metadata FROM environments ORDER BY seq DESC LIMIT 1",
    "trajectories": "SELECT id, logs, error FROM trajectories ORDER BY seq DESC LIMIT 1",
    "steps": "SELECT data FROM steps ORDER BY env_id DESC, position DESC LIMIT 1",
    "idempotency_keys": "SELECT key, body FROM idempotency_keys ORDER BY created_at DESC LIMIT 1",
}


_QUICK_CHECK = "PRAGMA quick_check(20)"
_INTEGRITY_CHECK = "PRAGMA integrity_check(20)"
# PostgreSQL, every row of every table: `t::text` makes each row be read and detoasted, not only
# counted from an index.
_READ_ALL = {
    "schema_version": "SELECT count(*) FROM schema_version AS t WHERE t::text IS NOT NULL",
    "api_keys": "SELECT count(*) FROM api_keys AS t WHERE t::text IS NOT NULL",
    "jobs": "SELECT count(*) FROM jobs AS t WHERE t::text IS NOT NULL",
    "environments": "SELECT count(*) FROM environments AS t WHERE t::text IS NOT NULL",
    "trajectories": "SELECT count(*) FROM trajectories AS t WHERE t::text IS NOT NULL",
    "steps": "SELECT count(*) FROM steps AS t WHERE t::text IS NOT NULL",
    "idempotency_keys": "SELECT count(*) FROM idempotency_keys AS t WHERE t::text IS NOT NULL",
}


def is_damage(exc: BaseException) -> bool:
    """Whether `exc` (a driver error, or SQLAlchemy's wrapping of one) reports damaged data."""
    orig: Any = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(orig, sqlite3.Error) and isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return getattr(orig, "sqlstate", None) in _PG_DAMAGE


def damage_detail(exc: BaseException) -> str:
    """What the API answers for damage: what happened and what to do (no SQL, no parameters)."""
    orig: Any = exc.orig if isinstance(exc, DBAPIError) else exc
    reason = (str(orig).strip().splitlines() or ["damaged data"])[0][:200]
    return (
        f"the server's database is damaged ({reason}); retrying cannot help. An operator should stop "
        "the server, run `hud server --check-db` on the same database and restore it from a backup "
        "(see 'A damaged database' in docs/guide.md)"
    )


def probe(conn: Connection) -> None:
    """Reads the newest rows of each table (raises what the driver raises on damage)."""
    present = set(inspect(conn).get_table_names())
    for table, query in _PROBES.items():
        if table in present:
            conn.execute(text(query)).all()


def check(database_url: str, *, full: bool) -> list[str]:
    """The problems found in the database (empty when none); a missing SQLite file has none.

    Args:
        database_url: The server's database URL.
        full: Read every page (SQLite `PRAGMA integrity_check`; PostgreSQL: every row of every
            table). Otherwise the start check: SQLite `PRAGMA quick_check` on a file of at most
            `QUICK_CHECK_MAX_BYTES`, else `probe`.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _check_sqlite(url.database or "", full=full)
    return _check_postgres(database_url, full=full)


def _check_sqlite(path: str, *, full: bool) -> list[str]:
    if path in ("", ":memory:") or not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        if full or os.path.getsize(path) <= QUICK_CHECK_MAX_BYTES:
            # The first 20 problems are plenty to tell damage apart from a healthy file.
            found = [str(row[0]) for row in conn.execute(_INTEGRITY_CHECK if full else _QUICK_CHECK)]
            return [] if found == ["ok"] else found
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, query in _PROBES.items():
            if table in tables:
                conn.execute(query).fetchall()
        return []
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return [str(exc)]
        raise
    finally:
        conn.close()


def _check_postgres(database_url: str, *, full: bool) -> list[str]:
    from hud.server._db import normalize_url

    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            if not full:
                probe(conn)
                return []
            present = set(inspect(conn).get_table_names())
            for table, query in _READ_ALL.items():
                if table in present:
                    conn.execute(text(query)).all()
            return []
    except DBAPIError as exc:
        if is_damage(exc):
            return [str(exc.orig).strip()]
        raise
    finally:
        with contextlib.suppress(Exception):
            engine.dispose()
