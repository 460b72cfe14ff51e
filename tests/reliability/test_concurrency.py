"""200 concurrent decorated calls with 10 environments each: every environment on its own call's job.

Against `hud server --workers 4`, the SDK's pooled connections are sampled from /proc while the calls
run (`_workers.py`): the test fails unless they reached at least two workers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from _workers import ConnectionSampler, Workers

import hud
from hud.job import iter_jobs, job, load_job
from hud.server import create_key

from ._process import ServerProcess
from .conftest import use_server

CALLS = 200
ENVIRONMENTS = 10


@job("concurrent")
async def _call(n: int) -> tuple[str, list[str]]:
    async def episode(i: int) -> str:
        env = await hud.gym.make("gym", task_id=f"{n}-{i}")
        await env.close(reward=n + i / 100, logs=f"{n}-{i}")
        return env.id

    current = hud.current_job()
    assert current is not None
    env_ids = await asyncio.gather(*(episode(i) for i in range(ENVIRONMENTS)))
    return current.id, list(env_ids)


async def _run_and_check() -> None:
    results = await asyncio.gather(*(_call(n) for n in range(CALLS)))
    assert len({job_id for job_id, _ in results}) == CALLS
    for n, (job_id, env_ids) in enumerate(results):
        loaded = await load_job(job_id)
        assert loaded.status == "completed"
        trajectories = await loaded.load_trajectories()
        assert sorted(t.id for t in trajectories) == sorted(env_ids)
        for trajectory in trajectories:
            i = env_ids.index(trajectory.id)
            assert trajectory.reward == n + i / 100
            assert trajectory.logs == f"{n}-{i}"
    assert len([j async for j in iter_jobs(name="concurrent")]) == CALLS


async def test_embedded_default(embedded: Path) -> None:
    await _run_and_check()


@pytest.mark.live
async def test_server_with_4_workers(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = create_key(database_url, "concurrency")
    server = ServerProcess(database_url, tmp_path / "server.log", workers=4)
    server.start()
    try:
        # The default retry budget: on a PostgreSQL shared with other clients, 4 workers' pools can
        # pass max_connections, which the server answers 503 + Retry-After and the SDK absorbs.
        use_server(monkeypatch, server.base_url, key, timeout=60, retries=4)
        with ConnectionSampler(Workers(server.port, 4)) as connections:
            await _run_and_check()
        connections.assert_spread()
    finally:
        await hud.aclose()
        server.stop()
    assert "Traceback" not in server.log()
