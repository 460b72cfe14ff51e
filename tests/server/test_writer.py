"""SQLite's writer thread: queued requests share a transaction, each in its own savepoint.

A blocker operation holds the writer while the operations under test queue up behind it, so they
run as one batch whatever the timing. A `CommitGate` holds each COMMIT until the test lets it
through, so "answered only after the commit" is checked while the commit is still pending, not by
a race.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Engine, bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from hud.server import create_app, create_key
from hud.server._db import get_engine, sqlite_writer
from hud.server._sql import Statement, raw_execute
from hud.server._tables import api_keys
from hud.server._writer import MAX_BATCH, Writer

from .conftest import BASE, Api, detail

_insert = Statement(insert(api_keys))
_ids = Statement(select(api_keys.c.id).order_by(api_keys.c.id))


def _row(key_id: str) -> dict[str, Any]:
    return {"id": key_id, "account": "a", "key_hash": "h-" + key_id, "created_at": "2026-01-01", "revoked_at": None}


def _add(key_id: str) -> Callable[[Connection], str]:
    def op(conn: Connection) -> str:
        _insert.run(conn, _row(key_id))
        return key_id

    return op


def _stored_in(conn: Connection) -> list[str]:
    return [key_id for (key_id,) in _ids.all(conn, {})]


def _stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return _stored_in(conn)


class Held:
    """An operation that keeps the writer busy until released, so that others queue behind it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, conn: Connection) -> str:
        self.started.set()
        assert self.release.wait(10)
        return "held"


_OPEN = object()


class CommitGate:
    """Holds every write transaction's COMMIT on an engine until the test lets it through (or makes it fail).

    Read transactions (a request's key lookup, say) commit freely: only writes are under test.

    A SQLAlchemy "commit" listener runs in the committing thread just before the database's COMMIT:
    blocking there keeps the transaction uncommitted for as long as the test needs.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reached = threading.Semaphore(0)
        self._verdicts: queue.SimpleQueue[Exception | object | None] = queue.SimpleQueue()

    def __enter__(self) -> CommitGate:
        event.listen(self.engine, "commit", self._on_commit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "commit", self._on_commit)
        self._verdicts.put(_OPEN)  # a COMMIT still held (the test failed meanwhile) goes through

    def _on_commit(self, conn: Connection) -> None:
        if not conn.get_execution_options().get("hud_write", False):
            return
        self._reached.release()
        verdict = self._verdicts.get(timeout=30)
        if verdict is _OPEN:
            self._verdicts.put(_OPEN)
        elif verdict is not None:
            raise verdict

    def wait_reached(self) -> None:
        """Returns once a transaction is at its COMMIT (held there)."""
        assert self._reached.acquire(timeout=30), "no transaction reached its COMMIT"

    def let_through(self) -> None:
        self._verdicts.put(None)

    def fail(self, exc: Exception) -> None:
        """The held COMMIT raises `exc`, as a COMMIT failing in the database would."""
        self._verdicts.put(exc)


def _commit_failed() -> OperationalError:
    return OperationalError("COMMIT", None, sqlite3.OperationalError("disk I/O error"))


@pytest.fixture
def engine(db_url: str) -> Engine:
    return get_engine(db_url)


@pytest.fixture
def writer(engine: Engine) -> Iterator[Writer]:
    found = sqlite_writer(engine)
    assert found is not None
    yield found
    found.close()


def _queue_behind(writer: Writer, ops: list[Callable[[Connection], Any]]) -> list[concurrent.futures.Future[Any]]:
    held = Held()
    first = writer.submit(held)
    assert held.started.wait(10)
    futures = [writer.submit(op) for op in ops]
    held.release.set()
    assert first.result(10) == "held"
    return futures


def test_a_failing_request_rolls_back_alone(writer: Writer, engine: Engine) -> None:
    def fails(conn: Connection) -> str:
        _insert.run(conn, _row("b"))
        raise LookupError("no such thing")

    futures = _queue_behind(writer, [_add("a"), fails, _add("c")])
    assert futures[0].result(10) == "a"
    with pytest.raises(LookupError, match="no such thing"):
        futures[1].result(10)
    assert futures[2].result(10) == "c"
    assert _stored(engine) == ["a", "c"]


def test_a_broken_transaction_fails_the_whole_batch_and_the_writer_recovers(writer: Writer, engine: Engine) -> None:
    def ends_the_transaction(conn: Connection) -> str:
        # What SQLite does by itself on a full disk or an I/O error: the savepoints are gone.
        raw_execute(conn, "ROLLBACK").close()
        raise OSError("disk I/O error")

    futures = _queue_behind(writer, [_add("a"), ends_the_transaction, _add("c")])
    for future in futures:
        with pytest.raises(OperationalError, match="no such savepoint"):
            future.result(10)
    # Nothing of the batch is stored, and "a" was not reported as done either.
    assert _stored(engine) == []
    assert writer.submit(_add("d")).result(10) == "d"
    assert _stored(engine) == ["d"]


def test_a_batch_is_answered_only_after_its_commit(writer: Writer, engine: Engine) -> None:
    with CommitGate(engine) as gate:
        alone = writer.submit(_add("a"))
        gate.wait_reached()
        # The writer is inside a's COMMIT: these queue and run next, as one batch.
        batch = [writer.submit(_add(key_id)) for key_id in ("b", "c", "d")]
        assert not alone.done(), "answered before its COMMIT"
        gate.let_through()
        assert alone.result(10) == "a"
        gate.wait_reached()
        assert [f.done() for f in batch] == [False] * 3, "answered before their COMMIT"
        assert _stored(engine) == ["a"]  # another connection does not see b, c, d yet
        gate.let_through()
        assert [f.result(10) for f in batch] == ["b", "c", "d"]
    assert _stored(engine) == ["a", "b", "c", "d"]


async def test_awaited_requests_are_answered_only_after_their_commit(writer: Writer, engine: Engine) -> None:
    with CommitGate(engine) as gate:
        tasks = [asyncio.create_task(writer.run(_add(key_id))) for key_id in ("a", "b")]
        await asyncio.sleep(0)  # both are queued
        # When this returns to the loop, whatever the writer handed to the loop before reaching its
        # COMMIT has run (call_soon_threadsafe keeps order): a waiter woken early is done by then.
        await asyncio.to_thread(gate.wait_reached)
        for _ in range(10):
            await asyncio.sleep(0)
        assert [t.done() for t in tasks] == [False, False], "answered before the COMMIT"
        gate.let_through()
        assert await asyncio.wait_for(asyncio.gather(*tasks), 10) == ["a", "b"]
    assert _stored(engine) == ["a", "b"]


def test_a_failing_commit_fails_every_request_of_its_batch(writer: Writer, engine: Engine) -> None:
    with CommitGate(engine) as gate:
        first = writer.submit(_add("a"))
        gate.wait_reached()
        batch = [writer.submit(_add(key_id)) for key_id in ("b", "c", "d")]
        gate.let_through()
        assert first.result(10) == "a"
        gate.wait_reached()
        gate.fail(_commit_failed())
        for future in batch:
            with pytest.raises(OperationalError, match="disk I/O error"):
                future.result(10)
        # The writer recovers: the next request commits on its own.
        after = writer.submit(_add("e"))
        gate.wait_reached()
        gate.let_through()
        assert after.result(10) == "e"
    assert _stored(engine) == ["a", "e"]


def test_a_duplicate_insert_is_sqlalchemys_integrity_error_without_the_values(writer: Writer) -> None:
    assert writer.submit(_add("a")).result(10) == "a"
    with pytest.raises(IntegrityError) as caught:
        writer.submit(_add("a")).result(10)
    assert "h-a" not in str(caught.value)


def test_queued_requests_share_one_transaction_up_to_the_cap(writer: Writer, engine: Engine) -> None:
    commits: list[int] = []

    def on_commit(conn: Connection) -> None:
        commits.append(len(_stored_in(conn)))

    ids = [f"k{i:03d}" for i in range(MAX_BATCH + 5)]
    event.listen(engine, "commit", on_commit)
    try:
        futures = _queue_behind(writer, [_add(i) for i in ids])
        assert [f.result(10) for f in futures] == ids
    finally:
        event.remove(engine, "commit", on_commit)
    # The blocker commits alone, then MAX_BATCH requests in one transaction, then the last 5.
    assert commits == [0, MAX_BATCH, MAX_BATCH + 5]
    assert _stored(engine) == ids


def test_a_cancelled_request_never_runs(writer: Writer, engine: Engine) -> None:
    held = Held()
    first = writer.submit(held)
    assert held.started.wait(10)
    dropped = writer.submit(_add("dropped"))
    kept = writer.submit(_add("kept"))
    assert dropped.cancel()
    held.release.set()
    first.result(10)
    assert kept.result(10) == "kept"
    assert _stored(engine) == ["kept"]


async def test_an_awaited_request_cancelled_before_it_starts_never_runs(writer: Writer, engine: Engine) -> None:
    held = Held()
    first = writer.submit(held)
    assert held.started.wait(10)
    dropped = asyncio.create_task(writer.run(_add("dropped")))
    kept = asyncio.create_task(writer.run(_add("kept")))
    await asyncio.sleep(0)  # both are queued now
    dropped.cancel()
    held.release.set()
    assert await asyncio.wait_for(kept, 10) == "kept"
    assert dropped.cancelled()
    first.result(10)
    assert _stored(engine) == ["kept"]


def test_close_runs_what_is_queued_and_a_later_submit_starts_again(writer: Writer, engine: Engine) -> None:
    held = Held()
    writer.submit(held)
    assert held.started.wait(10)
    queued = writer.submit(_add("queued"))
    closing = threading.Thread(target=writer.close)
    closing.start()
    held.release.set()
    closing.join(10)
    assert not closing.is_alive()
    assert queued.result(0) == "queued"
    assert writer.submit(_add("after")).result(10) == "after"
    assert _stored(engine) == ["after", "queued"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_writes_through_a_writer_of_its_own(writer: Writer, engine: Engine, db_url: str) -> None:
    # multiprocessing forks by default on Linux: the child inherits the writer but not its thread.
    assert writer.submit(_add("parent")).result(10) == "parent"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code only
        code = 1
        try:
            child = sqlite_writer(get_engine(db_url))
            code = 0 if child is not None and child.submit(_add("child")).result(10) == "child" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert writer.submit(_add("parent-again")).result(10) == "parent-again"
    assert _stored(engine) == ["child", "parent", "parent-again"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_writer_thread_fails_what_it_left_queued_and_is_replaced(
    writer: Writer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug that killed the thread must not leave every later write waiting forever.
    def broken(jobs: object) -> None:
        raise RuntimeError("bug in the writer")

    monkeypatch.setattr("hud.server._writer._next_batch", broken)
    stranded = writer.submit(_add("stranded"))
    thread = writer._thread
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    monkeypatch.undo()

    assert writer.submit(_add("after")).result(10) == "after"
    with pytest.raises(RuntimeError, match="writer thread stopped"):
        stranded.result(0)
    assert _stored(engine) == ["after"]


def test_statement_needs_every_parameter_by_name(engine: Engine) -> None:
    by_id = Statement(select(api_keys.c.account).where(api_keys.c.id == bindparam("id")))
    literal = Statement(select(api_keys.c.account).where(api_keys.c.id == "x"))
    with engine.connect() as conn:
        assert by_id.one(conn, {"id": "nothing"}) is None
        with pytest.raises(TypeError, match="bind every parameter by name"):
            literal.one(conn, {})


async def test_concurrent_requests_through_the_app_each_answered_once(db_url: str) -> None:
    key = create_key(db_url, "alice")
    app = create_app(db_url)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers) as client:
        job = (await client.post("/v2/jobs", json={"name": "batch"})).json()["id"]

        async def pair(i: int) -> str:
            env = await client.post("/v2/create_environment", json={"run_id": job, "gym_id": "g"})
            assert env.status_code == 200, env.text
            env_id = str(env.json()["id"])
            if i % 5 == 0:  # some closes fail inside a batch: closing an unknown environment
                missing = await client.post("/v2/environments/nope/close", json={})
                assert missing.status_code == 404
            closed = await client.post(f"/v2/environments/{env_id}/close", json={"reward": i})
            assert closed.status_code == 200, closed.text
            return env_id

        env_ids = await asyncio.gather(*(pair(i) for i in range(60)))
        listed = (await client.get(f"/v2/jobs/{job}/trajectories")).json()
    assert len(set(env_ids)) == 60
    assert sorted(t["id"] for t in listed) == sorted(env_ids)
    assert sorted(t["reward"] for t in listed) == list(range(60))


async def _loop_turns(n: int = 100) -> None:
    """Lets the event loop run `n` times: an answer already on its way (no I/O left) gets out."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_the_app_answers_a_write_only_after_its_commit(api: Api) -> None:
    with CommitGate(get_engine(api.database_url)) as gate:
        answer = asyncio.create_task(api.request("POST", "/v2/jobs", json={"name": "held"}))
        await asyncio.to_thread(gate.wait_reached)
        await _loop_turns()
        assert not answer.done(), "answered before the COMMIT"
        gate.let_through()
        created = await asyncio.wait_for(answer, 10)
    assert created.status_code == 200, created.text
    assert [j["id"] for j in (await api.ok("GET", "/v2/jobs"))["items"]] == [created.json()["id"]]


async def test_a_commit_that_fails_answers_503_and_stores_nothing(api: Api) -> None:
    with CommitGate(get_engine(api.database_url)) as gate:
        answer = asyncio.create_task(api.request("POST", "/v2/jobs", json={"name": "lost"}))
        await asyncio.to_thread(gate.wait_reached)
        gate.fail(_commit_failed())
        response = await asyncio.wait_for(answer, 10)
    assert "retry" in detail(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert (await api.ok("GET", "/v2/jobs"))["items"] == []
