"""A job copied here while it runs elsewhere: its lease is read from the heartbeat the import relayed, in
this server's clock, and its crash is never persisted here (the store it runs against owns it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from hud._wire import DEFAULT_JOB_LEASE
from hud.server import create_app
from hud.server._db import get_engine, write_engine
from hud.server._tables import jobs

from .conftest import BASE, Api
from .test_import import env_record, imported, job_record, step

#: The lease of the `api` fixture's app (create_app's default).
LEASE = DEFAULT_JOB_LEASE


def _stored(api: Api, job_id: str) -> tuple[str, float | None, str | None]:
    with get_engine(api.database_url).connect() as conn:
        row = conn.execute(
            sa.select(jobs.c.status, jobs.c.relayed_heartbeat_at, jobs.c.synced_at).where(jobs.c.id == job_id)
        ).one()
    return row[0], row[1], row[2]


def _relayed(api: Api, job_id: str, seconds_ago: float) -> None:
    """Moves the relayed heartbeat into the past, as if no import had brought news since."""
    with write_engine(get_engine(api.database_url)).begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(relayed_heartbeat_at=time.time() - seconds_ago))


async def _running_copy(api: Api) -> str:
    # The other store's clock is 10 minutes behind this one: its heartbeat time, compared with this
    # server's clock, would be ten leases old. Its age (2 s) is what the lease here reads.
    behind = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    await imported(
        api,
        jobs=[job_record(status="running", heartbeat_at=behind, heartbeat_age=2.0)],
        environments=[env_record("env-a")],
        steps=[{"env_id": "env-a", "position": 0, "steps": [step(0)]}],
    )
    return behind


async def test_a_running_copy_keeps_its_status_whatever_the_clocks(api: Api) -> None:
    behind = await _running_copy(api)
    job = await api.ok("GET", "/v2/jobs/job-1")
    assert (job["status"], job["heartbeat_at"]) == ("running", behind)
    status, relayed, synced_at = _stored(api, "job-1")
    assert status == "running"
    assert relayed is not None and abs(relayed - (time.time() - 2.0)) < 5 and synced_at is not None
    assert [j["id"] for j in (await api.ok("GET", "/v2/jobs", params={"status": "running"}))["items"]] == ["job-1"]


async def test_without_news_for_a_lease_a_copy_reads_crashed_and_nothing_is_closed(api: Api) -> None:
    await _running_copy(api)
    _relayed(api, "job-1", LEASE + 5)
    assert (await api.ok("GET", "/v2/jobs/job-1"))["status"] == "crashed"
    assert [j["id"] for j in (await api.ok("GET", "/v2/jobs", params={"status": "crashed"}))["items"]] == ["job-1"]
    assert (await api.ok("GET", "/v2/jobs", params={"status": "running"}))["items"] == []
    # Reads that persist a local crash, and a fresh app's sweep, leave the copy as the import wrote it.
    assert await api.ok("GET", "/v2/jobs/job-1/trajectories") == []
    [env] = (await api.ok("GET", "/v2/jobs/job-1/environments"))["items"]
    assert (env["state"], env["step_count"]) == ("open", 1)
    other = create_app(api.database_url, job_lease=LEASE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url=BASE) as client:
        assert (await client.get("/v2/health")).status_code == 200
    assert _stored(api, "job-1")[0] == "running"
    # The next import brings news: running again, and the environment takes its next steps.
    newer = datetime.now(UTC).isoformat()
    result = await imported(
        api,
        jobs=[job_record(status="running", heartbeat_at=newer, heartbeat_age=0.5)],
        steps=[{"env_id": "env-a", "position": 1, "steps": [step(1)]}],
    )
    assert result["conflicts"] == []
    assert (await api.ok("GET", "/v2/jobs/job-1"))["status"] == "running"


async def test_a_heartbeat_here_takes_the_lease_here(api: Api) -> None:
    await _running_copy(api)
    beat = await api.ok("POST", "/v2/jobs/job-1/heartbeat")
    assert beat["status"] == "running"
    _status, relayed, synced_at = _stored(api, "job-1")
    assert relayed is None and synced_at is None
    # It is no copy any more: an import does not overwrite it.
    result = await imported(api, jobs=[job_record(status="completed")])
    assert "recorded here" in result["conflicts"][0]["detail"]


async def test_a_copy_without_heartbeats_holds_no_lease(api: Api) -> None:
    await imported(api, jobs=[job_record(status="running")])
    assert _stored(api, "job-1")[1] is None
    assert (await api.ok("GET", "/v2/jobs/job-1"))["status"] == "running"
