"""What the SDK retries, and the server's answers that make a retry safe."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import respx
from _payloads import BASE_URL

from hud import errors
from hud._constants import RETRY_AFTER_CAP
from hud.job import create_job
from hud.server import create_app, create_key, dispose
from hud.settings import get_settings

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


async def test_retry_after_is_capped(remote: respx.MockRouter, sdk_sleeps: list[float]) -> None:
    # The sleep is recorded, not slept: a broken cap fails here instead of hanging CI for a day.
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(
        side_effect=[
            httpx.Response(429, json={"detail": "x"}, headers={"Retry-After": "86400"}),
            httpx.Response(200, json=JOB),
        ]
    )
    assert (await create_job("n")).id == "j1"
    assert route.call_count == 2
    assert sdk_sleeps == [RETRY_AFTER_CAP]


async def test_retry_after_as_an_http_date_is_honoured(remote: respx.MockRouter, sdk_sleeps: list[float]) -> None:
    now = datetime.now(UTC)
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": format_datetime(now + timedelta(seconds=20), usegmt=True)}),
            httpx.Response(503, headers={"Retry-After": format_datetime(now - timedelta(hours=1), usegmt=True)}),
            httpx.Response(200, json=JOB),
        ]
    )
    assert (await create_job("n")).id == "j1"
    assert route.call_count == 3
    # An HTTP date has whole seconds: 19 to 20 s from now; one in the past means at once.
    assert 18.0 <= sdk_sleeps[0] <= 20.0
    assert sdk_sleeps[1:] == [0.0]


@pytest.mark.parametrize("value", ["soon", "", "nan", "Mon, 99 Foo 2026 25:61:00 GMT", "1.5.3"])
async def test_a_malformed_retry_after_counts_as_absent(
    remote: respx.MockRouter, sdk_sleeps: list[float], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setattr("hud._api.BACKOFF_BASE", 1.0)  # the SDK's own backoff: up to 1 s on a first retry
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(
        side_effect=[
            httpx.Response(429, json={"detail": "x"}, headers={"Retry-After": value}),
            httpx.Response(200, json=JOB),
        ]
    )
    assert (await create_job("n")).id == "j1"
    assert route.call_count == 2
    assert len(sdk_sleeps) == 1 and 0.0 <= sdk_sleeps[0] <= 1.0
    # Still refused after the retries: the error says no Retry-After was given.
    remote.post(f"{BASE_URL}/v2/jobs").respond(429, json={"detail": "x"}, headers={"Retry-After": value})
    with pytest.raises(errors.RateLimitError) as caught:
        await create_job("n")
    assert caught.value.retry_after is None


async def test_hud_max_retries_defaults_to_8(remote: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUD_MAX_RETRIES")  # what the `remote` fixture set: back to the documented default
    get_settings.cache_clear()
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.APIConnectionError):
        await create_job("n")
    assert route.call_count == 1 + 8  # README: HUD_MAX_RETRIES defaults to 8


async def test_connection_errors_are_retried_up_to_the_limit(remote: respx.MockRouter) -> None:
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.APIConnectionError, match="could not reach"):
        await create_job("n")
    assert route.call_count == 3  # HUD_MAX_RETRIES=2 in the `remote` fixture: 1 + 2
