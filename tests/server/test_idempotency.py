"""Idempotency-Key: replays return the first answer without repeating the operation."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from sqlalchemy import select

from hud.server import create_app
from hud.server._db import get_engine, write_engine
from hud.server._tables import idempotency_keys

from .conftest import BASE, Api, detail


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_create_job_replay_returns_same_job(api: Api) -> None:
    headers = key()
    first = await api.request("POST", "/v2/jobs", json={"name": "once"}, headers=headers)
    again = await api.request("POST", "/v2/jobs", json={"name": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert len((await api.ok("GET", "/v2/jobs"))["items"]) == 1


async def test_same_key_different_body_is_409_not_in_flight(api: Api) -> None:
    headers = key()
    await api.ok("POST", "/v2/jobs", json={"name": "a"}, headers=headers)
    reused = await api.request("POST", "/v2/jobs", json={"name": "b"}, headers=headers)
    assert "different request" in detail(reused, 409)
    assert "idempotency-in-flight" not in reused.headers  # the SDK never retries it
    assert len((await api.ok("GET", "/v2/jobs"))["items"]) == 1


async def test_same_key_other_path_is_409(api: Api) -> None:
    headers = key()
    env_a, env_b = await api.env(None), await api.env(None)
    await api.ok("POST", f"/v2/environments/{env_a}/close", headers=headers)
    detail(await api.request("POST", f"/v2/environments/{env_b}/close", headers=headers), 409)


async def test_keys_are_per_account(api: Api) -> None:
    headers = key()
    a = await api.ok("POST", "/v2/jobs", json={"name": "x"}, headers=headers)
    b = await api.ok("POST", "/v2/jobs", json={"name": "x"}, headers=headers, who="bob")
    assert a["id"] != b["id"]


async def test_environment_steps_and_close_are_not_repeated(api: Api) -> None:
    job = await api.job()
    headers = key()
    body = {"run_id": job["id"], "gym_id": "g"}
    env = await api.ok("POST", "/v2/create_environment", json=body, headers=headers)
    assert await api.ok("POST", "/v2/create_environment", json=body, headers=headers) == env

    steps_key = key()
    steps = {"steps": [{"observation_text": "a"}, {"observation_text": "b"}]}
    first = await api.ok("POST", f"/v2/environments/{env['id']}/steps", json=steps, headers=steps_key)
    assert await api.ok("POST", f"/v2/environments/{env['id']}/steps", json=steps, headers=steps_key) == first
    assert first["step_count"] == 2

    close_key = key()
    closed = await api.ok("POST", f"/v2/environments/{env['id']}/close", json={"reward": 1}, headers=close_key)
    # A retried close replays its answer instead of answering 409.
    assert await api.ok("POST", f"/v2/environments/{env['id']}/close", json={"reward": 1}, headers=close_key) == closed
    assert closed["step_count"] == 2
    listed = await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories")
    assert [(t["id"], len(t["trajectory"])) for t in listed] == [(env["id"], 2)]


async def test_failed_request_does_not_store_the_key(api: Api) -> None:
    headers = key()
    missing = {"run_id": str(uuid.uuid4()), "gym_id": "g"}
    detail(await api.request("POST", "/v2/create_environment", json=missing, headers=headers), 404)
    job = await api.job()
    # The key is free: the failure left nothing behind (operation and key share one transaction).
    detail(await api.request("POST", "/v2/create_environment", json=missing, headers=headers), 404)
    env = await api.ok("POST", "/v2/create_environment", json={"run_id": job["id"], "gym_id": "g"}, headers=key())
    assert env["id"]


async def test_concurrent_retry_in_flight_is_409(api: Api) -> None:
    headers = key()
    responses = await asyncio.gather(
        *(api.request("POST", "/v2/jobs", json={"name": "race"}, headers=headers) for _ in range(2))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], [r.text for r in responses]
    assert "in flight" in detail(next(r for r in responses if r.status_code == 409), 409)
    # Once the first finished, a retry replays it.
    winner = next(r for r in responses if r.status_code == 200).json()
    assert await api.ok("POST", "/v2/jobs", json={"name": "race"}, headers=headers) == winner


async def test_keys_expire_after_24_hours(api: Api) -> None:
    headers = key()
    first = await api.ok("POST", "/v2/jobs", json={"name": "old"}, headers=headers)
    with write_engine(get_engine(api.database_url)).begin() as conn:
        conn.execute(idempotency_keys.update().values(created_at=time.time() - 24 * 3600 - 5))
    second = await api.ok("POST", "/v2/jobs", json={"name": "old"}, headers=headers)
    assert second["id"] != first["id"]
    # ...and, once expired, the key is free even for a different request.
    with write_engine(get_engine(api.database_url)).begin() as conn:
        conn.execute(idempotency_keys.update().values(created_at=time.time() - 24 * 3600 - 5))
    await api.ok("POST", "/v2/jobs", json={"name": "new"}, headers=headers)


def _stored_keys(database_url: str) -> set[str]:
    with get_engine(database_url).connect() as conn:
        return {str(k) for (k,) in conn.execute(select(idempotency_keys.c.key))}


async def test_expired_keys_are_purged_without_being_reused(api: Api) -> None:
    # The table must not keep every key ever sent: expired ones go, also those no request reuses.
    old, kept = key(), key()
    await api.ok("POST", "/v2/jobs", json={"name": "old"}, headers=old)
    await api.ok("POST", "/v2/jobs", json={"name": "kept"}, headers=kept)
    with write_engine(get_engine(api.database_url)).begin() as conn:
        conn.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.key == old["Idempotency-Key"])
            .values(created_at=time.time() - 25 * 3600)
        )
    # A fresh process's app purges after its first idempotent write, in the background.
    fresh = create_app(api.database_url)
    latest = key()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh), base_url=BASE) as client:
        answer = await client.post("/v2/jobs", json={"name": "latest"}, headers={**api.auth(), **latest})
        assert answer.status_code == 200
    for _ in range(600):  # the purge runs on its own thread: wait for it, 30 s at most
        if old["Idempotency-Key"] not in _stored_keys(api.database_url):
            break
        await asyncio.sleep(0.05)
    assert _stored_keys(api.database_url) == {kept["Idempotency-Key"], latest["Idempotency-Key"]}


async def test_bad_idempotency_key_is_422(api: Api) -> None:
    detail(await api.request("POST", "/v2/jobs", json={"name": "x"}, headers={"Idempotency-Key": "k" * 256}), 422)
    assert (await api.ok("GET", "/v2/jobs"))["items"] == []


async def test_large_answers_are_kept_as_a_reference_and_replayed_whole(api: Api) -> None:
    # 100 KB of metadata and of logs: each answer is larger than a row should be.
    meta = {"blob": "m" * 100_000}
    job_key, env_key, close_key = key(), key(), key()
    job = await api.request("POST", "/v2/jobs", json={"name": "big", "metadata": meta}, headers=job_key)
    env_body = {"run_id": job.json()["id"], "gym_id": "g", "metadata": meta}
    env = await api.request("POST", "/v2/create_environment", json=env_body, headers=env_key)
    env_id = env.json()["id"]
    path = f"/v2/environments/{env_id}/close"
    closed = await api.request("POST", path, json={"reward": 1, "logs": "l" * 100_000}, headers=close_key)
    for method, where, body, headers, first in (
        ("POST", "/v2/jobs", {"name": "big", "metadata": meta}, job_key, job),
        ("POST", "/v2/create_environment", env_body, env_key, env),
        ("POST", path, {"reward": 1, "logs": "l" * 100_000}, close_key, closed),
    ):
        again = await api.request(method, where, json=body, headers=headers)
        assert again.headers["idempotency-replayed"] == "true"
        assert again.content == first.content  # byte for byte
    with get_engine(api.database_url).connect() as conn:
        rows = conn.execute(idempotency_keys.select()).all()
    assert sorted(r.ref_id for r in rows) == sorted([job.json()["id"], env_id, env_id])
    assert all(r.body == "" for r in rows)
