"""Fixtures of the reliability tests: real `hud server` processes, fast retries, a fault proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from _servers import fresh_postgres_database, postgres_url

import hud
from hud.server import dispose
from hud.settings import get_settings

from ._process import ServerProcess


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file, and a fresh PostgreSQL schema (skipped when HUD_TEST_POSTGRES_URL is unset)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'reliability.db'}"
        yield url
        dispose(url)
        return
    base = postgres_url()
    if base is None:
        pytest.skip("HUD_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` provides a PostgreSQL server")
    with fresh_postgres_database(base) as url:
        yield url


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff of milliseconds: these tests count what arrives, not how long the SDK waits."""
    monkeypatch.setattr("hud._api.BACKOFF_BASE", 0.005)
    monkeypatch.setattr("hud._api.BACKOFF_CAP", 0.05)


def use_server(monkeypatch: pytest.MonkeyPatch, base_url: str, key: str, *, timeout: float, retries: int) -> None:
    """Points the SDK's settings (HUD_BASE_URL, HUD_API_KEY, HUD_TIMEOUT, HUD_MAX_RETRIES) at a server."""
    monkeypatch.setenv("HUD_BASE_URL", base_url)
    monkeypatch.setenv("HUD_API_KEY", key)
    monkeypatch.setenv("HUD_TIMEOUT", str(timeout))
    monkeypatch.setenv("HUD_MAX_RETRIES", str(retries))
    get_settings.cache_clear()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A running `hud server` (one worker) on `database_url`."""
    process = ServerProcess(database_url, tmp_path / "server.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A `hud server` on SQLite only, for the tests whose PostgreSQL run would add time but no coverage."""
    url = f"sqlite:///{tmp_path / 'sqlite-only.db'}"
    process = ServerProcess(url, tmp_path / "server.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()
        dispose(url)


@pytest.fixture
async def sdk_cleanup() -> AsyncIterator[None]:
    """Closes the SDK's pooled connections after the test."""
    yield
    await hud.aclose()


def count_jobs(base_url: str, key: str) -> list[dict[str, object]]:
    """Every job of the key's account, read straight from the server (no proxy, no SDK)."""
    jobs: list[dict[str, object]] = []
    params: dict[str, str | int] = {"limit": 1000}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        while True:
            page = client.get("/v2/jobs", params=params)
            assert page.status_code == 200, page.text
            jobs.extend(page.json()["items"])
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return jobs
            params["cursor"] = cursor
