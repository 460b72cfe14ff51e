"""Fixtures of the server tests: a fresh SQLite database, an in-process client with two accounts."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import fresh_postgres_database, postgres_url

from hud.server import create_app, create_key, dispose

BASE = "http://hud.test"
#: For apps without keys: they answer only requests addressed to a loopback name (DNS rebinding).
LOCAL = "http://localhost"


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A SQLite URL on a fresh file; the process's pooled connections to it are closed after."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    yield url
    dispose(url)


@dataclasses.dataclass
class Api:
    """An in-process client of an app with auth, and keys of two accounts, alice and bob."""

    client: httpx.AsyncClient
    database_url: str
    alice: str
    bob: str

    def auth(self, who: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.alice if who == 'alice' else self.bob}"}

    async def request(self, method: str, path: str, *, who: str = "alice", **kwargs: Any) -> httpx.Response:
        headers = {**self.auth(who), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def job(self, name: str = "job", who: str = "alice", **body: Any) -> dict[str, Any]:
        job: dict[str, Any] = await self.ok("POST", "/v2/jobs", json={"name": name, **body}, who=who)
        return job

    async def env(self, job_id: str | None, who: str = "alice", **body: Any) -> str:
        env: dict[str, Any] = await self.ok(
            "POST", "/v2/create_environment", json={"run_id": job_id, "gym_id": "gym", **body}, who=who
        )
        return str(env["id"])

    async def trajectory(self, job_id: str, who: str = "alice", **close: Any) -> dict[str, Any]:
        """Closes a new environment of the job; the trajectory it left, as getTrajectory answers it."""
        env_id = await self.env(job_id, who=who)
        summary = await self.ok("POST", f"/v2/environments/{env_id}/close", json=close, who=who)
        assert summary["id"] == env_id and "trajectory" not in summary
        result: dict[str, Any] = await self.ok("GET", f"/v2/trajectories/{env_id}", who=who)
        return result


def detail(response: httpx.Response, status: int) -> str:
    """Asserts an error answer: the status and a `{"detail": <non-empty string>}` body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["detail"]
    assert isinstance(body["detail"], str) and body["detail"]
    return str(body["detail"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    """The app with auth on SQLite, and on PostgreSQL (skipped when HUD_TEST_POSTGRES_URL is unset)."""
    url = request.getfixturevalue("postgres_db" if request.param == "postgres" else "db_url")
    app = create_app(url)
    alice, bob = create_key(url, "alice"), create_key(url, "bob")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield Api(client, url, alice, bob)


@pytest.fixture
def postgres_db() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped after); skips when HUD_TEST_POSTGRES_URL is unset."""
    base = postgres_url()
    if base is None:
        pytest.skip("HUD_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` provides a PostgreSQL server")
    with fresh_postgres_database(base) as url:
        yield url
