"""Engines: one per database URL per process, tuned for SQLite or PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from hud.server._migrations import migrate
from hud.server._writer import Writer

__all__ = [
    "dispose",
    "get_engine",
    "is_postgres",
    "normalize_url",
    "sqlite_writer",
    "start_background",
    "write_engine",
]

# Writers wait for each other instead of failing with "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30.0
# A PRAGMA takes no bound parameters: the statement is fixed here, from the constant alone.
_BUSY_TIMEOUT_PRAGMA = "PRAGMA busy_timeout = %d" % int(SQLITE_BUSY_TIMEOUT_S * 1000)  # noqa: UP031

_engines: dict[str, Engine] = {}
_writers: dict[Engine, Writer] = {}
# Background threads working on an engine (the idempotency purge): `dispose` waits for them.
_background: dict[Engine, set[threading.Thread]] = {}
_lock = threading.Lock()


def normalize_url(database_url: str) -> str:
    """Maps PostgreSQL URLs without a driver to psycopg 3, the driver `hud[server]` installs."""
    url = database_url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _create_private(path: str) -> None:
    """Creates the database file 0600 (and its folder 0700) when they do not exist yet.

    SQLite creates the `-wal` and `-shm` files with the permissions of the database file, so they
    are private too. Existing files and folders keep the permissions their owner gave them.
    """
    # exist_ok: a folder that exists keeps its mode; only the one created here is 0700 (under umask).
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)  # an empty file is an empty SQLite database


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    in_memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}}
    if in_memory:
        # Every connection to ":memory:" would be a new empty database: share one.
        kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_size"] = 8
        kwargs["max_overflow"] = 32
        if not parsed.query.get("uri"):  # a `file:` URI names its file its own way: leave it to SQLite
            _create_private(os.path.abspath(parsed.database or ""))
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below (pysqlite's own is unusable here).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(_BUSY_TIMEOUT_PRAGMA)
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                # With WAL, NORMAL loses no committed data on a process crash, only on power loss.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that upgrades to a writer
        # later can fail with SQLITE_BUSY without the busy handler being consulted.
        write = conn.get_execution_options().get("hud_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _create(url: str) -> Engine:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL scheme {backend!r}: use sqlite:///path or postgresql+psycopg://...")


def get_engine(database_url: str) -> Engine:
    """The process-wide engine of `database_url`, migrated to the current schema on first use."""
    url = normalize_url(database_url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            try:
                migrate(engine)
            except BaseException:
                engine.dispose()
                raise
            _engines[url] = engine
        return engine


def sqlite_writer(engine: Engine) -> Writer | None:
    """The process's one writer thread of a SQLite engine from `get_engine`; None for PostgreSQL."""
    if is_postgres(engine):
        return None
    with _lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = Writer(write_engine(engine))
        return writer


def start_background(engine: Engine, target: Callable[[], None], name: str) -> None:
    """Runs `target` on a daemon thread that `dispose` waits for before closing the engine."""

    def run() -> None:
        try:
            target()
        finally:
            with _lock:
                _background.get(engine, set()).discard(thread)

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _lock:
        _background.setdefault(engine, set()).add(thread)
    thread.start()


def write_engine(engine: Engine) -> Engine:
    """`engine` with the option that makes SQLite transactions start as `BEGIN IMMEDIATE`."""
    return engine.execution_options(hud_write=True)


def _after_fork_in_child() -> None:
    # A forked child (multiprocessing's default on Linux) inherits the parent's engines, pooled
    # SQLite/PostgreSQL connections and writer objects, but not the writer threads: without this it
    # would queue writes nobody runs, or share connections with its parent.
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)  # the parent keeps using its connections; the child opens its own
    for writer in _writers.values():
        writer.forget_after_fork()
    _background.clear()  # the parent's threads do not run here


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def dispose(database_url: str | None = None) -> None:
    """Closes the pooled connections of one database URL, or of all when None."""
    with _lock:
        urls = [normalize_url(database_url)] if database_url is not None else list(_engines)
        engines = [(url, _engines.get(url)) for url in urls]
    for _url, engine in engines:
        if engine is not None:
            with _lock:
                threads = list(_background.pop(engine, ()))
            for thread in threads:
                thread.join()
    with _lock:
        for url in urls:
            engine = _engines.pop(url, None)
            if engine is not None:
                writer = _writers.pop(engine, None)
                if writer is not None:
                    writer.close()
                engine.dispose()
