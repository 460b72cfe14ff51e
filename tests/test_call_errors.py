"""What a failed call says: the operation, who answered (embedded, server, platform) with its URL, the fix.

And how loud it is: one warning per call that needs retries, not one per retry; a key without a base URL
is announced once in the log as going to the HUD platform.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from _payloads import API_KEY, BASE_URL, job_payload

import hud
from hud import errors
from hud._constants import PLATFORM_BASE_URL
from hud.job import create_job, load_job
from hud.settings import get_settings


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """A key and no base URL: the HUD platform, answered by respx; instant retries (HUD_MAX_RETRIES=2)."""
    monkeypatch.setenv("HUD_API_KEY", API_KEY)
    monkeypatch.setenv("HUD_MAX_RETRIES", "2")
    monkeypatch.setattr("hud._api.BACKOFF_BASE", 0.0)
    monkeypatch.setattr("hud._api._announced", set())
    get_settings.cache_clear()
    with respx.mock(base_url=PLATFORM_BASE_URL, assert_all_called=False) as router:
        yield router


async def test_an_unreachable_server_is_named_with_its_url_mode_and_fix(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").mock(side_effect=httpx.ConnectError("All connection attempts failed"))

    with pytest.raises(errors.APIConnectionError) as caught:
        await load_job("j-1")

    message = str(caught.value)
    assert message.startswith(f"getJob: could not reach the server at {BASE_URL} (HUD_BASE_URL): ConnectError")
    assert "(3 attempts over " in message  # HUD_MAX_RETRIES=2 in the `remote` fixture
    assert "check that the server is running (`hud server`) and that HUD_BASE_URL is its address" in message


async def test_an_unreachable_platform_says_it_is_the_platform_and_how_to_use_a_server(
    platform: respx.MockRouter,
) -> None:
    platform.get("/v2/jobs/j-1").mock(side_effect=httpx.ConnectError("Name or service not known"))

    with pytest.raises(errors.APIConnectionError) as caught:
        await load_job("j-1")

    message = str(caught.value)
    assert f"could not reach the HUD platform at {PLATFORM_BASE_URL} (HUD_API_KEY set without HUD_BASE_URL)" in message
    assert "to use your own `hud server` instead, set HUD_BASE_URL" in message


async def test_a_key_without_a_base_url_is_announced_once_as_the_platform(
    platform: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    platform.get("/v2/jobs/j-1").respond(200, json=job_payload("j-1"))
    caplog.set_level(logging.INFO, logger="hud")

    await load_job("j-1")
    await load_job("j-1")
    client = hud.client()  # a raw client of the same settings: still said once
    await client.get_async_httpx_client().aclose()

    said = [r for r in caplog.records if "HUD platform" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert said[0].levelno == logging.INFO
    assert PLATFORM_BASE_URL in said[0].getMessage()
    assert "set HUD_BASE_URL to use your own `hud server`" in said[0].getMessage()


async def test_a_rejected_key_on_the_platform_hints_at_hud_base_url(platform: respx.MockRouter) -> None:
    platform.get("/v2/jobs/j-1").respond(401, json={"detail": "invalid API key"})

    with pytest.raises(errors.AuthenticationError) as caught:
        await load_job("j-1")

    assert caught.value.detail == "invalid API key"
    assert str(caught.value).startswith(f"getJob: HTTP 401 from the HUD platform at {PLATFORM_BASE_URL}")
    assert "a key without HUD_BASE_URL goes to the HUD platform: for your own `hud server`, set HUD_BASE_URL" in str(
        caught.value
    )


@pytest.mark.parametrize("suffix", ["/v2", "/v2/"])
async def test_a_base_url_ending_in_v2_gets_a_hint_on_404(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    monkeypatch.setenv("HUD_BASE_URL", BASE_URL + suffix)
    monkeypatch.setenv("HUD_API_KEY", API_KEY)
    get_settings.cache_clear()
    with respx.mock(base_url=BASE_URL) as router:
        router.get("/v2/v2/jobs/j-1").respond(404, json={"detail": "no such path"})

        with pytest.raises(errors.NotFoundError) as caught:
            await load_job("j-1")

    assert f"HUD_BASE_URL ends in /v2 but the SDK adds /v2/... itself: set HUD_BASE_URL={BASE_URL}" in str(caught.value)


async def test_a_404_of_a_right_base_url_gets_no_such_hint(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").respond(404, json={"detail": "job not found"})

    with pytest.raises(errors.NotFoundError) as caught:
        await load_job("j-1")

    assert str(caught.value) == f"getJob: HTTP 404 from the server at {BASE_URL} (HUD_BASE_URL): job not found"


async def test_one_warning_per_failed_call_not_per_retry(
    remote: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    remote.get("/v2/jobs/j-1").respond(503, json={"detail": "busy"})
    remote.get("/v2/jobs/j-2").mock(side_effect=httpx.ConnectError("refused"))
    caplog.set_level(logging.DEBUG, logger="hud")

    results = await asyncio.gather(load_job("j-1"), load_job("j-2"), return_exceptions=True)

    assert [type(r) for r in results] == [errors.ServerError, errors.APIConnectionError]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings  # one per call; each call made 3 attempts
    assert all(f"at the server at {BASE_URL} (HUD_BASE_URL)" in w and "retry 1 of 2" in w for w in warnings)
    later = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and "retry 2 of 2" in r.getMessage()]
    assert len(later) == 2


async def test_a_call_that_recovers_logs_one_warning_and_says_it_recovered(
    remote: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    remote.post("/v2/jobs").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=job_payload()),
        ]
    )
    caplog.set_level(logging.INFO, logger="hud")

    await create_job("eval")

    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    assert caplog.records[1].getMessage() == "hud: createJob succeeded after 2 retries"


async def test_the_raw_client_returns_the_model_and_raises_the_facades_errors(embedded: Path) -> None:
    from hud_api.api.jobs import get_job, list_jobs
    from hud_api.models import Job as RawJob
    from hud_api.models import JobPage

    created = await create_job("raw")
    async with hud.client() as client:
        page = await list_jobs.asyncio(client=client, limit=10)
        one = await get_job.asyncio(created.id, client=client)
        with pytest.raises(errors.NotFoundError) as caught:
            await get_job.asyncio("no-such-job", client=client)

    assert isinstance(page, JobPage) and [j.id for j in page.items] == [created.id]
    assert isinstance(one, RawJob) and one.name == "raw"
    assert caught.value.operation == "getJob" and caught.value.status_code == 404
    assert str(caught.value).startswith("getJob: HTTP 404 from the embedded local server (")


async def test_the_raw_client_without_hud_raises_unexpected_status(embedded: Path) -> None:
    from hud_api import AuthenticatedClient
    from hud_api.api.jobs import get_job
    from hud_api.errors import UnexpectedStatus

    configured = hud.client()
    bare = AuthenticatedClient(base_url="http://hud.embedded", token="x")  # no raise_for_status
    bare.set_async_httpx_client(configured.get_async_httpx_client())

    with pytest.raises(UnexpectedStatus) as caught:
        await get_job.asyncio("no-such-job", client=bare)

    assert caught.value.status_code == 404
    await configured.get_async_httpx_client().aclose()
