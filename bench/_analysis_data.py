"""The data of the analysis rows (`bench._analysis`): jobs of tasks x attempts written straight into
the server's tables, as the server writes them on close."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from hud.server._db import get_engine, write_engine
from hud.server._tables import jobs, steps, trajectories

__all__ = ["load_tasks_job", "settle"]

_BATCH = 5000


def load_tasks_job(database_url: str, account: str, *, tasks: int, repeats: int, steps_n: int, seed: int) -> str:
    """A job of `tasks` tasks x `repeats` attempts of `steps_n` steps, written straight into the tables.

    Rewards are 0 or 1 (task difficulty varies), one attempt in 50 is an agent error and one in 100
    an infrastructure error; durations vary. Its id.
    """
    rng = random.Random(seed)
    engine = write_engine(get_engine(database_url))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job_id = str(uuid.uuid4())
    step = json.dumps(
        {"observation_text": "the page shows a form", "actions": [{"type": "click", "x": 1}]}, separators=(",", ":")
    )
    step_bytes = len(step.encode())
    with engine.begin() as conn:
        conn.execute(
            insert(jobs),
            {"id": job_id, "account": account, "name": f"bench-tasks-{tasks}x{repeats}", "status": "completed",
             "metadata": None, "gym_id": None, "evalset_id": None, "created_at": start.isoformat(), "error": None},
        )  # fmt: skip
    difficulty = [rng.random() for _ in range(tasks)]
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(insert(trajectories), rows)
            if steps_n:
                conn.execute(
                    insert(steps),
                    [{"env_id": r["id"], "position": p, "data": step} for r in rows for p in range(steps_n)],
                )
        rows.clear()

    for repeat in range(repeats):
        for task in range(tasks):
            roll = rng.random()
            created = start + timedelta(seconds=repeat * tasks + task, microseconds=rng.randrange(1_000_000))
            error, kind = (
                ("boom", "agent") if roll < 0.02 else ("down", "infrastructure") if roll < 0.03 else (None, None)
            )
            closed = created + timedelta(microseconds=rng.randrange(1, 30_000_000))
            rows.append(
                {"id": str(uuid.uuid4()), "account": account, "job_id": job_id,
                 "reward": None if error else float(rng.random() < difficulty[task]), "logs": None, "error": error,
                 "error_kind": kind, "step_count": steps_n, "task_id": f"task-{task:05d}", "gym_id": "bench",
                 "metadata": None, "created_at": created.isoformat(), "closed_at": closed.isoformat(),
                 # As the server stores them on close: without sizes a row reads as large, one a page.
                 "size_bytes": steps_n * step_bytes + len((error or "").encode()),
                 "max_step_bytes": step_bytes if steps_n else 0,
                 "duration": (closed - created).total_seconds()}
            )  # fmt: skip
            if len(rows) >= _BATCH:
                flush()
    if rows:
        flush()
    return job_id


def settle(database_url: str) -> None:
    """On PostgreSQL, what autovacuum does within a minute of a bulk load: statistics for the
    planner, and the visibility map that lets an index be read without the table."""
    engine = get_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE trajectories")
