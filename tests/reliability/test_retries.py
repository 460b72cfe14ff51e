"""What the SDK retries, and the server's answers that make a retry safe."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx
from _payloads import BASE_URL

from hud import errors
from hud.job import create_job
from hud.server import create_app, create_key, dispose

JOB = {"id": "j1", "name": "n", "metadata": None, "created_at": "2025-01-01T00:00:00Z", "status": "created"}


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = f"sqlite:///{tmp_path / 'retries.db'}"
    key = create_key(url, "acct")
    transport = httpx.ASGITransport(app=create_app(url))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hud.test", headers=headers) as client:
        yield client, url
    dispose(url)


async def test_in_flight_409_is_marked_and_a_state_409_is_not(app_client: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = app_client
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(*(client.post("/v2/jobs", json={"name": "r"}, headers=headers) for _ in range(2)))
    conflict = next(a for a in answers if a.status_code == 409)
    assert conflict.headers["Idempotency-In-Flight"] == "true"
    env = (await client.post("/v2/create_environment", json={"gym_id": "g"})).json()
    assert (await client.post(f"/v2/environments/{env['id']}/close")).status_code == 200
    closed_again = await client.post(f"/v2/environments/{env['id']}/close")
    assert closed_again.status_code == 409
    assert "idempotency-in-flight" not in closed_again.headers


async def test_sdk_retries_an_in_flight_409_with_the_same_key(remote: respx.MockRouter) -> None:
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(
        side_effect=[
            httpx.Response(409, json={"detail": "in flight"}, headers={"Idempotency-In-Flight": "true"}),
            httpx.Response(200, json=JOB, headers={"Idempotency-Replayed": "true"}),
        ]
    )
    assert (await create_job("n")).id == "j1"
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert route.call_count == 2 and len(keys) == 1


async def test_sdk_does_not_retry_other_409s_or_4xx(remote: respx.MockRouter) -> None:
    for status, error in [
        (409, errors.ConflictError),
        (400, errors.InvalidRequestError),
        (422, errors.InvalidRequestError),
        (401, errors.AuthenticationError),
        (403, errors.AuthenticationError),
        (404, errors.NotFoundError),
        (413, errors.InvalidRequestError),
    ]:
        route = remote.post(f"{BASE_URL}/v2/jobs").respond(status, json={"detail": f"said {status}"})
        with pytest.raises(error, match=f"said {status}"):
            await create_job("n")
        assert route.call_count == 1, status
        route.reset()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_sdk_retries_transient_statuses_with_one_key(remote: respx.MockRouter, status: int) -> None:
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(
        side_effect=[httpx.Response(status, json={"detail": "later"}), httpx.Response(200, json=JOB)]
    )
    assert (await create_job("n")).id == "j1"
    assert route.call_count == 2
    assert len({call.request.headers["idempotency-key"] for call in route.calls}) == 1


async def test_retry_after_is_capped(remote: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap is what is measured here: shrink it so the test does not wait 30 s.
    monkeypatch.setattr("hud._api.RETRY_AFTER_CAP", 0.01)
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(
        side_effect=[
            httpx.Response(429, json={"detail": "x"}, headers={"Retry-After": "86400"}),
            httpx.Response(200, json=JOB),
        ]
    )
    assert (await create_job("n")).id == "j1"
    assert route.call_count == 2


async def test_connection_errors_are_retried_up_to_the_limit(remote: respx.MockRouter) -> None:
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.APIConnectionError, match="could not reach"):
        await create_job("n")
    assert route.call_count == 3  # HUD_MAX_RETRIES=2 in the `remote` fixture: 1 + 2
