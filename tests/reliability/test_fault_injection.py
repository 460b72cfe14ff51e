"""The SDK through a misbehaving proxy to a real `hud server`: retries that never duplicate."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

import hud
from hud.job import create_job, job, load_job
from hud.server import create_key
from hud.server._tables import environments, steps

from ._process import ServerProcess
from ._proxy import FAULTS, FaultProxy
from .conftest import count_jobs, use_server

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("fast_retries", "sdk_cleanup")]

TIMEOUT = 1.0
# Only the first two attempts of a request can be faulted, so 6 retries always get through.
RETRIES = 6


@contextlib.asynccontextmanager
async def faulty(server: ServerProcess) -> AsyncIterator[FaultProxy]:
    """A proxy to `server` that faults 35% of first and second attempts; delays go past TIMEOUT."""
    fault_proxy = FaultProxy(server.port, rate=0.35, delay=TIMEOUT + 0.5)
    await fault_proxy.start()
    try:
        yield fault_proxy
    finally:
        await fault_proxy.aclose()


async def test_500_create_job_through_faults_make_exactly_500_jobs(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create_key(server.database_url, "faults")
    async with faulty(server) as proxy:
        ids = await _create_500(proxy, key, monkeypatch)
    on_server = count_jobs(server.base_url, key)
    assert len(on_server) == 500
    assert sorted(j["id"] for j in on_server) == sorted(ids)
    assert sorted(j["name"] for j in on_server) == sorted(f"job-{i}" for i in range(500))
    # The run met every fault, so it proves something about each.
    assert set(proxy.injected) == set(FAULTS), proxy.injected
    assert proxy.requests > 500


async def _create_500(proxy: FaultProxy, key: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    use_server(monkeypatch, proxy.url, key, timeout=TIMEOUT, retries=RETRIES)
    limit = asyncio.Semaphore(32)

    async def one(i: int) -> str:
        async with limit:
            created = await create_job(f"job-{i}", metadata={"i": i})
        assert (created.name, created.metadata) == (f"job-{i}", {"i": i})
        return created.id

    # return_exceptions=False: any error reaching a caller fails the test.
    return await asyncio.gather(*(one(i) for i in range(500)))


async def test_decorated_run_of_100_environments_through_faults(
    sqlite_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sqlite_server
    key = create_key(server.database_url, "faults")
    async with faulty(server) as proxy:
        job_id, env_ids = await _decorated_run(proxy, key, monkeypatch)
    on_server = await _read_back(server, key, job_id, env_ids, monkeypatch)
    assert on_server == (100, 200)
    assert proxy.injected.total() > 50, proxy.injected


async def _decorated_run(proxy: FaultProxy, key: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    use_server(monkeypatch, proxy.url, key, timeout=TIMEOUT, retries=RETRIES)
    limit = asyncio.Semaphore(32)

    async def episode(i: int) -> str:
        async with limit:
            env = await hud.gym.make("gym", task_id=f"task-{i}")
            await env.record_step(observation_text=f"{i}-a", actions=[{"click": i}])
            await env.record_step(observation_text=f"{i}-b", actions=[])
            await env.close(reward=i / 100)
        return env.id

    @job("through-faults")
    async def run() -> tuple[str, list[str]]:
        current = hud.current_job()
        assert current is not None
        return current.id, await asyncio.gather(*(episode(i) for i in range(100)))

    result = await run()
    await hud.aclose()
    return result


async def _read_back(
    server: ServerProcess, key: str, job_id: str, env_ids: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """Checks the job's trajectories; returns the environments and steps in the database."""
    # Straight from the server, not through the proxy.
    use_server(monkeypatch, server.base_url, key, timeout=30, retries=0)
    loaded = await load_job(job_id)
    assert loaded.status == "completed"
    trajectories = await loaded.load_trajectories()
    assert sorted(t.id for t in trajectories) == sorted(env_ids)
    for trajectory in trajectories:
        i = env_ids.index(trajectory.id)
        assert trajectory.reward == i / 100
        assert [s.observation_text for s in trajectory.trajectory] == [f"{i}-a", f"{i}-b"]
        assert trajectory.trajectory[0].actions == [{"click": i}]
    # No retried create left a stray environment, no retried append a stray step.
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            n_envs = conn.execute(sa.select(sa.func.count()).select_from(environments)).scalar()
            n_steps = conn.execute(sa.select(sa.func.count()).select_from(steps)).scalar()
    finally:
        engine.dispose()
    return int(n_envs or 0), int(n_steps or 0)


async def test_retry_after_is_honoured_and_other_4xx_are_not_retried(
    sqlite_server: ServerProcess, monkeypatch: pytest.MonkeyPatch, sdk_sleeps: list[float]
) -> None:
    server = sqlite_server
    key = create_key(server.database_url, "faults")
    proxy = FaultProxy(server.port, rate=1.0, delay=0, faults=("429",), faulty_attempts=1)
    use_server(monkeypatch, await proxy.start(), key, timeout=5, retries=2)
    monkeypatch.setattr("hud._api.BACKOFF_BASE", 1.0)  # the SDK's own first backoff: up to 1 s, rarely 0
    try:
        created = await create_job("after-429")
        # One 429 from the proxy, with Retry-After: 0: the SDK waited exactly 0 s, not its backoff.
        assert proxy.injected == {"429": 1}
        assert sdk_sleeps == [0.0]
        # A 404 is final: one request, no retry.
        proxy.rate = 0.0
        before = proxy.requests
        with pytest.raises(hud.errors.NotFoundError):
            await load_job(created.id + "x")
        assert proxy.requests == before + 1
    finally:
        await proxy.aclose()
    assert count_jobs(server.base_url, key)[0]["id"] == created.id


async def test_proxy_really_misbehaves(sqlite_server: ServerProcess) -> None:
    server = sqlite_server
    # Guards the guard: without the SDK's retries, the same proxy breaks plain requests.
    proxy = FaultProxy(server.port, rate=1.0, delay=0, faults=("drop_before", "503", "truncate"), faulty_attempts=99)
    outcomes: list[int | str] = []
    try:
        async with httpx.AsyncClient(base_url=await proxy.start(), timeout=5) as client:
            for _ in range(30):
                try:
                    outcomes.append((await client.get("/v2/health")).status_code)
                except httpx.TransportError as exc:
                    outcomes.append(type(exc).__name__)
    finally:
        await proxy.aclose()
    assert 200 not in outcomes
    assert 503 in outcomes and "RemoteProtocolError" in outcomes, outcomes
