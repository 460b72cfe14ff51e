"""Leases: a running job is held by heartbeats; when they stop for longer than the lease, the job
reads `crashed` at once and its open environments become `crashed` trajectories, steps kept."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hud.server import create_app, create_key
from hud.server._db import get_engine, write_engine
from hud.server._tables import jobs

from .conftest import BASE, Api, detail

LEASE = 60.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    url = request.getfixturevalue("postgres_db" if request.param == "postgres" else "db_url")
    app = create_app(url, job_lease=LEASE)
    alice, bob = create_key(url, "alice"), create_key(url, "bob")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield Api(client, url, alice, bob)


def _last_heartbeat(api: Api, job_id: str, seconds_ago: float) -> None:
    """Moves the job's last heartbeat into the past, as if its process had stopped then."""
    with write_engine(get_engine(api.database_url)).begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(heartbeat_at=time.time() - seconds_ago))


def _stored_status(api: Api, job_id: str) -> str:
    with get_engine(api.database_url).connect() as conn:
        return str(conn.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar_one())


async def _running_job_with_an_open_environment(api: Api) -> tuple[dict[str, Any], str]:
    job = await api.job("leased")
    await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "running"})
    beat = await api.ok("POST", f"/v2/jobs/{job['id']}/heartbeat")
    assert beat["status"] == "running" and beat["heartbeat_at"] is not None
    env_id = await api.env(job["id"], task_id="t-1")
    steps = [{"observation_text": "one"}, {"observation_text": "two"}]
    await api.ok("POST", f"/v2/environments/{env_id}/steps", json={"steps": steps})
    return job, env_id


async def test_a_job_past_its_lease_reads_crashed_and_its_environments_close_as_crashed(api: Api) -> None:
    job, env_id = await _running_job_with_an_open_environment(api)
    _last_heartbeat(api, job["id"], LEASE - 5)
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}"))["status"] == "running"
    _last_heartbeat(api, job["id"], LEASE + 5)
    # Read at once as crashed, before any sweep has persisted it.
    assert _stored_status(api, job["id"]) == "running"
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}"))["status"] == "crashed"
    listed = {j["id"]: j["status"] for j in (await api.ok("GET", "/v2/jobs"))["items"]}
    assert listed[job["id"]] == "crashed"
    assert [j["id"] for j in (await api.ok("GET", "/v2/jobs?status=crashed"))["items"]] == [job["id"]]
    assert (await api.ok("GET", "/v2/jobs?status=running"))["items"] == []
    # Listing its trajectories persists the crash: the open environment became a trajectory.
    (trajectory,) = await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories")
    assert trajectory["id"] == env_id and trajectory["error_kind"] == "crashed" and trajectory["task_id"] == "t-1"
    assert [s["observation_text"] for s in trajectory["trajectory"]] == ["one", "two"]
    assert "heartbeat" in trajectory["error"]
    assert _stored_status(api, job["id"]) == "crashed"
    detail(await api.request("POST", f"/v2/environments/{env_id}/steps", json={"steps": [{}]}), 409)


async def test_listing_environments_crashes_the_job_first(api: Api) -> None:
    job, env_id = await _running_job_with_an_open_environment(api)
    _last_heartbeat(api, job["id"], LEASE + 5)
    (env,) = (await api.ok("GET", f"/v2/jobs/{job['id']}/environments"))["items"]
    assert (env["id"], env["state"], env["step_count"]) == (env_id, "closed", 2)
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}/environments?state=open"))["items"] == []


async def test_a_heartbeat_after_the_crash_makes_the_job_running_again(api: Api) -> None:
    job, env_id = await _running_job_with_an_open_environment(api)
    _last_heartbeat(api, job["id"], LEASE + 5)
    await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories")  # persisted
    assert _stored_status(api, job["id"]) == "crashed"
    assert (await api.ok("POST", f"/v2/jobs/{job['id']}/heartbeat"))["status"] == "running"
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}"))["status"] == "running"
    # The environment closed as crashed stays closed: the job's process makes new ones.
    detail(await api.request("POST", f"/v2/environments/{env_id}/close", json={}), 409)


async def test_a_job_without_heartbeats_holds_no_lease(api: Api) -> None:
    job = await api.job("platform-style")
    await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "running"})
    env_id = await api.env(job["id"])
    with write_engine(get_engine(api.database_url)).begin() as conn:
        conn.execute(sa.update(jobs).values(created_at="2000-01-01T00:00:00+00:00"))
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}"))["status"] == "running"
    (env,) = (await api.ok("GET", f"/v2/jobs/{job['id']}/environments"))["items"]
    assert (env["id"], env["state"]) == (env_id, "open")


async def test_setting_running_by_hand_drops_an_old_lease(api: Api) -> None:
    job, _ = await _running_job_with_an_open_environment(api)
    _last_heartbeat(api, job["id"], LEASE + 5)
    updated = await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "running"})
    assert updated["status"] == "running" and updated["heartbeat_at"] is None


async def test_the_sweep_persists_crashes_of_jobs_nobody_reads(api: Api) -> None:
    job, env_id = await _running_job_with_an_open_environment(api)
    _last_heartbeat(api, job["id"], LEASE + 5)
    other = create_app(api.database_url, job_lease=LEASE)  # a fresh process's app: its first request sweeps
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url=BASE) as client:
        assert (await client.get("/v2/health")).status_code == 200
    assert _stored_status(api, job["id"]) == "crashed"
    with get_engine(api.database_url).connect() as conn:
        kinds = conn.execute(sa.text("SELECT id, error_kind FROM trajectories")).all()
    assert [tuple(k) for k in kinds] == [(env_id, "crashed")]


async def test_cancelled_and_crashed_by_hand_close_open_environments(api: Api) -> None:
    for status in ("cancelled", "crashed"):
        job = await api.job(status)
        env_id = await api.env(job["id"])
        await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": status})
        (trajectory,) = await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories")
        assert (trajectory["id"], trajectory["error_kind"]) == (env_id, status)


async def test_environments_are_listed_in_pages_per_state(api: Api) -> None:
    job = await api.job()
    env_ids = [await api.env(job["id"], task_id=f"t{i}") for i in range(5)]
    for env_id in env_ids[:2]:
        await api.ok("POST", f"/v2/environments/{env_id}/close", json={"reward": 1})
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", f"/v2/jobs/{job['id']}/environments", params=query)
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == env_ids
    opened = await api.ok("GET", f"/v2/jobs/{job['id']}/environments", params={"state": "open"})
    assert [e["id"] for e in opened["items"]] == env_ids[2:]
    assert [e["task_id"] for e in opened["items"]] == ["t2", "t3", "t4"]
    detail(await api.request("GET", f"/v2/jobs/{job['id']}/environments?state=running"), 422)
    detail(await api.request("GET", "/v2/jobs/nope/environments"), 404)
    detail(await api.request("GET", f"/v2/jobs/{job['id']}/environments", who="bob"), 404)


async def test_heartbeats_are_per_account(api: Api) -> None:
    job = await api.job()
    detail(await api.request("POST", f"/v2/jobs/{job['id']}/heartbeat", who="bob"), 404)
    detail(await api.request("POST", f"/v2/jobs/{job['id']}/heartbeat", json={"x": 1}), 422)
