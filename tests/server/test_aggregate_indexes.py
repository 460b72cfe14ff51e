"""How the aggregates are read: the scoring rule's error kind as a column the database computes, the
indexes the summary and `/tasks` walk instead of the table (migration step 9), and `/tasks` written as
JSON text directly, byte for byte what `json.dumps` would write."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, create_engine, insert, select, text

from hud.server import create_app, create_key
from hud.server._migrations import LATEST_VERSION, migrate
from hud.server._operations import analysis, tasks
from hud.server._tables import jobs, trajectories

from .conftest import BASE, Api

_T = trajectories.c


def _row(job_id: str, n: int, reward: float | None, error: str | None, kind: str | None) -> dict[str, object]:
    # As a server before step 9 wrote them (no effective_error_kind: the column did not exist).
    at = f"2026-01-01T00:00:{n:02d}+00:00"
    return {
        "id": f"t-{job_id}-{n}",
        "account": "alice",
        "job_id": job_id,
        "reward": reward,
        "error": error,
        "error_kind": kind,
        "step_count": 1,
        "task_id": f"task-{n % 3}",
        "created_at": at,
        "closed_at": at,
    }


# (reward, error, error kind): an error without a kind is the agent's (counted, reward 0), an empty
# error is none, a kind without an error text still counts as that kind.
OLD_ROWS = [
    (1.0, None, None),
    (None, "boom", None),
    (0.5, "", None),
    (None, "slow", "timeout"),
    (1.0, "down", "infrastructure"),
    (None, None, "cancelled"),
]


@pytest.mark.parametrize("where", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_rows_written_before_the_computed_kind_are_scored_by_it(
    where: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_db" if where == "postgres" else "db_url")
    engine = create_engine(url)
    try:
        migrate(engine, target=LATEST_VERSION - 1)
        with engine.begin() as conn:
            conn.execute(
                insert(jobs).values(
                    id="old", account="alice", name="old", status="completed", created_at="2026-01-01T00:00:00+00:00"
                )
            )
            columns = [c.name for c in trajectories.columns if c.name in _row("old", 0, None, None, None)]
            for n, (reward, error, kind) in enumerate(OLD_ROWS):
                row = _row("old", n, reward, error, kind)
                names, values = ", ".join(columns), ", ".join(f":{c}" for c in columns)
                conn.execute(text(f"INSERT INTO trajectories ({names}) VALUES ({values})"), row)
        migrate(engine)
        with engine.connect() as conn:
            kinds = conn.execute(select(_T.effective_error_kind).order_by(_T.seq)).scalars().all()
    finally:
        engine.dispose()
    assert kinds == [None, "agent", None, "timeout", "infrastructure", "cancelled"]
    app = create_app(url)
    key = create_key(url, "alice")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        headers = {"Authorization": f"Bearer {key}"}
        summary = (await client.get("/v2/jobs/old/summary", headers=headers)).json()
        tasks = (await client.get("/v2/jobs/old/tasks", headers=headers)).json()["items"]
    assert summary["by_error_kind"] == {"agent": 1, "cancelled": 1, "infrastructure": 1, "timeout": 1}
    assert (summary["counted"], summary["scored"], summary["excluded"]) == (4, 4, 2)
    assert (summary["mean_reward"], summary["min_reward"], summary["successes"]) == (1.5 / 4, 0.0, 1)
    # task-0: 1.0 and timeout (0); task-1: boom (0) and infrastructure; task-2: 0.5 and cancelled.
    assert [(t["task_id"], t["counted"], t["mean_reward"]) for t in tasks] == [
        ("task-0", 2, 0.5),
        ("task-1", 1, 0.0),
        ("task-2", 1, 0.5),
    ]


def _plan(conn: Connection, query: Any, params: dict[str, object]) -> str:
    sql = query.params(**params).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    return " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all())


def test_sqlite_walks_the_indexes_not_the_table(db_url: str) -> None:
    # Without statistics SQLite picks among indexes with the same leading columns by its own rules:
    # walking (job_id, account, duration) and looking each row up in the table was 5x slower.
    engine = create_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            scope = {"account": "alice", "job_id": "j", "threshold": 1.0, "n": 10, "after": "t", "after_seq": 0}
            assert "INDEX trajectories_job_scores" in _plan(conn, analysis._counted, scope)
            assert "INDEX trajectories_job_errors" in _plan(conn, analysis._errors, scope)
            assert "INDEX trajectories_job_duration" in _plan(conn, analysis._missing_duration, scope)
            for listing in (tasks._tasks_first, tasks._tasks_after):
                plan = _plan(conn, listing, scope)
                assert "INDEX trajectories_job_scores" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        engine.dispose()


HOSTILE_TASKS = ['q"uote', "back\\slash", "tab\tand\nnewline", "\x01control", "é ü 漢字", "\u2028line", "emoji 🎲"]
# Means whose shortest repr has 17 digits, tiny and huge magnitudes, and -0.0.
REWARDS = [0.1, 0.2, 1 / 3, 1e-300, 1e300, 5e-324, -0.0, 2.5]


async def test_tasks_json_is_what_json_dumps_writes(api: Api) -> None:
    job = await api.job("json")
    expected: dict[str | None, float | None] = {}
    for i, task in enumerate(HOSTILE_TASKS):
        rewards = (REWARDS[i % len(REWARDS)], REWARDS[(i + 2) % len(REWARDS)])
        for reward in rewards:
            env = await api.env(job["id"], task_id=task)
            await api.ok("POST", f"/v2/environments/{env}/close", json={"reward": reward})
        expected[task] = (rewards[0] + rewards[1]) / 2
    env = await api.env(job["id"], task_id="alone")
    await api.ok("POST", f"/v2/environments/{env}/close", json={"reward": -0.0})
    expected["alone"] = 0.0 + -0.0  # a sum starts at 0.0, on the server as in SummaryBuilder
    await api.trajectory(job["id"], reward=0.7)  # a unit without a task
    await api.trajectory(job["id"])  # unscored: its mean is null
    for limit in (3, 100):
        cursor: str | None = None
        while True:
            params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            response = await api.request("GET", f"/v2/jobs/{job['id']}/tasks", params=params)
            page = response.json()
            assert response.text == json.dumps(page, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            cursor = page["next_cursor"]
            if cursor is None:
                break
    items = (await api.ok("GET", f"/v2/jobs/{job['id']}/tasks"))["items"]
    means = {t["task_id"]: t["mean_reward"] for t in items if t["task_id"] is not None}
    assert means == expected and math.copysign(1.0, means["alone"]) == 1.0
    assert sorted((t["mean_reward"] for t in items if t["task_id"] is None), key=str) == [0.7, None]
