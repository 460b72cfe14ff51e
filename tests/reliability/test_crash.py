"""`kill -9` of a real `hud server` under heavy concurrent writes loses no acknowledged write."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from hud.server import create_key

from ._process import ServerProcess

pytestmark = pytest.mark.live

WRITERS = 24
KILL_AFTER_ACKS = 600


@dataclasses.dataclass
class Acked:
    """What the server answered 2xx to, and what was sent at all (committed or not)."""

    jobs: set[str] = dataclasses.field(default_factory=set)
    steps: dict[str, int] = dataclasses.field(default_factory=dict)
    steps_sent: dict[str, int] = dataclasses.field(default_factory=dict)
    closed: dict[str, float] = dataclasses.field(default_factory=dict)
    count: int = 0


async def _writer(client: httpx.AsyncClient, n: int, acked: Acked, killed: asyncio.Event, kill: object) -> None:
    def ack() -> None:
        acked.count += 1
        if acked.count == KILL_AFTER_ACKS:
            kill()  # type: ignore[operator]
            killed.set()

    try:
        while True:
            job = await client.post("/v2/jobs", json={"name": f"w{n}", "metadata": {"writer": n}})
            assert job.status_code == 200, job.text
            job_id = job.json()["id"]
            acked.jobs.add(job_id)
            ack()
            env = await client.post("/v2/create_environment", json={"run_id": job_id, "gym_id": "g"})
            assert env.status_code == 200, env.text
            env_id = env.json()["id"]
            acked.steps[env_id] = 0
            ack()
            for i in range(3):
                acked.steps_sent[env_id] = i + 1
                step = await client.post(
                    f"/v2/environments/{env_id}/steps", json={"steps": [{"observation_text": str(i)}]}
                )
                assert step.status_code == 200, step.text
                acked.steps[env_id] = step.json()["step_count"]
                ack()
            closed = await client.post(f"/v2/environments/{env_id}/close", json={"reward": n})
            assert closed.status_code == 200, closed.text
            acked.closed[env_id] = float(n)
            ack()
    except httpx.TransportError:
        assert killed.is_set(), "the connection failed before the server was killed"


async def test_kill_9_loses_no_acknowledged_write(database_url: str, tmp_path: Path) -> None:
    key = create_key(database_url, "crash")
    server = ServerProcess(database_url, tmp_path / "server.log")
    server.start()
    acked = Acked()
    killed = asyncio.Event()
    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as client:
            await asyncio.gather(*(_writer(client, n, acked, killed, server.kill) for n in range(WRITERS)))
        assert killed.is_set() and acked.count >= KILL_AFTER_ACKS

        # The server starts clean on the same database...
        server.start()
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as client:
            # ...and everything it acknowledged is there.
            for job_id in acked.jobs:
                got = await client.get(f"/v2/jobs/{job_id}")
                assert got.status_code == 200, got.text
            for env_id, reward in acked.closed.items():
                got = await client.get(f"/v2/trajectories/{env_id}")
                assert got.status_code == 200, got.text
                assert got.json()["reward"] == reward
                assert [s["observation_text"] for s in got.json()["trajectory"]] == ["0", "1", "2"]
            for env_id, count in acked.steps.items():
                if env_id in acked.closed:
                    continue
                # Open environments take steps again; the count has every acknowledged step, and at
                # most the one sent whose answer the kill swallowed.
                step = await client.post(f"/v2/environments/{env_id}/steps", json={"steps": [{}]})
                if step.status_code == 409:  # its close committed but was never acknowledged
                    continue
                assert step.status_code == 200, step.text
                assert count <= step.json()["step_count"] - 1 <= acked.steps_sent[env_id]
            after = await client.post("/v2/jobs", json={"name": "after the crash"})
            assert after.status_code == 200, after.text
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        finally:
            engine.dispose()
