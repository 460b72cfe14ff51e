"""Several `hud server` workers on one database: no duplicate idempotent create, no lost update, a
cursor from one worker pages on another, and every worker gets the command line's options.

Every request opens its own connection, so the kernel hands concurrent requests to different
uvicorn workers; each test records from /proc which worker served each request (`_workers.py`) and
fails when the concurrent ones did not reach at least two, instead of passing vacuously.
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
import sqlalchemy
from _workers import FRESH_CONNECTIONS, ServedBy, Workers

from hud.server import create_key

from ._process import ServerProcess

pytestmark = pytest.mark.live

WORKERS = 4
CONCURRENT = 24

#: The server, a key of its account, and the record of which worker served each request.
Running = tuple[ServerProcess, str, ServedBy]


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[Running]:
    """`hud server --workers 4` on the database, a key of its account, and a record of who served what."""
    key = create_key(database_url, "workers")
    process = ServerProcess(database_url, tmp_path / "server.log", workers=WORKERS)
    process.start()
    try:
        yield process, key, ServedBy(Workers(process.port, WORKERS))
    finally:
        process.stop()
    assert "Traceback" not in process.log()


async def _send(
    client: httpx.AsyncClient, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    """One request (on a connection of its own); an in-flight 409 (a twin still running elsewhere) is retried."""
    # Generous: the twin holds its key for one transaction, but CI's two cores may be busy.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = await client.request(method, path, headers=headers, **kwargs)
        if response.headers.get("Idempotency-In-Flight") != "true":
            return response
        await asyncio.sleep(0.01)
    raise AssertionError("an idempotent request stayed in flight for 30 s")


def _client(server: ServerProcess, key: str, served: ServedBy) -> httpx.AsyncClient:
    """Each request on a connection of its own, its worker recorded in `served`."""
    return httpx.AsyncClient(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=FRESH_CONNECTIONS,
        event_hooks={"response": [served.arecord]},
    )


async def test_one_idempotency_key_creates_once_across_workers(workers: Running) -> None:
    server, key, served = workers
    name = f"idem-{uuid.uuid4()}"
    rounds = 8
    async with _client(server, key, served) as client:
        with served.spread():
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


async def test_concurrent_updates_of_one_job_lose_no_field(workers: Running) -> None:
    server, key, served = workers
    async with _client(server, key, served) as client:
        jobs = [(await client.post("/v2/jobs", json={"name": "updates"})).json() for _ in range(CONCURRENT)]
        with served.spread():
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


async def test_concurrent_steps_of_one_environment_are_all_kept_in_order(
    workers: tuple[ServerProcess, str, ServedBy],
) -> None:
    server, key, served = workers
    async with _client(server, key, served) as client:
        job_id = (await client.post("/v2/jobs", json={"name": "steps"})).json()["id"]
        env_id = (await client.post("/v2/create_environment", json={"run_id": job_id, "gym_id": "g"})).json()["id"]
        with served.spread():
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


async def test_a_cursor_from_one_worker_pages_on_another(workers: Running) -> None:
    server, key, served = workers
    name = f"paged-{uuid.uuid4()}"
    async with _client(server, key, served) as client:
        created = [(await _send(client, "POST", "/v2/jobs", json={"name": name})).json()["id"] for _ in range(6)]
        query = {"name": name, "limit": 2}
        first = await _send(client, "GET", "/v2/jobs", params=query)
        pages, cursor = [first.json()["items"]], first.json()["next_cursor"]
        # The next page from another worker than the first: asked again on a new connection until the
        # kernel hands one to another worker (a read: asking twice changes nothing).
        for _ in range(200):
            second = await _send(client, "GET", "/v2/jobs", params={**query, "cursor": cursor})
            if served.worker_of(second) != served.worker_of(first):
                break
        else:
            raise AssertionError("200 requests on new connections all reached the first page's worker")
        assert second.status_code == 200, second.text
        pages.append(second.json()["items"])
        cursor = second.json()["next_cursor"]
        while cursor is not None:
            page = (await _send(client, "GET", "/v2/jobs", params={**query, "cursor": cursor})).json()
            pages.append(page["items"])
            cursor = page["next_cursor"]
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [j["id"] for p in pages for j in p] == created[::-1]  # newest first, none twice


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--no-auth", "--max-body-bytes", "2000"], {"keyless": 200, "large": 413, "/ui/": 200}),
        (["--no-dashboard"], {"keyless": 401, "large": 422, "/ui/": 404}),
    ],
    ids=["no-auth,max-body-bytes", "no-dashboard"],
)
async def test_every_worker_gets_the_command_line_options(
    tmp_path: Path, options: list[str], expected: dict[str, int]
) -> None:
    # Worker processes build their app themselves: each must get the command line's --db, --no-auth,
    # --max-body-bytes and --dashboard/--no-dashboard (each tested both ways across the two runs).
    url = f"sqlite:///{tmp_path / 'options.db'}"
    key = {"Authorization": f"Bearer {create_key(url, 'acct')}"}  # ignored under --no-auth
    server = ServerProcess(url, tmp_path / "server.log", workers=2, extra=options)
    server.start()
    try:
        served = ServedBy(Workers(server.port, 2))
        checked: dict[int, set[str]] = {pid: set() for pid in served.workers.pids}
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=60, limits=FRESH_CONNECTIONS, event_hooks={"response": [served.arecord]}
        ) as client:
            for _ in range(200):
                answers = {
                    "keyless": await client.post("/v2/jobs", json={"name": "keyless"}),
                    "large": await client.post("/v2/jobs", json={"name": "x" * 2100}, headers=key),
                    "/ui/": await client.get("/ui/"),
                }
                assert {what: a.status_code for what, a in answers.items()} == expected
                for what, answer in answers.items():
                    checked[served.worker_of(answer)].add(what)
                if all(len(done) == len(expected) for done in checked.values()):
                    break
    finally:
        server.stop()
    assert all(len(done) == len(expected) for done in checked.values()), checked
    # The jobs are in the --db given.
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sqlalchemy.text("SELECT count(*) FROM jobs WHERE account = 'local'")).scalar()
    finally:
        engine.dispose()
    assert (stored > 0) == (expected["keyless"] == 200)
