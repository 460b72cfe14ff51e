"""A process running a job dies: SIGTERM gives `cancelled`, kill -9 gives `crashed` once the lease runs
out, and either way the steps its open environments recorded are kept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hud
from hud.job import Job, load_job
from hud.server import create_key

from ._process import ServerProcess
from .conftest import use_server

# A job with two environments, each with a step recorded, that then waits to be stopped.
SCRIPT = """
import asyncio, sys
import hud
from hud.job import job

@job("dies")
async def run():
    envs = [await hud.gym.make("g", task_id=f"t{i}") for i in range(2)]
    for env in envs:
        await env.record_step(observation_text="kept")
    print(hud.current_job().id, flush=True)
    await asyncio.sleep(3600)

asyncio.run(run())
"""


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line:
        child.kill()
        raise AssertionError(f"the job's process did not start: {child.communicate()[1]}")
    return child, line


async def _until(job_id: str, status: str, within: float = 60.0) -> Job:
    deadline = time.monotonic() + within
    while True:
        loaded = await load_job(job_id)
        if loaded.status == status or time.monotonic() > deadline:
            return loaded
        await asyncio.sleep(0.2)


def _child_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUD_") or k == "HUD_TEST_POSTGRES_URL"}
    env.update(values)
    return env


async def test_sigterm_cancels_the_job_and_its_environments_then_exits_by_sigterm(embedded: Path) -> None:
    child, job_id = _start(_child_env(HUD_HOME=str(embedded)))
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGTERM, stderr
    loaded = await load_job(job_id)
    assert loaded.status == "cancelled"
    trajectories = await loaded.load_trajectories()
    assert sorted(t.task_id or "" for t in trajectories) == ["t0", "t1"]
    assert {t.error_kind for t in trajectories} == {"cancelled"}
    assert all([s.observation_text for s in t.trajectory] == ["kept"] for t in trajectories)


@pytest.mark.live
async def test_kill_9_leaves_a_crashed_job_once_its_lease_runs_out(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerProcess(database_url, tmp_path / "server.log", extra=["--job-lease", "1"])
    server.start()
    key = create_key(database_url, "acct")
    try:
        child, job_id = _start(_child_env(HUD_BASE_URL=server.base_url, HUD_API_KEY=key, HUD_HEARTBEAT_INTERVAL="0.2"))
        use_server(monkeypatch, server.base_url, key, timeout=10, retries=2)
        assert (await load_job(job_id)).status == "running"
        child.kill()
        child.communicate()
        loaded = await _until(job_id, "crashed")
        assert loaded.status == "crashed"
        trajectories = await loaded.load_trajectories()
        assert sorted(t.task_id or "" for t in trajectories) == ["t0", "t1"]
        assert {t.error_kind for t in trajectories} == {"crashed"}
        assert all([s.observation_text for s in t.trajectory] == ["kept"] for t in trajectories)
        assert [e async for e in loaded.iter_environments(state="open")] == []
    finally:
        await hud.aclose()
        server.stop()
