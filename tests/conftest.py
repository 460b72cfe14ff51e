"""Shared fixtures: a clean environment for every test, respx at a fixed base URL."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from _payloads import API_KEY, BASE_URL
from _servers import live_server

import hud
from hud.server import create_key, dispose
from hud.settings import get_settings

# Read before any fixture clears HUD_* variables.
_POSTGRES_REQUIRED = bool(os.environ.get("HUD_TEST_POSTGRES_URL"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """With HUD_TEST_POSTGRES_URL set (CI), a skipped PostgreSQL test is a failure, not a pass."""
    report: pytest.TestReport = yield
    if _POSTGRES_REQUIRED and report.skipped and item.get_closest_marker("postgres") is not None:
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: skipped although HUD_TEST_POSTGRES_URL is set: {report.longrepr}"
    return report


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The developer's shell (HUD_*, a .env in the checkout, ~/.hud) never leaks into a test."""
    for name in list(os.environ):
        if name.startswith("HUD_") and name != "HUD_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUD_HOME", str(tmp_path / "hud-home"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """Settings pointing at a server at BASE_URL with API_KEY; HTTP answered by the returned respx router."""
    monkeypatch.setenv("HUD_BASE_URL", BASE_URL)
    monkeypatch.setenv("HUD_API_KEY", API_KEY)
    monkeypatch.setenv("HUD_MAX_RETRIES", "2")
    # Backoff is not what these tests measure: keep retries instant.
    monkeypatch.setattr("hud._api.BACKOFF_BASE", 0.0)
    get_settings.cache_clear()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        # A server without heartbeats, as the platform: `@job` sends one, hears 404 and stops.
        router.post(path__regex=r"^/v2/jobs/[^/]+/heartbeat$", name="heartbeat").respond(
            404, json={"detail": "no such path"}
        )
        yield router


@pytest.fixture
async def embedded() -> AsyncIterator[Path]:
    """The embedded default (no key, no base URL) on a fresh SQLite file; yields the HUD home folder."""
    settings = get_settings()
    assert settings.mode == "embedded"
    yield settings.home
    await hud.aclose()


@pytest.fixture
def sdk_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the delays the SDK (hud/, not hud/server/) asks `asyncio.sleep` for; it sleeps 0 instead.

    Other callers (a test's fault proxy, the libraries) sleep as asked.
    """
    slept: list[float] = []
    real = asyncio.sleep

    def sleep(delay: float, result: Any = None) -> Coroutine[Any, Any, Any]:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("hud.") and not caller.startswith("hud.server"):
            slept.append(delay)
            return real(0, result)
        return real(delay, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return slept


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A live `hud server` on SQLite shared by a module's tests: (base URL, database URL)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('team') / 'team.db'}"
    with live_server(url) as base_url:
        yield base_url, url
    dispose(url)


@pytest.fixture
def target(team: tuple[str, str]) -> tuple[str, str]:
    """(base URL, key of an account of this test's own) on the module's live server (`team`)."""
    base_url, url = team
    return base_url, create_key(url, f"acct-{uuid.uuid4().hex[:8]}")
