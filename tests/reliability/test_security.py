"""Keys hashed, looked up by digest, revocable and never printed; loopback by default; accounts apart;
SQL through bound parameters only."""

from __future__ import annotations

import ast
import asyncio
import hashlib
import logging
import sqlite3
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

import hud
import hud.server
from hud import errors
from hud.job import create_job, iter_jobs, load_job
from hud.server import create_key, dispose, revoke_key
from hud.server._auth import CACHE_TTL_S
from hud.server._tables import api_keys
from hud.settings import get_settings

from ._process import ServerProcess
from ._proxy import FaultProxy
from .conftest import use_server

SERVER_SOURCES = sorted(Path(hud.server.__file__).parent.rglob("*.py"))


def test_keys_are_stored_as_sha256_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    key = create_key(url, "acct")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [tuple(str(v) for v in row) for row in conn.execute(sa.select(api_keys))]
    finally:
        engine.dispose()
        dispose(url)
    assert len(rows) == 1
    assert hashlib.sha256(key.encode()).hexdigest() in rows[0]
    assert not any(key in value or key[4:] in value for value in rows[0])


async def test_a_presented_key_reaches_the_database_only_as_its_sha256(tmp_path: Path) -> None:
    # Keys are looked up by digest: whatever an index lookup's timing reveals is about a SHA-256 of
    # the presented key, which says nothing usable about a valid key; the key itself is never compared.
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    key = create_key(url, "acct")
    dispose(url)  # the server's connections are opened below, each traced
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    sent: list[str] = []  # every statement SQLite ran, with its bound values written in

    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(sent.append)

    sa.event.listen(sa.engine.Engine, "connect", trace)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=hud.server.create_app(url)), base_url="http://hud.test"
        ) as client:
            for presented, status in ((key, 200), (wrong, 401)):
                answer = await client.get("/v2/jobs", headers={"Authorization": f"Bearer {presented}"})
                assert answer.status_code == status
    finally:
        sa.event.remove(sa.engine.Engine, "connect", trace)
        dispose(url)
    for presented in (key, wrong):
        assert any(hashlib.sha256(presented.encode()).hexdigest() in statement for statement in sent)
        assert not any(presented[4:] in statement for statement in sent)


@pytest.mark.live
async def test_key_never_in_logs_reprs_or_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("hud._api.BACKOFF_BASE", 0.001)
    url = f"sqlite:///{tmp_path / 'secret.db'}"
    key, other = create_key(url, "acct"), create_key(url, "other")
    wrong = "hud_" + "w" * 43
    server = ServerProcess(url, tmp_path / "server.log", log_level="debug")
    server.start()
    proxy = FaultProxy(server.port, rate=0.5, delay=0, faults=("503", "429", "drop_before", "truncate"))
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    try:
        use_server(monkeypatch, await proxy.start(), key, timeout=10, retries=6)
        created = await create_job("secret-scenario", metadata={"m": 1})
        seen += [repr(get_settings()), str(get_settings()), repr(created), str(created), repr(created.model_dump())]
        async with await hud.gym.make("gym", task_id="t") as env:
            await env.record_step(observation_text="o", actions=[{"a": 1}])
            seen.append(repr(env))
            await env.close(reward=1.0)
        loaded = await load_job(created.id, api_key=key)
        seen += [repr(loaded), str(await loaded.load_trajectories())]
        for bad in (wrong, other):
            with pytest.raises(errors.HudError) as caught:
                await load_job(created.id, api_key=bad)
            seen += [str(caught.value), repr(caught.value)]
        revoke_key(url, key)
        await asyncio.sleep(CACHE_TTL_S)  # the server process notices within its key cache's lifetime
        with pytest.raises(errors.AuthenticationError) as caught:
            await loaded.update(status="completed")
        seen += [str(caught.value), repr(caught.value)]
        with pytest.raises(errors.InvalidInputError) as refused:
            get_settings().with_api_key(key + " trailing")
        seen.append(str(refused.value))
    finally:
        await hud.aclose()
        await proxy.aclose()
        server.stop()
        dispose(url)
    assert proxy.injected.total() > 0  # retries were logged too
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    server_output = server.log()
    assert "GET /v2/jobs" in server_output or "HTTP/1.1" in server_output  # the debug log did capture
    for secret in (key, other, wrong):
        for text in (logged, server_output, *seen):
            assert secret not in text and secret[4:] not in text


def test_server_binds_loopback_by_default(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads the listening sockets from /proc/net/tcp")
    server = ServerProcess(f"sqlite:///{tmp_path / 'bind.db'}", tmp_path / "server.log", host=None)
    server.start()
    try:
        listening = [
            line.split()[1]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if line.split()[3] == "0A" and line.split()[1].endswith(f":{server.port:04X}")
        ]
        assert "--host" not in server.log()
    finally:
        server.stop()
        dispose(f"sqlite:///{tmp_path / 'bind.db'}")
    assert listening == [f"0100007F:{server.port:04X}"]  # 127.0.0.1 only
    assert f"on http://127.0.0.1:{server.port}" in server.log()


@pytest.mark.live
async def test_no_cross_account_reads_through_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    alice, bob = create_key(url, "alice"), create_key(url, "bob")
    server = ServerProcess(url, tmp_path / "server.log")
    server.start()
    try:
        use_server(monkeypatch, server.base_url, alice, timeout=10, retries=0)
        job = await create_job("alice's", metadata={"secret": "s3"})
        env = await hud.gym.make("gym", job=job)
        await env.record_step(observation_text="private")
        open_env = await hud.gym.make("gym", job=job)
        await env.close(reward=1.0)
        calls = [
            lambda: load_job(job.id, api_key=bob),
            lambda: job.load_trajectories(api_key=bob),
            lambda: _first(job.iter_trajectories(api_key=bob)),
            lambda: job.update(status="hacked", api_key=bob),
            lambda: hud.gym.make("gym", job=job.id, api_key=bob),
        ]
        for call in calls:
            with pytest.raises(errors.NotFoundError) as caught:
                await call()
            assert "s3" not in str(caught.value) and "private" not in str(caught.value)
        assert [j async for j in iter_jobs(api_key=bob)] == []
        # Alice's objects are untouched: her job still running its course, her open env still open.
        assert (await load_job(job.id)).status == "created"
        await open_env.close()
        assert len(await job.load_trajectories()) == 2
    finally:
        await hud.aclose()
        server.stop()
        dispose(url)


async def _first(iterator: object) -> object:
    async for item in iterator:  # type: ignore[attr-defined]
        return item
    return None


def _dynamic_sql(node: ast.Call) -> bool:
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    if name not in {"text", "execute", "exec_driver_sql", "executescript", "executemany"} or not node.args:
        return False
    first = node.args[0]
    formatted = isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute) and first.func.attr == "format"
    return isinstance(first, ast.JoinedStr | ast.BinOp) or formatted


@pytest.mark.parametrize("source", SERVER_SOURCES, ids=lambda p: p.name)
def test_server_sql_uses_bound_parameters_only(source: Path) -> None:
    tree = ast.parse(source.read_text("utf-8"))
    dynamic = [f"{source.name}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Call) and _dynamic_sql(n)]
    assert dynamic == [], "SQL built from strings; use bound parameters"


def test_the_sql_check_catches_string_built_sql() -> None:
    bad = ast.parse('conn.execute(text(f"SELECT * FROM jobs WHERE id = \'{job_id}\'"))\nc.execute("x" + y)')
    assert sum(_dynamic_sql(n) for n in ast.walk(bad) if isinstance(n, ast.Call)) == 2
