"""Idempotency-Key: replays return the first answer without repeating the operation."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select

from hud.server._db import get_engine, write_engine
from hud.server._tables import idempotency_keys

from .conftest import Api, detail


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
    assert len(closed["trajectory"]) == 2
    assert await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories") == [closed]


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


async def test_expired_keys_are_purged_without_being_reused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # The table must not keep every key ever sent: expired ones go, also those no request reuses.
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    old, kept = key(), key()
    await api.ok("POST", "/v2/jobs", json={"name": "old"}, headers=old)
    clock[0] += 23 * 3600  # not expired yet, and minutes since any purge
    await api.ok("POST", "/v2/jobs", json={"name": "kept"}, headers=kept)
    assert _stored_keys(api.database_url) == {old["Idempotency-Key"], kept["Idempotency-Key"]}
    clock[0] += 2 * 3600  # old is 25 hours old, kept 2
    latest = key()
    await api.ok("POST", "/v2/jobs", json={"name": "latest"}, headers=latest)
    assert _stored_keys(api.database_url) == {kept["Idempotency-Key"], latest["Idempotency-Key"]}


async def test_bad_idempotency_key_is_422(api: Api) -> None:
    detail(await api.request("POST", "/v2/jobs", json={"name": "x"}, headers={"Idempotency-Key": "k" * 256}), 422)
    assert (await api.ok("GET", "/v2/jobs"))["items"] == []
