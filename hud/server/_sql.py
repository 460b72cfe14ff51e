"""Core statements compiled once per dialect and run on the DBAPI cursor, for the per-request path.

`Connection.execute` costs about 35 µs per statement in SQLAlchemy (execution context, events,
result wrapping) around about 3 µs in SQLite itself; a write runs five to eight statements. The
statements stay SQLAlchemy Core (built once, bound by name, never from strings); only the
execution skips SQLAlchemy. Rows come back as plain tuples: the schema has Text, Integer and Float
columns only, which both drivers return as Python values with no result processing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Statement", "raw_execute"]


class Statement:
    """A statement whose every value is a named `bindparam`, compiled lazily per dialect and key set.

    Example:
        >>> by_id = Statement(select(jobs.c.name).where(jobs.c.id == bindparam("id")))  # doctest: +SKIP
        >>> by_id.one(conn, {"id": job_id})  # doctest: +SKIP
        ('my job',)
    """

    __slots__ = ("_compiled", "element")

    def __init__(self, element: ClauseElement) -> None:
        self.element = element
        self._compiled: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...] | None]] = {}

    def _sql(self, conn: Connection, keys: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None]:
        dialect = conn.dialect
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            # column_keys: an INSERT without .values() gets exactly the columns it is given.
            compiled = self.element.compile(dialect=dialect, column_keys=list(keys))
            assert isinstance(compiled, SQLCompiler)
            names = set(compiled.binds)
            missing = names - set(keys)
            if missing:
                raise TypeError(f"{sorted(missing)} have no value: bind every parameter by name")
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[(dialect.name, keys)] = (str(compiled), order)
        return found

    def _args(self, order: tuple[str, ...] | None, params: Mapping[str, Any]) -> Any:
        # qmark drivers (sqlite3) take a list in compiled order; pyformat ones (psycopg) the mapping.
        return params if order is None else [params[name] for name in order]

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Runs the statement; returns the DBAPI cursor (close it, or use `one`/`all`/`run`)."""
        sql, order = self._sql(conn, tuple(params))
        return raw_execute(conn, sql, self._args(order, params))

    def one(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None; the statement is finished either way."""
        cursor = self.execute(conn, params)
        try:
            row = cursor.fetchone()
            # RETURNING statements complete only once read to the end (SQLite).
            cursor.fetchall()
            return None if row is None else tuple(row)
        finally:
            cursor.close()

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row."""
        cursor = self.execute(conn, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Runs a statement without rows; returns the row count."""
        cursor = self.execute(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Runs the statement once per parameter set (all with the same keys)."""
        rows = list(rows)
        if not rows:
            return
        sql, order = self._sql(conn, tuple(rows[0]))
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, [self._args(order, row) for row in rows])
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, sql, exc) from exc
        finally:
            cursor.close()


def raw_execute(conn: Connection, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
    """Runs fixed SQL (a constant, or compiled from Core) on the DBAPI cursor of `conn`.

    Driver errors come out as SQLAlchemy's (`OperationalError`, `IntegrityError`, ...), as they
    would from `Connection.execute`, without the parameters in their message.
    """
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, args)
    except BaseException as exc:
        cursor.close()
        if isinstance(exc, conn.dialect.loaded_dbapi.Error):
            raise _wrapped(conn, sql, exc) from exc
        raise
    return cursor


def _wrapped(conn: Connection, sql: str, exc: Exception) -> StatementError:
    return DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error, hide_parameters=True)
