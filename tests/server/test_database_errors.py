"""A database that is busy, unreachable or out of connections answers 503 with `Retry-After`, never a 500.

Clients (the SDK among them) retry a 503 after the time it names; once the database is back, the same
requests succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from _servers import fresh_postgres_database, postgres_url
from sqlalchemy.engine import make_url

from hud.server import create_app, create_key, dispose
from hud.server._db import get_engine

from .conftest import BASE, detail


def _assert_unavailable(response: httpx.Response) -> None:
    assert "retry" in detail(response, 503)
    assert float(response.headers["Retry-After"]) > 0


@contextlib.asynccontextmanager
async def _client(database_url: str, key: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(database_url))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as client:
        yield client


async def test_sqlite_locked_by_another_writer_answers_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The busy timeout is 30 s in production: shortened, or the request would wait that long first.
    monkeypatch.setattr("hud.server._db.SQLITE_BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setattr("hud.server._db._BUSY_TIMEOUT_PRAGMA", "PRAGMA busy_timeout = 200")
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    key = create_key(url, "acct")
    dispose(url)  # the app's engine is made below, with the short timeout
    try:
        async with _client(url, key) as client:
            assert (await client.post("/v2/jobs", json={"name": "before"})).status_code == 200
            other = sqlite3.connect(path, isolation_level=None)  # another process's writer, say `hud keys`
            try:
                other.execute("BEGIN IMMEDIATE")
                _assert_unavailable(await client.post("/v2/jobs", json={"name": "blocked"}))
                # Reads do not wait for the writer (WAL).
                listed = await client.get("/v2/jobs")
                assert [j["name"] for j in listed.json()["items"]] == ["before"]
            finally:
                other.rollback()
                other.close()
            assert (await client.post("/v2/jobs", json={"name": "after"})).status_code == 200
            names = [j["name"] for j in (await client.get("/v2/jobs")).json()["items"]]
    finally:
        dispose(url)
    assert names == ["after", "before"]


class _Relay:
    """A TCP relay on loopback to PostgreSQL, which the test can cut (the database becomes unreachable)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Closes the listener and every relayed connection."""
        with self._lock:
            doomed = [*self._sockets, *([self._listener] if self._listener else [])]
            self._sockets.clear()
            self._listener = None
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def postgres_base() -> str:
    base = postgres_url()
    if base is None:
        pytest.skip("HUD_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` provides a PostgreSQL server")
    return base


@pytest.mark.postgres
async def test_postgres_unreachable_answers_503_and_recovers(postgres_base: str) -> None:
    real = make_url(postgres_base)
    relay = _Relay((real.host or "127.0.0.1", real.port or 5432))
    relay.start()
    through_relay = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    try:
        with fresh_postgres_database(through_relay) as url:
            key = create_key(url, "acct")
            async with _client(url, key) as client:
                assert (await client.post("/v2/jobs", json={"name": "before"})).status_code == 200
                relay.cut()
                _assert_unavailable(await client.post("/v2/jobs", json={"name": "lost"}))
                _assert_unavailable(await client.get("/v2/jobs"))
                _assert_unavailable(await client.get("/v2/health"))
                relay.start()  # the same port: the database is back
                assert (await client.post("/v2/jobs", json={"name": "after"})).status_code == 200
                names = [j["name"] for j in (await client.get("/v2/jobs")).json()["items"]]
    finally:
        relay.cut()
    assert names == ["after", "before"]


@contextlib.contextmanager
def _role_with_one_connection(base: str) -> Iterator[str]:
    """A database URL as a new role that may hold one connection, in a schema of its own."""
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"hud_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{name}' CONNECTION LIMIT 1")
        conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
    url = (
        make_url(base)
        .set(drivername="postgresql+psycopg", username=name, password=name)
        .update_query_dict({"options": f"-csearch_path={name}"})
        .render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        dispose(url)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            conn.execute(f"DROP ROLE IF EXISTS {name}")


@contextlib.contextmanager
def _connect_when_free(url: str) -> Iterator[psycopg.Connection]:
    # A closed connection's backend leaves PostgreSQL's count a moment after the close.
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(url)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with conn:
        yield conn


async def _once_back(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """`send()` again while it answers 503 (as a client honouring Retry-After would), up to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        response = await send()
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.05)


@pytest.mark.postgres
async def test_postgres_out_of_connections_answers_503(postgres_base: str) -> None:
    # What `max_connections` does to a busy server: PostgreSQL refuses the connection (SQLSTATE 53300,
    # too_many_connections), here through a role's own connection limit so other clients are spared.
    with _role_with_one_connection(postgres_base) as url:
        key = create_key(url, "acct")
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with _client(url, key) as client:
            get_engine(url).dispose()  # the app's pooled connection closes: the role's one connection is free
            with _connect_when_free(plain) as squatter:  # and someone else takes it
                squatter.execute("SELECT 1")
                _assert_unavailable(await client.post("/v2/jobs", json={"name": "refused"}))
                _assert_unavailable(await client.get("/v2/jobs"))
            created = await _once_back(lambda: client.post("/v2/jobs", json={"name": "after"}))
            assert created.status_code == 200, created.text
            assert [j["name"] for j in (await client.get("/v2/jobs")).json()["items"]] == ["after"]
