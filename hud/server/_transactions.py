"""The transaction runner: where an operation runs, and in which transaction.

Reads run on a pool thread in their own short transaction. Writes on SQLite go to the database's
writer thread (`_writer.py`), which commits queued writes together; on PostgreSQL each runs in its
own transaction on a pool thread. Either way the answer comes after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from hud.server._check import probe
from hud.server._db import is_postgres, sqlite_writer, write_engine
from hud.server._errors import ApiError

__all__ = ["Transactions"]

T = TypeVar("T")


class Transactions:
    """Runs `fn(conn)` in a read or a write transaction on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = is_postgres(engine)
        self._write_engine = write_engine(engine)
        self._writer = sqlite_writer(engine)
        #: The API's answer once a request met damaged data: from then on writes are refused and
        #: health fails (a restart, after the database is checked or restored, clears it).
        self.damage: ApiError | None = None

    def read_now(self, fn: Callable[[Connection], T]) -> T:
        """Runs `fn` in a read transaction on this thread (blocking)."""
        with self.engine.begin() as conn:
            return fn(conn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Runs `fn` in a read transaction on a pool thread."""
        return await run_in_threadpool(self.read_now, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Runs `fn` in a write transaction; returns once it is committed."""
        if self._writer is not None:
            return await self._writer.run(fn)
        return await run_in_threadpool(self._write_now, fn)

    def _write_now(self, fn: Callable[[Connection], T]) -> T:
        with self._write_engine.begin() as conn:
            return fn(conn)

    def write_blocking(self, fn: Callable[[Connection], T]) -> T:
        """`write` for a thread that is not the event loop's: blocks until committed."""
        if self._writer is not None:
            return self._writer.submit(fn).result()
        return self._write_now(fn)

    async def health(self) -> None:
        """Raises unless the database answers by reading real rows of every table (`_check.probe`)."""
        await run_in_threadpool(self._health_now)

    def _health_now(self) -> None:
        with self.engine.connect() as conn:
            probe(conn)
            conn.rollback()
