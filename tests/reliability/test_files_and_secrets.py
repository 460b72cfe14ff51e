"""Database files are private (0600, in 0700 folders), and the database URL, password included, can come
from the environment or a file instead of the command line, where every local user can read it."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _servers import fresh_postgres_database, postgres_url

import hud
from hud.job import create_job
from hud.server import create_key, dispose
from hud.settings import get_settings

from ._process import ServerProcess

pytestmark = pytest.mark.live


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_default_creates_a_private_home_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "fresh" / ".hud"
    monkeypatch.setenv("HUD_HOME", str(home))
    get_settings.cache_clear()

    async def run() -> None:
        try:
            await create_job("private")
        finally:
            await hud.aclose()

    asyncio.run(run())
    try:
        files = {p.name: _mode(p) for p in home.iterdir()}
        assert _mode(home) == 0o700
        assert files["hud.db"] == 0o600
        # SQLite gives its -wal and -shm files the database file's permissions.
        assert files["hud.db-wal"] == 0o600 and files["hud.db-shm"] == 0o600
    finally:
        dispose(f"sqlite:///{home / 'hud.db'}")


def test_hud_server_creates_its_database_private(tmp_path: Path) -> None:
    folder = tmp_path / "team" / "data"
    url = f"sqlite:///{folder / 'team.db'}"
    server = ServerProcess(url, tmp_path / "server.log", extra=["--no-auth"])
    server.start()
    try:
        assert httpx.post(server.base_url + "/v2/jobs", json={"name": "x"}).status_code == 200
        assert _mode(folder) == 0o700
        assert {p.name: _mode(p) for p in folder.iterdir()} == {
            "team.db": 0o600,
            "team.db-wal": 0o600,
            "team.db-shm": 0o600,
        }
    finally:
        server.stop()


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode()


@pytest.mark.parametrize("how", ["--db-file", "HUD_SERVER_DATABASE_URL_FILE", "HUD_SERVER_DATABASE_URL"])
def test_the_database_url_stays_out_of_the_process_list(tmp_path: Path, how: str) -> None:
    base = postgres_url()
    if base is None:
        pytest.skip("HUD_TEST_POSTGRES_URL is not set: a password needs PostgreSQL")
    with fresh_postgres_database(base) as url:
        password = httpx.URL(url.replace("postgresql+psycopg", "http", 1)).password
        assert password, "the test database URL has a password"
        key = create_key(url, "acct")
        secret = tmp_path / "db-url"
        secret.write_text(url + "\n")
        secret.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUD_")}
        extra: list[str] = []
        if how == "--db-file":
            extra = ["--db-file", str(secret)]
        elif how == "HUD_SERVER_DATABASE_URL_FILE":
            env[how] = str(secret)
        else:
            env[how] = url
        server = ServerProcess("", tmp_path / "server.log", extra=extra)
        server.start(env=env)
        try:
            assert server.process is not None
            # user:password@ never shows (the test server's password is short, so look for the pair).
            assert f":{password}@" not in _cmdline(server.process.pid)
            assert f":{password}@" not in server.log()
            answer = httpx.get(server.base_url + "/v2/jobs", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200  # it serves that database: the key made there is known
        finally:
            server.stop()


def test_a_password_on_the_command_line_is_warned_about(tmp_path: Path) -> None:
    url = "postgresql+psycopg://hud:s3cret-pw@127.0.0.1:1/hud"
    done = subprocess.run(
        [sys.executable, "-m", "hud._cli", "keys", "list", "--db", url], capture_output=True, text=True, timeout=60
    )
    assert "process list" in done.stderr and "--db-file" in done.stderr
    assert "s3cret-pw" not in done.stderr


def test_db_file_problems_are_one_clear_line(tmp_path: Path) -> None:
    def hud_keys(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hud._cli", "keys", "list", *args], capture_output=True, text=True, timeout=60
        )

    missing = hud_keys("--db-file", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "cannot read the database URL" in missing.stderr
    (tmp_path / "empty").write_text("\n")
    empty = hud_keys("--db-file", str(tmp_path / "empty"))
    assert empty.returncode == 1 and "is empty" in empty.stderr
    both = hud_keys("--db", "sqlite:///x.db", "--db-file", str(tmp_path / "empty"))
    assert both.returncode == 1 and "not both" in both.stderr
    good = tmp_path / "url"
    good.write_text(f"sqlite:///{tmp_path / 'k.db'}\n")
    created = subprocess.run(
        [sys.executable, "-m", "hud._cli", "keys", "create", "--account", "a", "--db-file", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0 and (tmp_path / "k.db").exists()
    listed = hud_keys("--db-file", str(good))
    assert listed.returncode == 0 and listed.stdout.count("\n") == 2  # the header and the key
