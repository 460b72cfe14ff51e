"""The facade against the real server: in-process (embedded), a live `hud server` on SQLite, and on
PostgreSQL (when HUD_TEST_POSTGRES_URL is set, these tests must run: CI sets it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from _servers import fresh_postgres_database, live_server, postgres_url

import hud
from hud import errors
from hud.job import current_job, job, load_job
from hud.server import create_key, dispose


@dataclass(frozen=True)
class Backend:
    """Where the SDK is pointed: base URL and key (None, None for the embedded default)."""

    base_url: str | None
    key: str | None
    other_key: str | None  # a key of another account


def _live(database_url: str) -> Iterator[Backend]:
    alice = create_key(database_url, "alice")
    bob = create_key(database_url, "bob")
    try:
        with live_server(database_url) as base_url:
            yield Backend(base_url, alice, bob)
    finally:
        dispose(database_url)


@pytest.fixture(scope="module")
def live_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield from _live(f"sqlite:///{tmp_path_factory.mktemp('live') / 'hud.db'}")


@pytest.fixture(scope="module")
def live_postgres() -> Iterator[Backend]:
    if postgres_url() is None:
        pytest.skip("HUD_TEST_POSTGRES_URL is not set (CI sets it with .ci/postgres.sh)")
    with fresh_postgres_database() as database_url:
        yield from _live(database_url)


_LIVE = ["live-sqlite", pytest.param("live-postgres", marks=pytest.mark.postgres)]


async def _configured(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Backend]:
    if request.param == "embedded":
        chosen = Backend(None, None, None)
    else:
        chosen = request.getfixturevalue(request.param.replace("-", "_"))
        monkeypatch.setenv("HUD_BASE_URL", chosen.base_url)
        monkeypatch.setenv("HUD_API_KEY", chosen.key)
    hud.get_settings.cache_clear()
    yield chosen
    await hud.aclose()


@pytest.fixture(params=["embedded", *_LIVE])
async def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Backend]:
    """The SDK configured, through the environment as a user would, for each kind of server."""
    async for chosen in _configured(request, monkeypatch):
        yield chosen


@pytest.fixture(params=_LIVE)
async def over_http(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Backend]:
    """`backend` for the servers over HTTP only, with keys and accounts (not the embedded default)."""
    async for chosen in _configured(request, monkeypatch):
        yield chosen


async def test_decorated_run_leaves_linked_trajectories(backend: Backend) -> None:
    @job("backend-eval", metadata={"n": 12})
    async def run() -> str:
        async def one(i: int) -> None:
            async with await hud.gym.make("gym", task_id=f"t{i}") as env:
                await env.record_step(observation_text=f"obs {i}", actions=[{"i": i}])
                await env.close(reward=i / 10)

        await asyncio.gather(*(one(i) for i in range(12)))
        active = current_job()
        assert active is not None
        return active.id

    job_id = await run()

    loaded = await load_job(job_id)
    assert (loaded.name, loaded.metadata, loaded.status) == ("backend-eval", {"n": 12}, "completed")
    trajectories = await loaded.load_trajectories()
    assert sorted(t.reward for t in trajectories if t.reward is not None) == [i / 10 for i in range(12)]
    assert all(len(t.trajectory) == 1 for t in trajectories)
    paged = [t.id async for t in loaded.iter_trajectories(page_size=5)]
    assert paged == [t.id for t in trajectories]


async def test_unknown_job_is_not_found(backend: Backend) -> None:
    with pytest.raises(errors.NotFoundError):
        await load_job("00000000-0000-0000-0000-000000000000")


async def test_another_accounts_job_is_not_found_and_a_bad_key_is_refused(over_http: Backend) -> None:
    assert over_http.other_key is not None
    mine = await hud.create_job("private")

    with pytest.raises(errors.NotFoundError):
        await load_job(mine.id, api_key=over_http.other_key)
    with pytest.raises(errors.AuthenticationError) as caught:
        await load_job(mine.id, api_key="hud_not-a-real-key")
    assert caught.value.status_code == 401
    assert "hud_not-a-real-key" not in str(caught.value)


async def test_a_client_written_for_the_platform_works_unchanged(over_http: Backend) -> None:
    """Only the wire table of DESIGN.md: no extension, a close without a body, a bare array back."""
    assert over_http.base_url is not None
    headers = {"Authorization": f"Bearer {over_http.key}"}
    async with httpx.AsyncClient(base_url=over_http.base_url, headers=headers, timeout=30) as client:
        created = (
            await client.post(
                "/v2/jobs", json={"name": "compat", "metadata": {"a": 1}, "gym_id": None, "evalset_id": None}
            )
        ).json()
        assert set(created) >= {"id", "name", "metadata", "created_at", "status"}
        fetched = (await client.get(f"/v2/jobs/{created['id']}")).json()
        assert (fetched["id"], fetched["name"], fetched["metadata"]) == (created["id"], "compat", {"a": 1})
        env_ids = []
        for task in ("t1", "t2"):
            answer = await client.post(
                "/v2/create_environment",
                json={"run_id": created["id"], "gym_id": "gym", "task_id": task, "metadata": {}},
            )
            assert answer.status_code == 200, answer.text
            assert set(answer.json()) >= {"id", "metadata"}
            env_ids.append(answer.json()["id"])
            closed = await client.post(f"/v2/environments/{env_ids[-1]}/close")
            assert closed.status_code == 200, closed.text
        listed = await client.get(f"/v2/jobs/{created['id']}/trajectories")
        assert listed.status_code == 200
        body = listed.json()
        assert isinstance(body, list)
        assert [t["id"] for t in body] == env_ids
        assert all(set(t) >= {"id", "reward", "logs", "error", "trajectory"} for t in body)
