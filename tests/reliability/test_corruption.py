"""A SQLite file with damaged pages: refused at start, found by `--check-db`, and at run time answered
with a 500 that says what to do and that the SDK does not retry; health reads real data."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from _servers import free_port

import hud
from hud import errors
from hud.job import load_job
from hud.server import create_app, dispose

from .conftest import use_server

pytestmark = pytest.mark.live


def _damaged(tmp_path: Path) -> tuple[str, str]:
    """A database of 300 jobs whose newer half of the file is overwritten; (its URL, the newest job id)."""
    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    app = create_app(url, auth=False)
    last = ""

    async def fill() -> None:
        nonlocal last
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            for i in range(300):
                job = (await client.post("/v2/jobs", json={"name": f"job {i}", "metadata": {"pad": "y" * 1500}})).json()
                last = job["id"]

    asyncio.run(fill())
    dispose(url)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = path.stat().st_size // 4096
    noise = random.Random(11)
    with path.open("r+b") as file:
        for page in range(pages // 2, pages):  # the newest rows live at the end of the file
            file.seek(page * 4096)
            file.write(noise.randbytes(4096))
    return url, last


def _first_answer(client: httpx.Client, path: str) -> httpx.Response:
    """The first answer of a server still starting (connection refused until it listens)."""
    for _ in range(1200):
        try:
            return client.get(path)
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the server never answered")


def _hud(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hud._cli", *args], capture_output=True, text=True, timeout=120)


def test_the_start_check_refuses_a_damaged_database(tmp_path: Path) -> None:
    url, _ = _damaged(tmp_path)
    done = _hud("server", "--db", url, "--port", "0")
    assert done.returncode == 1, done.stderr
    assert "is damaged" in done.stderr and "backup" in done.stderr


def test_check_db_reports_damage_and_health(tmp_path: Path) -> None:
    url, _ = _damaged(tmp_path)
    damaged = _hud("server", "--check-db", "--db", url)
    assert damaged.returncode == 1 and "is damaged" in damaged.stderr
    assert "page" in damaged.stderr.lower()  # SQLite's own findings are shown
    healthy_url = f"sqlite:///{tmp_path / 'healthy.db'}"
    create_app(healthy_url, auth=False)
    dispose(healthy_url)
    healthy = _hud("server", "--check-db", "--db", healthy_url)
    assert healthy.returncode == 0 and "healthy" in healthy.stderr


def test_damage_at_run_time_is_a_500_the_sdk_does_not_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url, last_job = _damaged(tmp_path)
    # Started anyway (--no-start-check), as a server would be whose file got damaged while it ran.
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "hud._cli", "server", "--port", str(port), "--db", url]
    command += ["--no-auth", "--no-start-check", "--log-level", "warning"]
    with (tmp_path / "server.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        with httpx.Client(base_url=base_url) as client:
            health = _first_answer(client, "/v2/health")
            # Health reads real rows: before any request met the damage, it does not say ok.
            assert health.status_code == 500, health.text
            assert health.headers["x-should-retry"] == "false"
            assert "--check-db" in health.json()["detail"]
            listed = client.get("/v2/jobs", params={"limit": 1000})
            assert listed.status_code == 500 and listed.headers["x-should-retry"] == "false"
            assert "damaged" in listed.json()["detail"] and "retry" in listed.json()["detail"]
            # Nothing more is written into a damaged file.
            written = client.post("/v2/jobs", json={"name": "after"})
            assert written.status_code == 500 and "damaged" in written.json()["detail"]
        use_server(monkeypatch, base_url, "hud_" + "k" * 43, timeout=10, retries=4)
        caplog.set_level(logging.WARNING, logger="hud")

        async def load() -> None:
            try:
                await load_job(last_job)
            finally:
                await hud.aclose()

        with pytest.raises(errors.ServerError) as raised:
            asyncio.run(load())
        assert raised.value.status_code == 500 and "--check-db" in raised.value.detail
        assert not [r for r in caplog.records if "retry" in r.getMessage()]  # raised at once, never retried
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_postgres_damage_sqlstates_are_damage() -> None:
    from hud.server._check import is_damage

    psycopg = pytest.importorskip("psycopg")
    assert is_damage(psycopg.errors.DataCorrupted("x"))
    assert is_damage(psycopg.errors.IndexCorrupted("x"))
    assert not is_damage(psycopg.errors.SerializationFailure("x"))
    assert not is_damage(sqlite3.OperationalError("database is locked"))
