"""The bad-input catalogue, both sides: the server's 4xx with a `detail`, and the SDK's typed error.

Server cases already in tests/server/test_validation.py and test_auth.py are not repeated; the ones
here are those missing there. SDK cases run on the embedded default (the real server in-process),
or on a live `hud server` where keys and body limits matter.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import hud
from hud import errors
from hud.job import create_job, iter_jobs, load_job
from hud.server import create_app, create_key, dispose, revoke_key
from hud.server._auth import CACHE_TTL_S

from ._process import ServerProcess
from .conftest import use_server

TEN_MB = {"blob": "x" * (10 * 1024 * 1024)}


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"d": value}
    return value


def detail(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in body["detail"]
    return str(body["detail"])


# -- server side: what tests/server does not cover yet ---------------------------------------------


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(url, auth=False)), base_url="http://localhost"
    ) as http:
        yield http
    dispose(url)


async def test_server_metadata_of_10_mb_is_422(client: httpx.AsyncClient) -> None:
    assert "limit is 1048576" in detail(await client.post("/v2/jobs", json={"name": "x", "metadata": TEN_MB}), 422)
    job = (await client.post("/v2/jobs", json={"name": "x"})).json()
    detail(await client.patch(f"/v2/jobs/{job['id']}", json={"metadata": TEN_MB}), 422)
    detail(await client.post("/v2/create_environment", json={"gym_id": "g", "metadata": TEN_MB}), 422)
    assert [j["id"] for j in (await client.get("/v2/jobs")).json()["items"]] == [job["id"]]
    # Just under the limit is accepted.
    fits = {"blob": "x" * (1024 * 1024 - 20)}
    assert (await client.post("/v2/jobs", json={"name": "x", "metadata": fits})).status_code == 200


async def test_server_metadata_nested_1000_deep_is_422(client: httpx.AsyncClient) -> None:
    raw = b'{"name": "x", "metadata": ' + b'{"d":' * 999 + b"{}" + b"}" * 999 + b"}"
    response = await client.post("/v2/jobs", content=raw, headers={"Content-Type": "application/json"})
    assert "nested" in detail(response, 422)


@pytest.mark.parametrize("limit", ["-1", "-99999", "99999999999", "1" * 40])
async def test_server_negative_and_huge_limits_are_422(client: httpx.AsyncClient, limit: str) -> None:
    job = (await client.post("/v2/jobs", json={"name": "x"})).json()
    detail(await client.get("/v2/jobs", params={"limit": limit}), 422)
    detail(await client.get(f"/v2/jobs/{job['id']}/trajectories", params={"limit": limit}), 422)


@pytest.mark.parametrize("path", ["/v2/jobs/..%2F..%2Fetc", "/v2/jobs/a%2Fb", "/v2/jobs/../v2/jobs", "/v2/jobs/%2e%2e"])
async def test_server_traversal_ids_are_4xx(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code in (400, 404, 405), response.text
    detail(response, response.status_code)


async def test_server_cursor_of_one_list_on_another_is_a_position(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await client.post("/v2/jobs", json={"name": f"j{n}"})
    jobs_cursor = (await client.get("/v2/jobs", params={"limit": 1})).json()["next_cursor"]
    job = (await client.get("/v2/jobs", params={"limit": 1})).json()["items"][0]
    for _ in range(2):
        env = (await client.post("/v2/create_environment", json={"gym_id": "g", "run_id": job["id"]})).json()
        await client.post(f"/v2/environments/{env['id']}/close")
    page = await client.get(f"/v2/jobs/{job['id']}/trajectories", params={"limit": 1})
    trajectories_cursor = page.headers["x-next-cursor"]
    # openapi.yaml states the format; every cursor it allows is a position (see _cursors.py).
    response = await client.get(f"/v2/jobs/{job['id']}/trajectories", params={"limit": 1, "cursor": jobs_cursor})
    assert response.status_code == 200 and isinstance(response.json(), list)
    assert (await client.get("/v2/jobs", params={"cursor": trajectories_cursor})).status_code == 200
    assert "malformed cursor" in detail(await client.get("/v2/jobs", params={"cursor": "j" + jobs_cursor}), 400)


# -- SDK side: refused before sending, or the server's answer as a typed error ----------------------


Call = Callable[[], Awaitable[object]]


async def _env() -> hud.gym.Environment:
    return await hud.gym.make("gym")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: create_job(""), "must not be empty"),
        (lambda: create_job("n" * 257), "the limit is 256"),
        (lambda: create_job("a\x00b"), "NUL"),
        (lambda: create_job("\ud800"), "UTF-8"),
        (lambda: create_job(b"name"), "must be a string"),  # type: ignore[arg-type]
        (lambda: create_job(None), "must be a string"),  # type: ignore[arg-type]
        (lambda: create_job("x", metadata=TEN_MB), "the limit is 1048576"),
        (lambda: create_job("x", metadata=deep(1000)), "nested more than 63 levels"),
        (lambda: create_job("x", metadata=deep(64)), "nested more than 63 levels"),
        (lambda: create_job("x", metadata={"a": math.nan}), "NaN"),
        (lambda: create_job("x", metadata={"a": [math.inf]}), "NaN/Infinity"),
        (lambda: create_job("x", metadata={"a": {1, 2}}), "JSON-serialisable"),
        (lambda: create_job("x", metadata={1: "a"}), "keys must be strings"),
        (lambda: create_job("x", metadata=[1]), "must be a dict"),  # type: ignore[arg-type]
        (lambda: create_job("x", metadata={"s": "\udc80"}), "UTF-8"),
        (lambda: create_job("x", gym_id=""), "must not be empty"),
        (lambda: load_job(""), "must not be empty"),
        (lambda: load_job("../etc"), "must not contain '/'"),
        (lambda: load_job(".."), "must not be '..'"),
        (lambda: load_job("a\x00b"), "NUL"),
        (lambda: load_job("\udcff\udcfe"), "UTF-8"),
        (lambda: load_job(b"\xff\xfe"), "must be a string"),  # type: ignore[arg-type]
        (lambda: load_job("j" * 129), "the limit is 128"),
        (lambda: hud.gym.make("g/../x"), "must not contain '/'"),
        (lambda: hud.gym.make("g", job="../j"), "must not contain '/'"),
        (lambda: _aiter_first(iter_jobs(page_size=0)), "page_size"),
        (lambda: _aiter_first(iter_jobs(page_size=-1)), "page_size"),
        (lambda: _aiter_first(iter_jobs(page_size=10**9)), "page_size"),
        (lambda: _aiter_first(iter_jobs(page_size="10")), "page_size"),  # type: ignore[arg-type]
        (lambda: load_job("j", api_key="a b"), "printable ASCII"),
        (lambda: load_job("j", api_key="hud_é"), "printable ASCII"),
        (lambda: load_job("j", api_key=" "), "non-empty"),
    ],
)
async def test_sdk_refuses_before_sending(embedded: Path, call: Call, message: str) -> None:
    with pytest.raises(errors.InvalidInputError, match=message):
        await call()
    # Nothing was written: the refusal came before any request.
    assert [j async for j in iter_jobs()] == []


@pytest.mark.parametrize("reward", [math.nan, math.inf, -math.inf, "1.0", True])
async def test_sdk_refuses_bad_rewards(embedded: Path, reward: Any) -> None:
    env = await _env()
    with pytest.raises(errors.InvalidInputError, match="reward"):
        await env.close(reward=reward)
    assert not env.closed
    assert (await env.close(reward=1.0)).reward == 1.0


async def test_sdk_refuses_bad_steps(embedded: Path) -> None:
    env = await _env()
    for actions, message in [([1], "list of dicts"), ({"a": 1}, "list of dicts"), ([deep(61)], "nested more than 60")]:
        with pytest.raises(errors.InvalidInputError, match=message):
            await env.record_step(actions=actions)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidInputError, match="observation_text"):
        await env.record_step(observation_text=5)  # type: ignore[arg-type]
    # The deepest action the server accepts goes through.
    await env.record_step(actions=[deep(60)])
    assert (await env.close()).step_count == 1


async def test_sdk_trajectory_page_sizes(embedded: Path) -> None:
    created = await create_job("x")
    for size in (0, -1, 10001, 2**63):
        with pytest.raises(errors.InvalidInputError, match="page_size"):
            await _aiter_first(created.iter_trajectories(page_size=size))


async def test_sdk_ids_that_no_object_has_are_not_found(embedded: Path) -> None:
    # %2F, "?", "#", "%00" travel quoted and come back as a NotFoundError naming the id.
    for job_id in ("..%2F..%2Fetc", "a%2Fb", "x?y=1#z", "%00", "%FF%FE", "é"):
        with pytest.raises(errors.NotFoundError) as caught:
            await load_job(job_id)
        assert repr(job_id) in caught.value.detail


async def test_sdk_server_side_errors_are_typed(embedded: Path) -> None:
    # Through the generated client (hud.client()), what the facade refuses reaches the server and
    # comes back as its 4xx: the facade's own mapping is exercised by the bad cursor.
    from pydantic import BaseModel

    from hud import _api
    from hud.settings import get_settings

    class Page(BaseModel):
        next_cursor: str | None

    with pytest.raises(errors.InvalidRequestError, match="malformed cursor") as caught:
        await _api.list_jobs(get_settings(), Page, limit=10, cursor="not-a-cursor", status=None, name=None)
    assert caught.value.status_code == 400
    job = await create_job("a")
    with pytest.raises(errors.InvalidRequestError, match="malformed cursor"):
        await _api.list_job_trajectories(get_settings(), job.id, limit=1, cursor="-1")
    async with hud.client() as raw:
        response = await raw.get_async_httpx_client().post("/v2/jobs", json={"name": "x", "unknown": 1})
        assert response.status_code == 422 and "unknown" in response.json()["detail"]
        response = await raw.get_async_httpx_client().post(
            "/v2/jobs", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


async def _aiter_first(iterator: Any) -> object:
    async for item in iterator:
        return item
    return None


# -- keys and body size: a live server ------------------------------------------------------------


@pytest.mark.live
async def test_sdk_keys_missing_malformed_unknown_revoked(
    sqlite_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create_key(sqlite_server.database_url, "acct")
    use_server(monkeypatch, sqlite_server.base_url, key, timeout=10, retries=1)
    try:
        created = await create_job("mine")
        for wrong, expected in [("hud_unknown", "unknown or revoked"), ("x" * 300, "unknown or revoked")]:
            with pytest.raises(errors.AuthenticationError, match=expected) as caught:
                await load_job(created.id, api_key=wrong)
            assert wrong not in str(caught.value)
        revoke_key(sqlite_server.database_url, key)
        # The server caches valid keys for up to CACHE_TTL_S: a key revoked by another process
        # (here, this test) stops working within that time.
        await asyncio.sleep(CACHE_TTL_S)
        with pytest.raises(errors.AuthenticationError, match="revoked") as caught:
            await load_job(created.id)
        assert key not in str(caught.value) and caught.value.status_code == 401
        monkeypatch.delenv("HUD_API_KEY")
        hud.get_settings.cache_clear()
        with pytest.raises(errors.ConfigurationError, match="HUD_API_KEY"):
            await load_job(created.id)
    finally:
        await hud.aclose()


@pytest.mark.live
async def test_sdk_body_over_the_limit_is_413_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    key = create_key(url, "acct")
    process = ServerProcess(url, tmp_path / "server.log", extra=["--max-body-bytes", "20000"])
    process.start()
    try:
        use_server(monkeypatch, process.base_url, key, timeout=10, retries=3)
        with pytest.raises(errors.InvalidRequestError, match="over 20000 bytes") as caught:
            await create_job("big", metadata={"blob": "x" * 50_000})
        assert caught.value.status_code == 413
        assert [j async for j in iter_jobs()] == []
    finally:
        await hud.aclose()
        process.stop()
        dispose(url)
