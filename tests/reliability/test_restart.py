"""With default settings, calls made while the server restarts (down for 10 s) succeed once it is back.

Only HUD_BASE_URL and HUD_API_KEY are set: the retry budget under test is the default one, measured by
what the SDK does against a real `hud server` that is stopped and started again, not read from
constants. Each call that had to wait logs one warning, not one per retry.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hud.job import create_job, iter_jobs, load_job
from hud.server import create_key
from hud.settings import get_settings

from ._process import ServerProcess

DOWN_S = 10.0


async def test_calls_ride_out_a_10_s_server_restart_with_one_warning_each(
    sqlite_server: ServerProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, sdk_cleanup: None
) -> None:
    server = sqlite_server
    monkeypatch.setenv("HUD_BASE_URL", server.base_url)
    monkeypatch.setenv("HUD_API_KEY", create_key(server.database_url, "restart"))
    get_settings.cache_clear()
    before = await create_job("before the restart")  # the pool now holds a connection the restart breaks

    server.stop()
    started = time.monotonic()
    caplog.set_level(logging.INFO, logger="hud")
    # A write (POST, with its Idempotency-Key) and a read, both sent while nothing listens.
    calls = asyncio.gather(create_job("during the restart"), load_job(before.id))
    await asyncio.sleep(DOWN_S)
    await asyncio.to_thread(server.start)
    created, loaded = await calls
    waited = time.monotonic() - started

    assert waited >= DOWN_S
    assert loaded.id == before.id
    names = [j.name async for j in iter_jobs()]
    assert sorted(names) == ["before the restart", "during the restart"]  # written once, not twice
    assert created.name == "during the restart"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings  # one per call, however many retries it took
    assert all(server.base_url in w for w in warnings)
    recovered = [r for r in caplog.records if "succeeded after" in r.getMessage()]
    assert [r.levelno for r in recovered] == [logging.INFO, logging.INFO]
