"""Per request: authenticate, then parse, then write. A refused request reads no body and never
reaches the database writer; large bodies are parsed off the event loop, with a bound on values."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, field_validator

from hud._wire import MAX_JSON_VALUES
from hud.server import create_app, create_key, revoke_key
from hud.server._db import get_engine, sqlite_writer
from hud.server._requests import INLINE_PARSE_BYTES, parse_body

from .conftest import LOCAL, Api, detail

WRITES = [
    ("POST", "/v2/jobs"),
    ("PATCH", "/v2/jobs/some-job"),
    ("POST", "/v2/create_environment"),
    ("POST", "/v2/environments/some-env/steps"),
    ("POST", "/v2/environments/some-env/close"),
]


async def _asgi(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, int]:
    """Calls the app directly; returns (status, how many times it asked for the body)."""
    asked = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("hud.test", 80),
    }
    await app(scope, receive, send)
    return status, asked


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("authorization", [None, "Bearer hud_not_a_real_key", "Basic x"])
async def test_a_refused_key_reads_no_body(db_url: str, method: str, path: str, authorization: str | None) -> None:
    app = create_app(db_url)
    headers = {"content-type": "application/json", "content-length": str(16 * 1024 * 1024)}
    if authorization is not None:
        headers["authorization"] = authorization
    status, asked = await _asgi(app, method, path, headers, b"[" + b"0," * 1000 + b"0]")
    assert (status, asked) == (401, 0)


class _WriterSpy:
    """Counts the operations submitted to the SQLite writer of a database (and still runs them)."""

    def __init__(self, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        writer = sqlite_writer(get_engine(database_url))
        assert writer is not None
        self.calls = 0
        real = writer.run

        async def run(fn: Callable[[Any], Any]) -> Any:
            self.calls += 1
            return await real(fn)

        monkeypatch.setattr(writer, "run", run)


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"headers": {"Authorization": "Bearer hud_unknown"}, "json": {"name": "x"}}, 401),
        ({"json": {"name": "x", "unknown": 1}}, 422),
        ({"json": {"name": ""}}, 422),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"content": b'{"name": "x"}', "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": {"name": "x"}, "params": {"dry_run": "1"}}, 422),
        ({"json": {"name": "x"}, "headers": {"Idempotency-Key": "k" * 256}}, 422),
        ({"json": {"name": "x", "metadata": {"v": [0] * MAX_JSON_VALUES}}}, 413),
    ],
    ids=["unknown-key", "unknown-field", "empty-name", "not-json", "not-json-type", "query", "idem-key", "values"],
)
async def test_refused_requests_never_reach_the_writer(
    db_url: str, monkeypatch: pytest.MonkeyPatch, request_kwargs: dict[str, Any], status: int
) -> None:
    app = create_app(db_url)
    key = create_key(db_url, "acct")
    spy = _WriterSpy(db_url, monkeypatch)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
        headers = {"Authorization": f"Bearer {key}", **request_kwargs.pop("headers", {})}
        response = await client.post("/v2/jobs", headers=headers, **request_kwargs)
        detail(response, status)
        assert spy.calls == 0
        valid = await client.post("/v2/jobs", headers={"Authorization": f"Bearer {key}"}, json={"name": "x"})
        assert valid.is_success
        assert spy.calls == 1


async def test_401_comes_before_413_and_422(api: Api) -> None:
    too_large = {"content": b"x" * (17 * 1024 * 1024), "headers": {"Authorization": "Bearer hud_unknown"}}
    detail(await api.client.post("/v2/jobs", **too_large), 401)
    invalid = {"json": {"name": ""}, "headers": {"Authorization": "Bearer hud_unknown"}}
    detail(await api.client.post("/v2/jobs", **invalid), 401)


async def test_value_bound_counts_values_not_commas_inside_strings(api: Api) -> None:
    # Over the quick bound (commas in a string), far under it in values: accepted.
    commas = {"s": "," * (MAX_JSON_VALUES + 10)}
    assert (await api.job(metadata=commas))["metadata"] == commas
    # Over it in values: refused with what to do.
    values = {"v": [0] * MAX_JSON_VALUES}
    assert "values" in detail(await api.request("POST", "/v2/jobs", json={"name": "x", "metadata": values}), 413)
    assert (await api.ok("GET", "/v2/jobs"))["items"][0]["metadata"] == commas


class _Probe(BaseModel):
    text: str

    @field_validator("text")
    @classmethod
    def _record(cls, value: str) -> str:
        _threads.append(threading.get_ident())
        return value


_threads: list[int] = []


@pytest.mark.parametrize(("size", "off_loop"), [(100, False), (INLINE_PARSE_BYTES + 1, True)])
async def test_large_bodies_are_parsed_off_the_event_loop(size: int, off_loop: bool) -> None:
    _threads.clear()
    raw = json.dumps({"text": "x" * size}).encode()
    assert (await parse_body(_Probe, raw)).text == "x" * size
    assert (_threads[0] != threading.get_ident()) == off_loop


async def test_the_loop_answers_while_a_large_body_is_parsed(db_url: str) -> None:
    app = create_app(db_url, auth=False)
    started, release = threading.Event(), threading.Event()
    released: list[bool] = []

    class _Slow(BaseModel):
        text: str

        @field_validator("text")
        @classmethod
        def _hold(cls, value: str) -> str:
            started.set()
            # Released by the test once /v2/health has answered; a parse that held the event
            # loop would keep health from answering and time out here instead.
            released.append(release.wait(5))
            return value

    async def health() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
            return (await client.get("/v2/health")).status_code

    parsing: Awaitable[_Slow] = asyncio.ensure_future(
        parse_body(_Slow, json.dumps({"text": "x" * (INLINE_PARSE_BYTES * 2)}).encode())
    )
    await asyncio.to_thread(started.wait, 10)
    # The parse holds its worker thread; the event loop still serves other requests.
    assert await health() == 200
    release.set()
    assert (await parsing).text.startswith("x")
    assert released == [True]


async def test_a_key_revoked_in_this_process_stops_at_once(api: Api) -> None:
    await api.job()  # the key is now cached
    revoke_key(api.database_url, api.alice)
    detail(await api.request("GET", "/v2/jobs"), 401)
    assert (await api.request("GET", "/v2/jobs", who="bob")).status_code == 200


async def test_concurrent_requests_with_one_key_share_one_lookup(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from hud.server import _auth

    lookups: list[str] = []
    real = _auth._lookup

    def counted(conn: Any, digest: str) -> str | None:
        lookups.append(digest)
        return real(conn, digest)

    monkeypatch.setattr(_auth, "_lookup", counted)
    responses = await asyncio.gather(*(api.request("GET", "/v2/jobs", who="bob") for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert len(lookups) == 1
    await api.request("GET", "/v2/jobs", who="bob")  # within the cache's lifetime: no lookup
    assert len(lookups) == 1
