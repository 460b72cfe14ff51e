"""`hud server` as a real uvicorn subprocess over loopback HTTP, on SQLite and PostgreSQL.

With two workers, each concurrent request opens its own connection and the worker that served it is
read from /proc (`_workers.py`): the tests fail unless both workers wrote.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import pytest
from _servers import live_server
from _workers import FRESH_CONNECTIONS, ServedBy, Workers

from hud.server import create_key

pytestmark = pytest.mark.live


def _exercise(base_url: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        health = client.get("/v2/health", headers={"Authorization": ""})
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert client.get("/v2/jobs", headers={"Authorization": "Bearer hud_wrong"}).status_code == 401
        job = client.post("/v2/jobs", json={"name": "live", "metadata": {"m": 1}}).json()
        assert client.get(f"/v2/jobs/{job['id']}").json() == job
        env = client.post("/v2/create_environment", json={"run_id": job["id"], "gym_id": "g"}).json()
        steps = client.post(f"/v2/environments/{env['id']}/steps", json={"steps": [{"observation_text": "x"}]})
        assert steps.json()["step_count"] == 1
        closed = client.post(f"/v2/environments/{env['id']}/close", json={"reward": 1.0}).json()
        shown = {k: closed[k] for k in ("id", "reward", "logs", "error", "step_count", "gym_id", "error_kind")}
        assert shown == {
            "id": env["id"],
            "reward": 1.0,
            "logs": None,
            "error": None,
            "step_count": 1,
            "gym_id": "g",
            "error_kind": None,
        }
        stored = client.get(f"/v2/trajectories/{env['id']}").json()
        assert [s["observation_text"] for s in stored["trajectory"]] == ["x"]
        assert client.get(f"/v2/jobs/{job['id']}/trajectories").json() == [stored]
        assert client.get("/openapi.yaml").text.startswith("openapi:")


def test_live_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    key = create_key(url, "team")
    with live_server(url) as base_url:
        _exercise(base_url, key)


def _create_and_close(base_url: str, key: str, job_id: str, n: int, served: ServedBy) -> list[str]:
    ids = []
    with httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=FRESH_CONNECTIONS,
        event_hooks={"response": [served.record]},
    ) as client:
        for _ in range(n):
            env = client.post("/v2/create_environment", json={"run_id": job_id, "gym_id": "g"})
            assert env.status_code == 200, env.text
            closed = client.post(f"/v2/environments/{env.json()['id']}/close", json={"reward": 0.5})
            assert closed.status_code == 200, closed.text
            ids.append(closed.json()["id"])
    return ids


def _concurrent_writers(base_url: str, key: str, workers: int) -> None:
    served = ServedBy(Workers(httpx.URL(base_url).port or 80, workers))
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as client:
        job = client.post("/v2/jobs", json={"name": "parallel"}).json()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_create_and_close, base_url, key, job["id"], 15, served) for _ in range(8)]
        ids = [i for f in futures for i in f.result()]
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as client:
        listed = client.get(f"/v2/jobs/{job['id']}/trajectories").json()
    assert sorted(t["id"] for t in listed) == sorted(ids) and len(ids) == 120
    served.assert_spread(at_least=workers)


def test_live_sqlite_several_workers_write_concurrently(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    key = create_key(url, "team")
    with live_server(url, workers=2) as base_url:
        _exercise(base_url, key)
        _concurrent_writers(base_url, key, workers=2)


def test_live_streams_large_list_chunked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stream.db'}"
    with live_server(url, auth=False) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        job = client.post("/v2/jobs", json={"name": "big"}).json()
        _create_and_close_noauth(client, job["id"], 550)
        with client.stream("GET", f"/v2/jobs/{job['id']}/trajectories") as response:
            assert response.headers.get("transfer-encoding") == "chunked"
            body = response.read()
        import json

        assert len(json.loads(body)) == 550


def _create_and_close_noauth(client: httpx.Client, job_id: str, n: int) -> None:
    for _ in range(n):
        env = client.post("/v2/create_environment", json={"run_id": job_id, "gym_id": "g"}).json()
        client.post(f"/v2/environments/{env['id']}/close")


@pytest.mark.postgres
def test_live_postgres(postgres_db: str) -> None:
    key = create_key(postgres_db, "team")
    with live_server(postgres_db) as base_url:
        _exercise(base_url, key)


@pytest.mark.postgres
def test_live_postgres_several_workers(postgres_db: str) -> None:
    key = create_key(postgres_db, "team")
    with live_server(postgres_db, workers=2) as base_url:
        _concurrent_writers(base_url, key, workers=2)
