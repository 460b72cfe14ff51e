"""Keyset paging of jobs and trajectories, and the streamed unpaged trajectories array."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from hud.server import create_app
from hud.server._db import get_engine, write_engine
from hud.server._tables import environments, trajectories

from .conftest import LOCAL, Api, detail


async def all_jobs(api: Api, query: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if query:
            params.update(dict(p.split("=") for p in query.split("&")))
        if cursor:
            params["cursor"] = cursor
        page = await api.ok("GET", "/v2/jobs", params=params)
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert pages < 100


async def test_jobs_newest_first_across_pages(api: Api) -> None:
    created = [await api.job(f"job-{i}") for i in range(25)]
    listed = await all_jobs(api, "", 7)
    assert listed == created[::-1]
    assert await all_jobs(api, "", 25) == created[::-1]
    assert await all_jobs(api, "", 1000) == created[::-1]


async def test_jobs_default_limit_is_100(api: Api) -> None:
    for i in range(101):
        await api.ok("POST", "/v2/jobs", json={"name": f"j{i}"})
    page = await api.ok("GET", "/v2/jobs")
    assert len(page["items"]) == 100
    assert page["next_cursor"] is not None
    rest = await api.ok("GET", "/v2/jobs", params={"cursor": page["next_cursor"]})
    assert [j["name"] for j in rest["items"]] == ["j0"]
    assert rest["next_cursor"] is None


async def test_jobs_filtered_by_status_and_name(api: Api) -> None:
    jobs = [await api.job("a" if i % 2 else "b") for i in range(12)]
    for job in jobs[:5]:
        await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "done"})
    done = await all_jobs(api, "status=done", 2)
    assert [j["id"] for j in done] == [j["id"] for j in jobs[:5]][::-1]
    named = await all_jobs(api, "name=a", 4)
    assert [j["id"] for j in named] == [j["id"] for j in jobs if j["name"] == "a"][::-1]
    both = await all_jobs(api, "name=a&status=done", 1)
    assert [j["id"] for j in both] == [j["id"] for j in jobs[:5] if j["name"] == "a"][::-1]
    assert (await api.ok("GET", "/v2/jobs", params={"status": "nope"})) == {"items": [], "next_cursor": None}


async def test_a_job_cursor_is_a_position_in_any_listing_of_the_account(api: Api) -> None:
    # openapi.yaml states the cursor's format, and every cursor it allows means a position: one from
    # another query pages that query from there, and never into another account.
    bobs = await api.job("b", who="bob")
    jobs = [await api.job(name) for name in ("a", "b", "a", "b")]
    cursor = (await api.ok("GET", "/v2/jobs", params={"limit": 1}))["next_cursor"]
    assert cursor
    named = await api.ok("GET", "/v2/jobs", params={"cursor": cursor, "name": "a"})
    assert [j["id"] for j in named["items"]] == [jobs[2]["id"], jobs[0]["id"]]
    theirs = await api.ok("GET", "/v2/jobs", params={"cursor": cursor}, who="bob")
    assert [j["id"] for j in theirs["items"]] == [bobs["id"]]
    assert "malformed cursor" in detail(await api.request("GET", "/v2/jobs", params={"cursor": "x" + cursor}), 400)


async def test_trajectory_pages_with_next_cursor_header(api: Api) -> None:
    job = await api.job()
    closed = []
    for i in range(23):
        env_id = await api.env(job["id"])
        if i % 3 == 0:
            await api.ok("POST", f"/v2/environments/{env_id}/steps", json={"steps": [{"observation_text": str(i)}] * 2})
        await api.ok("POST", f"/v2/environments/{env_id}/close", json={"reward": float(i)})
        closed.append(await api.ok("GET", f"/v2/trajectories/{env_id}"))
    for limit in (1, 5, 23, 100):
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            response = await api.request("GET", f"/v2/jobs/{job['id']}/trajectories", params=params)
            assert response.status_code == 200
            page = response.json()
            assert isinstance(page, list) and len(page) <= limit
            seen += page
            cursor = response.headers.get("x-next-cursor")
            if cursor is None:
                break
            assert len(page) == limit
        assert seen == closed, limit
    assert await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories") == closed


async def test_a_trajectory_cursor_is_a_position_in_any_job(api: Api) -> None:
    job_a, job_b = await api.job(), await api.job()
    for _ in range(2):
        await api.trajectory(job_a["id"])
        await api.trajectory(job_b["id"])
    response = await api.request("GET", f"/v2/jobs/{job_a['id']}/trajectories", params={"limit": 1})
    cursor = response.headers["x-next-cursor"]
    # Job b's trajectories after that position: those closed after job a's first.
    after = await api.ok("GET", f"/v2/jobs/{job_b['id']}/trajectories", params={"cursor": cursor})
    assert len(after) == 2
    # The cursor without limit: the rest of the job, unpaged.
    rest = await api.ok("GET", f"/v2/jobs/{job_a['id']}/trajectories", params={"cursor": cursor})
    assert len(rest) == 1


def _bulk_close(database_url: str, job_id: str, count: int, steps_every: int) -> None:
    """Inserts closed environments straight into the store: building 2,000 over HTTP only slows the test."""
    from hud.server._tables import steps

    env_rows, traj_rows, step_rows = [], [], []
    for i in range(count):
        env_id = f"env-{i:05d}"
        n = 2 if i % steps_every == 0 else 0
        env_rows.append(
            {
                "id": env_id,
                "account": "alice",
                "job_id": job_id,
                "gym_id": "g",
                "task_id": None,
                "metadata": None,
                "step_count": n,
                "closed_at": "2025-01-01T00:00:00+00:00",
                "created_at": "2025-01-01T00:00:00+00:00",
            }
        )
        traj_rows.append(
            {
                "id": env_id,
                "account": "alice",
                "job_id": job_id,
                "reward": i / 10,
                "logs": f"log {i}",
                "error": None,
                "step_count": n,
                "created_at": "2025-01-01T00:00:00+00:00",
            }
        )
        for position in range(n):
            data = {
                "observation_url": None,
                "observation_text": f"{i}/{position}",
                "actions": [],
                "start_timestamp": None,
                "end_timestamp": None,
            }
            step_rows.append({"env_id": env_id, "position": position, "data": json.dumps(data)})
    with write_engine(get_engine(database_url)).begin() as conn:
        conn.execute(environments.insert(), env_rows)
        conn.execute(trajectories.insert(), traj_rows)
        conn.execute(steps.insert(), step_rows)


async def test_large_unpaged_list_is_streamed_as_one_array(api: Api) -> None:
    job = await api.job()
    _bulk_close(api.database_url, job["id"], 2000, steps_every=7)
    async with api.client.stream("GET", f"/v2/jobs/{job['id']}/trajectories", headers=api.auth()) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not built whole
        listed = json.loads(await response.aread())
    assert [t["id"] for t in listed] == [f"env-{i:05d}" for i in range(2000)]
    assert listed[7]["trajectory"][1]["observation_text"] == "7/1"
    assert listed[8]["trajectory"] == []
    assert listed[1999]["reward"] == 199.9
    # Paged through the same data: the same trajectories, none twice.
    paged: list[Any] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 600, **({"cursor": cursor} if cursor else {})}
        response = await api.request("GET", f"/v2/jobs/{job['id']}/trajectories", params=params)
        paged += response.json()
        cursor = response.headers.get("x-next-cursor")
        if not cursor:
            break
    assert paged == listed


async def _body_messages(app: Any, path: str, headers: dict[str, str]) -> tuple[int, list[bytes]]:
    """Calls the ASGI app directly; its status and the body of each `http.response.body` it sent.

    (httpx's ASGITransport joins the body messages before handing them over.)
    """
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("hud.test", 80),
    }
    await app(scope, receive, send)
    return sent[0]["status"], [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]


async def test_a_large_unpaged_list_leaves_a_batch_at_a_time(api: Api) -> None:
    # Flat memory on the server: the list is read and sent in pieces, none of them most of the body.
    job = await api.job()
    _bulk_close(api.database_url, job["id"], 2000, steps_every=7)
    status, pieces = await _body_messages(
        create_app(api.database_url), f"/v2/jobs/{job['id']}/trajectories", api.auth()
    )
    assert status == 200
    body = b"".join(pieces)
    assert len(json.loads(body)) == 2000
    assert len(pieces) >= 4
    assert max(len(piece) for piece in pieces) <= len(body) // 3


async def test_small_unpaged_list_is_one_response(db_url: str) -> None:
    app = create_app(db_url, auth=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
        job = (await client.post("/v2/jobs", json={"name": "x"})).json()
        response = await client.get(f"/v2/jobs/{job['id']}/trajectories")
        assert response.headers["content-length"] == "2" and response.json() == []


async def test_job_pages_end_early_by_bytes(api: Api, monkeypatch: Any) -> None:
    # 3,000 characters a page (8 MiB in production), jobs of about 1,000: pages of two or three.
    monkeypatch.setattr("hud.server._operations.jobs.JOB_PAGE_MAX_BYTES", 3000)
    created = [await api.job(f"j{i}", metadata={"pad": "p" * 990}) for i in range(7)]
    first = await api.ok("GET", "/v2/jobs", params={"limit": 1000})
    assert 1 <= len(first["items"]) < 7 and first["next_cursor"] is not None
    assert await all_jobs(api, "", 1000) == created[::-1]  # every job once, newest first
    # A single job over the bound still makes a page of its own.
    monkeypatch.setattr("hud.server._operations.jobs.JOB_PAGE_MAX_BYTES", 10)
    assert len((await api.ok("GET", "/v2/jobs", params={"limit": 5}))["items"]) == 1
    assert await all_jobs(api, "", 5) == created[::-1]


async def test_trajectory_pages_end_early_by_bytes(api: Api) -> None:
    from hud._wire import TRAJECTORY_PAGE_MAX_BYTES

    job = await api.job()
    step = {"observation_text": "s" * 1_000_000}  # 1 MB: 8 MiB of pages hold about 8 of them
    for _ in range(12):
        env_id = await api.env(job["id"])
        await api.ok("POST", f"/v2/environments/{env_id}/steps", json={"steps": [step]})
        await api.ok("POST", f"/v2/environments/{env_id}/close")
    response = await api.request("GET", f"/v2/jobs/{job['id']}/trajectories", params={"limit": 100})
    page = response.json()
    assert 1 <= len(page) < 12 and len(response.content) <= TRAJECTORY_PAGE_MAX_BYTES + 1_100_000
    rest = await api.request(
        "GET", f"/v2/jobs/{job['id']}/trajectories", params={"limit": 100, "cursor": response.headers["x-next-cursor"]}
    )
    assert len(page) + len(rest.json()) == 12 and "x-next-cursor" not in rest.headers
