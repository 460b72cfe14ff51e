"""What the SDK believes of a server's answer: every odd answer is a typed `HudError`, bounded in size.

Each test drives the SDK's public functions against answers a broken or hostile server (or a proxy in
front of it) could send, through respx at a fixed base URL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from _payloads import API_KEY, BASE_URL, job_payload, trajectory_payload

from hud import _api, _guards, errors
from hud._constants import MAX_ANSWER_BYTES, MAX_DETAIL_CHARS
from hud.job import Job, create_job, iter_jobs, load_job
from hud.settings import get_settings

pytestmark = pytest.mark.usefixtures("sdk_cleanup")


class _Huge(httpx.AsyncByteStream):
    """A 300 MiB answer body sent without Content-Length; counts what was read of it."""

    def __init__(self, prefix: bytes, suffix: bytes = b"") -> None:
        self.prefix = prefix
        self.suffix = suffix
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.prefix
        chunk = b"x" * (1 << 20)
        for _ in range(300):
            self.sent += len(chunk)
            yield chunk
        yield self.suffix


async def test_a_huge_answer_is_cut_off_at_the_cap(remote: respx.MockRouter) -> None:
    body = _Huge(b'{"id": "j1", "status": "created", "created_at": "2025-01-01T00:00:00Z", "name": "', b'"}')
    remote.get(f"{BASE_URL}/v2/jobs/j1").mock(return_value=httpx.Response(200, stream=body))
    with pytest.raises(errors.ServerError) as raised:
        await load_job("j1")
    assert f"{MAX_ANSWER_BYTES}" in str(raised.value)
    assert body.sent <= MAX_ANSWER_BYTES + (2 << 20)  # stopped reading right after the cap


async def test_a_declared_huge_answer_is_refused_before_reading(remote: respx.MockRouter) -> None:
    body = _Huge(b"[")
    huge = str(300 * 1024 * 1024)
    remote.get(f"{BASE_URL}/v2/jobs/j1").mock(
        return_value=httpx.Response(200, stream=body, headers={"Content-Length": huge})
    )
    with pytest.raises(errors.ServerError) as raised:
        await load_job("j1")
    assert huge in str(raised.value) and body.sent == 0


async def test_a_long_detail_is_shortened_in_the_message(remote: respx.MockRouter) -> None:
    detail = "d" * (5 * 1024 * 1024)
    remote.get(f"{BASE_URL}/v2/jobs/j1").mock(return_value=httpx.Response(422, json={"detail": detail}))
    with pytest.raises(errors.InvalidRequestError) as raised:
        await load_job("j1")
    assert len(str(raised.value)) <= 2 * MAX_DETAIL_CHARS
    assert len(raised.value.detail) <= 2 * MAX_DETAIL_CHARS
    assert "more characters" in raised.value.detail


async def test_a_repeated_trajectory_cursor_raises(remote: respx.MockRouter) -> None:
    remote.get(f"{BASE_URL}/v2/jobs/j1").mock(return_value=httpx.Response(200, json=job_payload("j1")))
    route = remote.get(f"{BASE_URL}/v2/jobs/j1/trajectories").mock(
        side_effect=lambda request: httpx.Response(
            200, json=[trajectory_payload(f"t{request.url.params.get('cursor', '0')}")], headers={"X-Next-Cursor": "c1"}
        )
    )
    loaded = await load_job("j1")
    seen = []
    with pytest.raises(errors.ServerError, match="cursor"):
        async for trajectory in loaded.iter_trajectories():
            seen.append(trajectory.id)
    assert seen == ["t0", "tc1"] and route.call_count == 2
    with pytest.raises(errors.ServerError, match="cursor"):
        await loaded.load_trajectories()


async def test_a_cursor_cycle_in_the_job_listing_raises(remote: respx.MockRouter) -> None:
    pages = {None: "a", "a": "b", "b": "a"}  # a cycle of two pages, not just the same cursor twice
    remote.get(f"{BASE_URL}/v2/jobs").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"items": [job_payload()], "next_cursor": pages[request.url.params.get("cursor")]}
        )
    )
    count = 0
    with pytest.raises(errors.ServerError, match="cursor"):
        async for _ in iter_jobs():
            count += 1
    assert count == 3


async def test_a_redirect_names_where_it_points(remote: respx.MockRouter) -> None:
    target = "https://hud.test/v2/jobs"
    route = remote.post(f"{BASE_URL}/v2/jobs").mock(
        return_value=httpx.Response(301, headers={"Location": target}, text="moved")
    )
    with pytest.raises(errors.HudError) as raised:
        await create_job("n")
    assert target in str(raised.value) and "HUD_BASE_URL" in str(raised.value)
    assert "not a valid" not in str(raised.value)
    assert route.call_count == 1  # neither followed (the key would go along) nor retried


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [
        ("http://hud.example.com", True),
        ("http://10.0.0.7:8000", True),
        ("https://hud.example.com", False),
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
    ],
)
async def test_a_key_over_plain_http_to_another_host_is_warned_about_once(
    base_url: str, warned: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_guards, "_warned_plain_http", set())
    monkeypatch.setenv("HUD_BASE_URL", base_url)
    monkeypatch.setenv("HUD_API_KEY", API_KEY)
    get_settings.cache_clear()
    with respx.mock(base_url=base_url) as router:
        router.get("/v2/jobs/j1").mock(return_value=httpx.Response(200, json=job_payload("j1")))
        with caplog.at_level(logging.WARNING, logger="hud"):
            for _ in range(3):
                assert isinstance(await load_job("j1"), Job)
                await _api.aclose()  # a new client each time: still one warning
    messages = [r.getMessage() for r in caplog.records if "plain HTTP" in r.getMessage()]
    assert len(messages) == (1 if warned else 0)
    assert all(API_KEY not in m and "https://" in m for m in messages)
