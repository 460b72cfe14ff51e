"""GET /v2/jobs/{id}/summary and /tasks: computed in SQL (SQLite and PostgreSQL), they agree exactly with
the SDK's client-side computation (`SummaryBuilder`) on the same trajectories."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from sqlalchemy import select, update

from hud._summary import SummaryBuilder
from hud.server import create_app, create_key, dispose
from hud.server._cursors import CURSOR_PATTERN, TASK_CURSOR_PATTERN
from hud.server._db import get_engine
from hud.server._tables import trajectories
from hud.trajectory import Trajectory

from .conftest import BASE, Api, detail

# (task, reward, error, error kind): rewards on a binary grid, so every summation order gives the same
# float, and every rule of the scoring: errors of each kind, unscored, untasked, repeats.
CLOSES: list[tuple[str | None, float | None, str | None, str | None]] = [
    ("t-b", 1.0, None, None),
    ("t-a", 0.25, None, None),
    ("t-a", 1.0, None, None),
    ("t-a", None, "boom", None),  # an error without a kind: the agent's, reward 0
    ("t-c", None, "slow", "timeout"),
    ("t-c", 0.75, None, None),
    ("t-d", 1.0, "rate limited", "infrastructure"),  # excluded: t-d has no counted attempt
    ("t-b", None, "ctrl-c", "cancelled"),
    ("t-e", None, None, None),  # unscored
    (None, 0.5, None, None),  # no task: a unit of its own
    (None, 2.0, None, None),
    ("t-b", 0.5, None, None),
]


async def _fill(api: Api, closes: list[tuple[str | None, float | None, str | None, str | None]]) -> str:
    job = await api.job("aggregated")
    for task, reward, error, kind in closes:
        env = await api.env(job["id"], task_id=task)
        await api.ok("POST", f"/v2/environments/{env}/steps", json={"steps": [{"observation_text": "o"}] * 2})
        close = {"reward": reward, "error": error, "error_kind": kind}
        await api.ok("POST", f"/v2/environments/{env}/close", json=close)
    await api.env(job["id"], task_id="t-open")  # left open
    return str(job["id"])


async def _trajectories(api: Api, job_id: str) -> list[Trajectory]:
    return [Trajectory.model_validate(t) for t in await api.ok("GET", f"/v2/jobs/{job_id}/trajectories")]


async def _all_tasks(api: Api, job_id: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", f"/v2/jobs/{job_id}/tasks", params=query)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


# 0.0: an agent failure without a reward (counted as 0) succeeds too.
@pytest.mark.parametrize("threshold", [1.0, 0.5, 0.0])
async def test_summary_and_tasks_agree_exactly_with_the_client_side_computation(api: Api, threshold: float) -> None:
    job_id = await _fill(api, CLOSES)
    builder = SummaryBuilder(job_id, threshold).extend(await _trajectories(api, job_id))
    summary = await api.ok("GET", f"/v2/jobs/{job_id}/summary", params={"success_threshold": threshold})
    expected = builder.result(open_environments=1).model_dump()
    assert summary == {k: expected[k] for k in summary}
    assert set(summary) >= {"by_outcome", "duration_median", "duration_p90", "open_environments", "steps"}
    tasks = await _all_tasks(api, job_id, limit=2, success_threshold=threshold)
    key = lambda t: (t["task_id"] or "", t["trajectory_id"] or "")  # noqa: E731
    assert sorted(tasks, key=key) == sorted((t.model_dump() for t in builder.task_stats()), key=key)


async def test_the_numbers_of_a_known_job(api: Api) -> None:
    job_id = await _fill(api, CLOSES)
    summary = await api.ok("GET", f"/v2/jobs/{job_id}/summary")
    # Counted: 12 trajectories less the infrastructure and cancelled ones; scored: less the unscored one.
    assert (summary["trajectories"], summary["counted"], summary["excluded"], summary["scored"]) == (12, 10, 2, 9)
    rewards = [1.0, 0.25, 1.0, 0.0, 0.0, 0.75, 0.5, 2.0, 0.5]
    assert summary["mean_reward"] == sum(rewards) / 9
    assert (summary["min_reward"], summary["max_reward"], summary["successes"]) == (0.0, 2.0, 3)
    assert summary["success_rate"] == 3 / 10 and summary["steps"] == 24 and summary["open_environments"] == 1
    assert summary["by_outcome"] == {"success": 3, "fail": 6, "unscored": 1, "excluded": 2}
    assert summary["by_error_kind"] == {"agent": 1, "cancelled": 1, "infrastructure": 1, "timeout": 1}
    tasks = {t["task_id"] or t["trajectory_id"]: t for t in await _all_tasks(api, job_id)}
    assert tasks["t-a"] == {
        "task_id": "t-a",
        "trajectory_id": None,
        "attempts": 3,
        "counted": 3,
        "scored": 3,
        "mean_reward": (0.25 + 1.0 + 0.0) / 3,
        "successes": 1,
    }
    assert (tasks["t-d"]["counted"], tasks["t-d"]["mean_reward"]) == (0, None)
    assert (tasks["t-e"]["counted"], tasks["t-e"]["scored"], tasks["t-e"]["mean_reward"]) == (1, 0, None)
    assert "t-open" not in tasks  # an open environment has no trajectory yet
    untasked = [t for t in tasks.values() if t["task_id"] is None]
    assert sorted(t["mean_reward"] for t in untasked) == [0.5, 2.0]


# Nearest rank (0-based) of the median and the 90th percentile: of 7, the 4th and the 7th (ceil(6.3));
# of 8, the 4th and the 8th (ceil(7.2)); of 11, the 6th (ceil(5.5)) and the 10th (ceil(9.9)).
@pytest.mark.parametrize(("n", "ranks"), [(7, (3, 6)), (8, (3, 7)), (11, (5, 9))])
async def test_durations_are_nearest_rank_quantiles_of_the_exact_durations(
    api: Api, n: int, ranks: tuple[int, int]
) -> None:
    job_id = await _fill(api, CLOSES[:n])
    durations = sorted(t.duration for t in await _trajectories(api, job_id) if t.duration is not None)
    assert len(durations) == n and len(set(durations)) > 1
    expected = (durations[ranks[0]], durations[ranks[1]])
    summary = await api.ok("GET", f"/v2/jobs/{job_id}/summary")
    assert (summary["duration_median"], summary["duration_p90"]) == expected
    # Rows written before durations were stored: computed from their times, the same floats.
    with get_engine(api.database_url).begin() as conn:
        conn.execute(
            update(trajectories)
            .where(trajectories.c.job_id == job_id, trajectories.c.seq % 2 == 0)
            .values(duration=None)
        )
    summary = await api.ok("GET", f"/v2/jobs/{job_id}/summary")
    assert (summary["duration_median"], summary["duration_p90"]) == expected


async def test_an_empty_job(api: Api) -> None:
    job = await api.job("empty")
    summary = await api.ok("GET", f"/v2/jobs/{job['id']}/summary")
    assert summary["trajectories"] == 0 and summary["by_outcome"] == {} and summary["mean_reward"] is None
    assert (summary["success_rate"], summary["duration_median"], summary["open_environments"]) == (None, None, 0)
    assert await api.ok("GET", f"/v2/jobs/{job['id']}/tasks") == {"items": [], "next_cursor": None}


async def test_tasks_page_in_task_order_then_untasked_and_every_unit_once(api: Api) -> None:
    job = await api.job("many")
    closes = [(f"task-{i % 7}", float(i % 2), None, None) for i in range(21)] + [(None, 1.0, None, None)] * 4
    job_id = await _fill(api, closes)
    del job
    for limit in (1, 3, 7, 11, 1000):
        tasks = await _all_tasks(api, job_id, limit=limit)
        named = [t["task_id"] for t in tasks if t["task_id"] is not None]
        assert named == sorted(named) == [f"task-{i}" for i in range(7)]
        assert [t["task_id"] for t in tasks[7:]] == [None] * 4 and len({t["trajectory_id"] for t in tasks[7:]}) == 4
        assert [t["attempts"] for t in tasks[:7]] == [3] * 7


def test_the_task_cursor_format_is_the_specs() -> None:
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
    parameters = spec["components"]["parameters"]
    assert parameters["TaskCursor"]["schema"]["pattern"] == TASK_CURSOR_PATTERN
    assert parameters["Cursor"]["schema"]["pattern"] == CURSOR_PATTERN
    listing = spec["paths"]["/v2/jobs/{job_id}/tasks"]["get"]["parameters"]
    assert {"$ref": "#/components/parameters/TaskCursor"} in listing


async def test_every_cursor_the_spec_allows_is_a_position(api: Api) -> None:
    # Cursors are positions, not tokens: any the spec allows answers a page (a client such as
    # schemathesis may send any), the same page whatever the threshold.
    job_id = await _fill(api, [("t-a", 1.0, None, None), ("t-c", 0.0, None, None), (None, 1.0, None, None)])

    async def ids(cursor: str, **params: Any) -> list[str | None]:
        page = await api.ok("GET", f"/v2/jobs/{job_id}/tasks", params={"cursor": cursor, **params})
        return [t["task_id"] for t in page["items"]]

    assert await ids("t:t-b") == ["t-c", None]  # t-b is not a task of the job: the tasks after it
    assert await ids("t:t-b", success_threshold=0.5) == ["t-c", None]
    assert await ids("t:\U0010ffff" * 3) == [None]  # past every task: the trajectories without one
    assert await ids("s0") == [None] and await ids("s" + "9" * 19) == []
    first = await api.ok("GET", f"/v2/jobs/{job_id}/tasks", params={"limit": 2})
    assert first["next_cursor"] == "t:t-c"


async def test_bad_queries_answer_clear_errors(api: Api) -> None:
    job_id = await _fill(api, CLOSES[:3])
    for bad in ("nan", "inf", "-inf", "one", "", "1e999", "9" * 100):
        response = await api.request("GET", f"/v2/jobs/{job_id}/summary", params={"success_threshold": bad})
        assert "success_threshold must be a finite number" in detail(response, 422)
    response = await api.request("GET", f"/v2/jobs/{job_id}/tasks", params={"limit": 0})
    assert "limit" in detail(response, 422)
    response = await api.request("GET", f"/v2/jobs/{job_id}/summary", params={"threshold": 1})
    assert "unknown query parameter" in detail(response, 422)
    for bad in ("bm90LWEtY3Vyc29y", "t:", "s", "s01", "s-1", "x:t-a", "t:" + "x" * 129, "t:a\x00b"):
        response = await api.request("GET", f"/v2/jobs/{job_id}/tasks", params={"cursor": bad})
        assert "malformed cursor" in detail(response, 400), bad
    for path in ("summary", "tasks"):
        assert "no job" in detail(await api.request("GET", f"/v2/jobs/nope/{path}"), 404)
        assert "no job" in detail(await api.request("GET", f"/v2/jobs/{job_id}/{path}", who="bob"), 404)
        assert (await api.client.get(f"/v2/jobs/{job_id}/{path}")).status_code == 401


async def test_a_job_past_its_lease_is_summed_with_its_open_environments_crashed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    app = create_app(url, job_lease=0.2)
    headers = {"Authorization": f"Bearer {create_key(url, 'alice')}"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers) as c:
            job = (await c.post("/v2/jobs", json={"name": "leased"})).json()
            await c.patch(f"/v2/jobs/{job['id']}", json={"status": "running"})
            await c.post(f"/v2/jobs/{job['id']}/heartbeat")
            await c.post("/v2/create_environment", json={"run_id": job["id"], "gym_id": "g", "task_id": "t"})
            await asyncio.sleep(0.4)
            summary = (await c.get(f"/v2/jobs/{job['id']}/summary")).json()
            assert (summary["open_environments"], summary["excluded"]) == (0, 1)
            assert summary["by_error_kind"] == {"crashed": 1}
            tasks = (await c.get(f"/v2/jobs/{job['id']}/tasks")).json()["items"]
            assert [(t["task_id"], t["attempts"], t["counted"]) for t in tasks] == [("t", 1, 0)]
    finally:
        dispose(url)


@pytest.mark.parametrize(
    ("created", "closed", "seconds"),
    [
        # A fraction SQLite would round up into the next second, across a minute and a day.
        ("2026-01-01T23:59:59.999600+00:00", "2026-01-02T00:00:00.000100+00:00", 0.0005),
        ("2026-01-01T10:00:00+00:00", "2026-01-01T10:00:01.999999+00:00", 1.999999),
        ("2026-01-01T10:00:00.000001+00:00", "2026-01-01T11:00:00+00:00", 3599.999999),
    ],
)
async def test_durations_are_exact_to_the_microsecond(api: Api, created: str, closed: str, seconds: float) -> None:
    job_id = await _fill(api, CLOSES[:1])
    with get_engine(api.database_url).begin() as conn:
        conn.execute(
            update(trajectories)
            .where(trajectories.c.job_id == job_id)
            .values(created_at=created, closed_at=closed, duration=None)  # as on rows written before it
        )
    (trajectory,) = await _trajectories(api, job_id)
    assert trajectory.duration == seconds
    summary = await api.ok("GET", f"/v2/jobs/{job_id}/summary")
    assert summary["duration_median"] == summary["duration_p90"] == seconds
    with get_engine(api.database_url).begin() as conn:  # the duration a close stores is the same float
        assert conn.execute(select(trajectories.c.duration)).scalar_one() is None
    job_id = await _fill(api, CLOSES[:3])
    with get_engine(api.database_url).begin() as conn:
        stored = conn.execute(
            select(trajectories.c.duration, trajectories.c.created_at, trajectories.c.closed_at)
            .where(trajectories.c.job_id == job_id)
            .order_by(trajectories.c.seq)
        ).all()
    assert [d for d, _, _ in stored] == [t.duration for t in await _trajectories(api, job_id)]
    assert all(d is not None and d > 0 for d, _, _ in stored)
