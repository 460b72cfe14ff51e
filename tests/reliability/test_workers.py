"""Several `hud server` workers on one database: no duplicate idempotent create, no lost update.

Every request opens its own connection (`Connection: close`), so the kernel hands concurrent
requests to different uvicorn workers; each test checks from /proc that more than one worker did
work, so a run that happened to stay on one worker fails instead of passing vacuously.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hud.server import create_key

from ._process import ServerProcess

pytestmark = pytest.mark.live

WORKERS = 4
CONCURRENT = 24


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    """`hud server --workers 4` on the database, and a key of its account."""
    key = create_key(database_url, "workers")
    process = ServerProcess(database_url, tmp_path / "server.log", workers=WORKERS)
    process.start()
    try:
        yield process, key
    finally:
        process.stop()
    assert "Traceback" not in process.log()


def _worker_cpu_ticks(server: ServerProcess) -> dict[int, int]:
    """CPU ticks (user + system) of each child process of the server, by pid."""
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ticks = {}
    for child in children:
        # The fields after the parenthesised command; utime and stime are the 12th and 13th of them.
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        ticks[int(child)] = int(fields[11]) + int(fields[12])
    return ticks


class _Spread:
    """Checks that several workers did work between entering and leaving the block."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server

    def __enter__(self) -> None:
        self.before = _worker_cpu_ticks(self.server)

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            return  # the block's own failure says more
        after = _worker_cpu_ticks(self.server)
        busy = [pid for pid, ticks in after.items() if ticks > self.before.get(pid, 0)]
        assert len(busy) >= 2, f"the load reached {len(busy)} worker(s) of {WORKERS}: the test proved nothing"


async def _send(
    client: httpx.AsyncClient, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    """One request on a new connection; an in-flight 409 (a twin still running elsewhere) is retried."""
    headers = {"Connection": "close", **(headers or {})}
    # Generous: the twin holds its key for one transaction, but CI's two cores may be busy.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = await client.request(method, path, headers=headers, **kwargs)
        if response.headers.get("Idempotency-In-Flight") != "true":
            return response
        await asyncio.sleep(0.01)
    raise AssertionError("an idempotent request stayed in flight for 30 s")


def _client(server: ServerProcess, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


async def test_one_idempotency_key_creates_once_across_workers(workers: tuple[ServerProcess, str]) -> None:
    server, key = workers
    name = f"idem-{uuid.uuid4()}"
    rounds = 8
    async with _client(server, key) as client:
        with _Spread(server):
            for _ in range(rounds):
                idem = str(uuid.uuid4())
                body = {"name": name, "metadata": {"key": idem}}
                answers = await asyncio.gather(
                    *(
                        _send(client, "POST", "/v2/jobs", json=body, headers={"Idempotency-Key": idem})
                        for _ in range(CONCURRENT)
                    )
                )
                assert [a.status_code for a in answers] == [200] * CONCURRENT, [a.text for a in answers]
                assert len({a.json()["id"] for a in answers}) == 1
                assert sum(a.headers.get("Idempotency-Replayed") == "true" for a in answers) == CONCURRENT - 1
        listed = (await client.get("/v2/jobs", params={"name": name, "limit": 100})).json()["items"]
    assert len(listed) == rounds
    assert len({j["metadata"]["key"] for j in listed}) == rounds


async def test_concurrent_updates_of_one_job_lose_no_field(workers: tuple[ServerProcess, str]) -> None:
    server, key = workers
    async with _client(server, key) as client:
        jobs = [(await client.post("/v2/jobs", json={"name": "updates"})).json() for _ in range(CONCURRENT)]
        with _Spread(server):
            # Three writers per job, each setting a different field, all at once on different workers:
            # a read-modify-write of the row would put back a field another writer had just changed.
            answers = await asyncio.gather(
                *(
                    _send(client, "PATCH", f"/v2/jobs/{j['id']}", json=patch)
                    for j in jobs
                    for patch in ({"status": "completed"}, {"metadata": {"of": j["id"]}}, {"error": f"e-{j['id']}"})
                )
            )
        assert {a.status_code for a in answers} == {200}
        for j in jobs:
            loaded = (await client.get(f"/v2/jobs/{j['id']}")).json()
            assert (loaded["status"], loaded["metadata"], loaded["error"]) == (
                "completed",
                {"of": j["id"]},
                f"e-{j['id']}",
            )


async def test_concurrent_steps_of_one_environment_are_all_kept_in_order(workers: tuple[ServerProcess, str]) -> None:
    server, key = workers
    async with _client(server, key) as client:
        job_id = (await client.post("/v2/jobs", json={"name": "steps"})).json()["id"]
        env_id = (await client.post("/v2/create_environment", json={"run_id": job_id, "gym_id": "g"})).json()["id"]
        with _Spread(server):
            answers = await asyncio.gather(
                *(
                    _send(
                        client,
                        "POST",
                        f"/v2/environments/{env_id}/steps",
                        json={"steps": [{"observation_text": f"{n}-a"}, {"observation_text": f"{n}-b"}]},
                    )
                    for n in range(CONCURRENT * 2)
                )
            )
        assert {a.status_code for a in answers} == {200}
        # Each append got its own two positions: the counts it answered are distinct even numbers.
        assert sorted(a.json()["step_count"] for a in answers) == list(range(2, CONCURRENT * 4 + 1, 2))
        assert (await client.post(f"/v2/environments/{env_id}/close", json={"reward": 1.0})).status_code == 200
        closed = (await client.get(f"/v2/trajectories/{env_id}")).json()
    texts = [s["observation_text"] for s in closed["trajectory"]]
    assert sorted(texts) == sorted(f"{n}-{half}" for n in range(CONCURRENT * 2) for half in "ab")
    # The two steps of one append stay adjacent and in order.
    assert all(texts[i].endswith("-a") and texts[i + 1] == texts[i][:-1] + "b" for i in range(0, len(texts), 2))
