"""SQLite's writer: one thread per database per process runs every write transaction.

SQLite lets one connection write at a time. With a write transaction per request on a pool of
threads, concurrent requests queue inside SQLite's busy handler, which sleeps in steps of
milliseconds, and each pooled connection re-reads what the others wrote. Here requests queue in
Python instead and one thread on one connection drains them: whatever is queued when it is free
runs as one transaction, each request inside its own SAVEPOINT (a request that fails rolls back
alone), and one COMMIT makes the batch durable before any of them is answered.

Other processes (`hud server --workers N`, `hud keys`) still meet this one's lock through
SQLite's busy timeout, as before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from hud.server._sql import raw_execute

__all__ = ["MAX_BATCH", "Writer"]

logger = logging.getLogger("hud.server")

T = TypeVar("T")

#: At most this many requests share one transaction, so one batch's latency stays bounded.
MAX_BATCH = 64

_SAVEPOINT = "SAVEPOINT hud_request"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT hud_request"
_RELEASE = "RELEASE SAVEPOINT hud_request"

# A queued operation and who waits for it: a thread (concurrent future) or an event loop's task.
_Waiter = concurrent.futures.Future[Any] | asyncio.Future[Any]
_Job = tuple[Callable[[Connection], Any], _Waiter]
_STOP = None


class Writer:
    """Runs write operations one after another on one connection, committing queued ones together.

    `engine` must start its transactions with `BEGIN IMMEDIATE` (`_db.write_engine`). The thread
    starts on the first `submit`; `close` stops it, and a later `submit` starts a new one.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        # Each thread drains its own queue, so one stopping never takes work queued for the next.
        self._queue: queue.SimpleQueue[_Job | None] | None = None
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[[Connection], T]) -> concurrent.futures.Future[T]:
        """Queues `fn(conn)` to run in a write transaction; the future resolves after the commit."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._put(fn, future)
        return future

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """`submit` for async callers: awaits the committed result.

        The result comes back through the loop's own future, set once per batch and loop, not
        through a concurrent future chained to it (which costs two callbacks per request).
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._put(fn, future)
        return await future

    def forget_after_fork(self) -> None:
        """In a forked child: the parent's thread and queue do not exist here; the next submit starts anew."""
        self._lock = threading.Lock()
        self._queue = None
        self._thread = None

    def _put(self, fn: Callable[[Connection], Any], waiter: _Waiter) -> None:
        with self._lock:
            if self._queue is None or self._thread is None or not self._thread.is_alive():
                # Also after a thread that died: its queue is dropped rather than waited on forever.
                if self._queue is not None:
                    _fail_queued(self._queue, RuntimeError("the database's writer thread stopped"))
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="hud-sqlite-writer", daemon=True
                )
                self._thread.start()
            self._queue.put((fn, waiter))

    def close(self) -> None:
        """Stops the thread once the operations queued so far have run, and closes its connection."""
        with self._lock:
            jobs, thread = self._queue, self._thread
            self._queue = self._thread = None
            if jobs is not None:
                jobs.put(_STOP)
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # -- the thread --------------------------------------------------------------------------------

    def _run(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        conn: Connection | None = None
        try:
            while True:
                batch = _next_batch(jobs)
                if batch is None:
                    return
                if conn is None:
                    try:
                        conn = self._engine.connect()
                    except Exception as exc:  # the database is unreachable: every caller hears it
                        _fail(batch, exc)
                        continue
                if not self._run_batch(conn, batch):
                    # The connection may be broken: the next batch gets a fresh one.
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _run_batch(self, conn: Connection, batch: list[_Job]) -> bool:
        """Runs a batch in one transaction; False when the connection should be replaced."""
        outcomes: list[tuple[bool, Any]] = []
        alone_failed: Exception | None = None
        try:
            with conn.begin():
                if len(batch) == 1:
                    # Alone, the transaction is the operation's: no savepoint needed.
                    try:
                        outcomes.append((True, batch[0][0](conn)))
                    except Exception as exc:
                        alone_failed = exc
                        raise
                else:
                    for fn, _future in batch:
                        # Plain SAVEPOINT statements: SQLAlchemy's nested transactions cost more
                        # than the operations they wrap.
                        raw_execute(conn, _SAVEPOINT).close()
                        try:
                            result = fn(conn)
                        except Exception as exc:
                            # Raises too when SQLite already ended the whole transaction (disk
                            # full, I/O error): then the whole batch fails below, as it must.
                            raw_execute(conn, _ROLLBACK_TO).close()
                            outcomes.append((False, exc))
                        else:
                            outcomes.append((True, result))
                        raw_execute(conn, _RELEASE).close()
        except Exception as exc:
            if exc is alone_failed:
                # The one operation raised and its transaction rolled back: its own error stands.
                _settle(batch, [(False, exc)])
                return True
            logger.warning("a write transaction of %d request(s) failed: %s", len(batch), exc)
            _fail(batch, exc)
            return False
        _settle(batch, outcomes)
        return True


def _next_batch(jobs: queue.SimpleQueue[_Job | None]) -> list[_Job] | None:
    """The queued jobs (waiting for the first), without cancelled ones; None once stopped."""
    batch: list[_Job] = []
    item = jobs.get()
    while True:
        if item is _STOP:
            if batch:
                jobs.put(_STOP)  # run what was queued before the stop, then stop
                return batch
            return None
        waiter = item[1]
        # A request whose caller gave up before it started is skipped (a read of the state is
        # atomic under the GIL; one cancelled just after still runs, and its answer is dropped).
        if isinstance(waiter, concurrent.futures.Future):
            wanted = waiter.set_running_or_notify_cancel()
        else:
            wanted = not waiter.cancelled()
        if wanted:
            batch.append(item)
        if len(batch) >= MAX_BATCH:
            return batch
        try:
            item = jobs.get_nowait()
        except queue.Empty:
            if batch:
                return batch
            item = jobs.get()


def _fail_queued(jobs: queue.SimpleQueue[_Job | None], exc: BaseException) -> None:
    while True:
        try:
            item = jobs.get_nowait()
        except queue.Empty:
            return
        if item is not _STOP:
            _fail([item], exc)


def _settle(batch: list[_Job], outcomes: list[tuple[bool, Any]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for (_fn, waiter), (ok, value) in zip(batch, outcomes, strict=True):
        if isinstance(waiter, concurrent.futures.Future):
            _resolve(waiter, ok, value)
        else:
            by_loop.setdefault(waiter.get_loop(), []).append((waiter, ok, value))
    for loop, results in by_loop.items():
        # One wake-up of each loop per batch.
        with contextlib.suppress(RuntimeError):  # the loop was closed: nobody is waiting any more
            loop.call_soon_threadsafe(_resolve_all, results)


def _resolve(future: concurrent.futures.Future[Any] | asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # an asyncio waiter cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _resolve_all(results: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in results:
        _resolve(future, ok, value)


def _fail(batch: list[_Job], exc: BaseException) -> None:
    _settle(batch, [(False, exc)] * len(batch))
