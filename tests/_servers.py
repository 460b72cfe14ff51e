"""Reusable server helpers for tests: a live `hud server` subprocess and fresh PostgreSQL databases.

Usage:
    from _servers import live_server, postgres_url, fresh_postgres_database

    with live_server("sqlite:///" + str(tmp_path / "hud.db")) as base_url:
        httpx.get(base_url + "/v2/health")

    base = postgres_url()            # None when HUD_TEST_POSTGRES_URL is unset
    with fresh_postgres_database(base) as url:   # a new empty schema, dropped afterwards
        ...
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

import httpx

__all__ = ["POSTGRES_ENV", "free_port", "fresh_postgres_database", "live_server", "postgres_url"]

POSTGRES_ENV = "HUD_TEST_POSTGRES_URL"
# Read at import, before any fixture clears HUD_* variables.
_POSTGRES_URL_AT_IMPORT = os.environ.get(POSTGRES_ENV) or None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(
    database_url: str,
    *,
    workers: int = 1,
    auth: bool = True,
    max_body_bytes: int | None = None,
    startup_timeout: float = 30.0,
    extra: list[str] | None = None,
) -> Iterator[str]:
    """Runs `hud server` (a real uvicorn subprocess) on a free loopback port; yields its base URL.

    Waits for `GET /v2/health` to answer 200 before yielding; terminates the server (SIGTERM, then
    SIGKILL after 10 s) on exit. Its stderr goes to a temporary file, shown if it fails to start.

    Args:
        database_url: The server's `--db`.
        workers: `--workers`.
        auth: False passes `--no-auth` (every request acts as the account `local`).
        max_body_bytes: `--max-body-bytes`, or the server's default.
        startup_timeout: Seconds to wait for health before failing.
        extra: More options (`["--job-lease", "2"]`).
    """
    port = free_port()
    command = [sys.executable, "-m", "hud._cli", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", database_url, "--workers", str(workers), "--log-level", "warning"]
    if not auth:
        command.append("--no-auth")
    if max_body_bytes is not None:
        command += ["--max-body-bytes", str(max_body_bytes)]
    command += extra or []
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            _wait_healthy(process, base_url, startup_timeout, log)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, timeout: float, log: object) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"hud server exited with {process.returncode}:\n{_read(log)}")
            try:
                if client.get("/v2/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"hud server not healthy after {timeout} s:\n{_read(log)}")
            time.sleep(0.05)


def _read(log: object) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    return log.read().decode("utf-8", "replace")  # type: ignore[attr-defined]


def postgres_url() -> str | None:
    """The PostgreSQL server URL tests may use (env HUD_TEST_POSTGRES_URL), or None when unset.

    This is the server's URL for administration: give each test its own database with
    `fresh_postgres_database`.
    """
    return os.environ.get(POSTGRES_ENV) or _POSTGRES_URL_AT_IMPORT


@contextlib.contextmanager
def fresh_postgres_database(base_url: str | None = None) -> Iterator[str]:
    """A fresh, empty, uniquely named schema on the PostgreSQL database of `base_url`; dropped after.

    Yields a `postgresql+psycopg://` URL whose connections use only that schema (`search_path`), so
    to `hud.server` it is an empty database. A schema is ~20x faster to create than a database.
    Pooled connections of `hud.server` to it are disposed before the drop.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    base = base_url or postgres_url()
    if base is None:
        raise RuntimeError(f"{POSTGRES_ENV} is not set")
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"hud_test_{uuid.uuid4().hex[:16]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    database_url = url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
    try:
        yield database_url
    finally:
        from hud.server import dispose

        dispose(database_url)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
