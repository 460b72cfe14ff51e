"""A `run_job` process killed with kill -9 midway, then resumed: every task ends with exactly `repeats`
counted trajectories, nothing duplicated or lost, and a second resume runs nothing. A resume of a job
whose process still runs is refused."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hud
from hud.errors import JobBusyError
from hud.gym import Environment
from hud.job import Job, Task, iter_jobs, load_job, run_job
from hud.server import create_key
from hud.trajectory import Trajectory

from ._process import ServerProcess
from .conftest import use_server

TASKS = [f"t{i}" for i in range(30)]
REPEATS = 3

# The runner's process: 30 tasks x 3 repeats, 4 at a time, each attempt recording a step.
SCRIPT = f"""
import asyncio
from hud.job import run_job

async def agent(env, task):
    await env.record_step(observation_text="kept")
    await asyncio.sleep(float(__import__("sys").argv[1]))
    return 1.0

asyncio.run(run_job("runner", {TASKS!r}, agent, gym_id="g", repeats={REPEATS}, max_concurrent=4))
"""


async def agent(env: Environment, task: Task) -> float:
    await env.record_step(observation_text="kept")
    return 1.0


def _start(base_url: str, key: str, pause: float) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUD_")}
    env.update(HUD_BASE_URL=base_url, HUD_API_KEY=key, HUD_HEARTBEAT_INTERVAL="0.2")
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(pause)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


async def _job_with(at_least: int, child: subprocess.Popen[bytes], within: float = 60.0) -> Job:
    """The runner's job once it has at least `at_least` trajectories."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()[1].decode()
        found = [j async for j in iter_jobs(name="runner")]
        if found and len(await found[0].load_trajectories()) >= at_least:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the runner did not record {at_least} trajectories in {within} s")


async def _state(job_id: str) -> tuple[str, list[Trajectory], list[str]]:
    job = await load_job(job_id)
    environments = sorted([f"{e.id}:{e.state}" async for e in job.iter_environments()])
    return job.status, await job.load_trajectories(), environments


@pytest.mark.live
async def test_a_runner_killed_midway_resumes_to_exactly_repeats_per_task(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerProcess(database_url, tmp_path / "server.log", extra=["--job-lease", "1"])
    server.start()
    key = create_key(database_url, "acct")
    try:
        monkeypatch.setenv("HUD_HEARTBEAT_INTERVAL", "0.2")  # the lease is 1 s: the resumed run holds it too
        use_server(monkeypatch, server.base_url, key, timeout=10, retries=2)
        child = _start(server.base_url, key, 0.05)
        job = await _job_with(20, child)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        before = await job.load_trajectories()
        open_at_kill = {e.id: e.step_count async for e in job.iter_environments(state="open")}
        assert 20 <= len(before) < len(TASKS) * REPEATS and open_at_kill

        resumed = await run_job("runner", TASKS, agent, gym_id="g", repeats=REPEATS, resume=job.id)

        assert (resumed.id, resumed.status) == (job.id, "completed")
        status, after, environments = await _state(job.id)
        counted = collections.Counter(t.task_id for t in after if t.counts)
        assert counted == dict.fromkeys(TASKS, REPEATS)
        # Nothing lost: every trajectory of the killed run is still there, unchanged.
        by_id = {t.id: t for t in after}
        assert all(by_id[t.id] == t for t in before)
        # Its open environments were closed as crashed, with the steps they had; nothing is left open.
        crashed = [t for t in after if t.id in open_at_kill]
        assert {t.error_kind for t in crashed} == {"crashed"} and len(crashed) == len(open_at_kill)
        assert all([s.observation_text for s in t.trajectory] == ["kept"] * open_at_kill[t.id] for t in crashed)
        assert len(after) == len(TASKS) * REPEATS + len(crashed) and len(by_id) == len(after)
        assert all(e.endswith(":closed") for e in environments)

        again = await run_job("runner", TASKS, agent, gym_id="g", repeats=REPEATS, resume=job.id)
        assert again.status == "completed"
        assert await _state(job.id) == (status, after, environments)
    finally:
        await hud.aclose()
        server.stop()


@pytest.mark.live
async def test_resuming_a_job_whose_runner_is_alive_is_refused(
    sqlite_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create_key(sqlite_server.database_url, "acct")
    use_server(monkeypatch, sqlite_server.base_url, key, timeout=10, retries=2)
    child = _start(sqlite_server.base_url, key, 3600)
    try:
        job = await _job_with(0, child)
        while (await load_job(job.id)).heartbeat_at is None:  # noqa: ASYNC110 - polling the server
            await asyncio.sleep(0.05)
        with pytest.raises(JobBusyError, match="being run by another process"):
            await run_job("runner", TASKS, agent, gym_id="g", repeats=REPEATS, resume=job.id)
        assert await job.load_trajectories() == []
        assert len([e async for e in job.iter_environments()]) == 4  # the live runner's only
    finally:
        child.kill()
        child.communicate()
        await hud.aclose()
