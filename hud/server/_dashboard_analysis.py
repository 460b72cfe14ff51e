"""The dashboard's statistics: a job's intervals over tasks, the jobs to compare it with, the compare page.

The numbers come from the per-task aggregates of `_operations/tasks.py` and the statistics of
`hud._stats`, the very functions `JobSummary` and `compare` use, in the same task order, so the
dashboard and the SDK show the same floats.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, select

from hud import _stats
from hud._wire import DEFAULT_SUCCESS_THRESHOLD, TASK_PAGE_MAX
from hud.server._errors import ApiError
from hud.server._operations.leases import effective_status
from hud.server._operations.tasks import task_rows
from hud.server._tables import jobs

__all__ = ["COMPARE_CHOICES", "CONFIDENCE", "MAX_TASKS", "TASKS_SHOWN", "compare_page", "job_intervals", "other_jobs"]

CONFIDENCE = 0.95
#: Tasks read per job for a page's statistics (beyond, the page says so: `hud jobs show` has no limit).
MAX_TASKS = TASK_PAGE_MAX
#: Other jobs offered by "compare with…".
COMPARE_CHOICES = 50
#: Rows of each per-task table on the compare page.
TASKS_SHOWN = 200


def _units(conn: Connection, account: str, job_id: str) -> tuple[list[dict[str, Any]], bool]:
    rows, last = task_rows(conn, account, job_id, DEFAULT_SUCCESS_THRESHOLD, None, MAX_TASKS)
    # The SDK's order (hud._analysis): the same numbers in the same order give the same floats.
    rows.sort(key=lambda t: (t["task_id"] is None, t["task_id"] or "", t["trajectory_id"] or ""))
    return rows, last is not None


def _numbers(row: dict[str, Any]) -> _stats.TaskNumbers:
    return _stats.TaskNumbers(row["counted"], row["mean_reward"], row["successes"])


def job_intervals(conn: Connection, account: str, job_id: str) -> dict[str, Any]:
    """The job's task-level numbers and intervals (`summarize_tasks`), or `too_many` past `MAX_TASKS`."""
    rows, too_many = _units(conn, account, job_id)
    if too_many:
        return {"too_many": True, "max_tasks": MAX_TASKS}
    return {"too_many": False, **_stats.summarize_tasks([_numbers(r) for r in rows], CONFIDENCE)}


def other_jobs(conn: Connection, account: str, job_id: str) -> list[dict[str, Any]]:
    """The account's newest other jobs, for "compare with…": id, name, created_at, metadata (short)."""
    rows = conn.execute(
        select(jobs.c.id, jobs.c.name, jobs.c.created_at, jobs.c.metadata)
        .where(jobs.c.account == account, jobs.c.id != job_id)
        .order_by(jobs.c.seq.desc())
        .limit(COMPARE_CHOICES)
    ).all()
    return [
        {"id": r.id, "name": r.name, "created_at": r.created_at, "metadata": short_metadata(r.metadata)} for r in rows
    ]


def short_metadata(metadata: str | None, width: int = 80) -> str:
    """Stored metadata as one line of compact JSON, cut to `width` characters."""
    if metadata is None:
        return ""
    line = json.dumps(json.loads(metadata), ensure_ascii=False, separators=(", ", ": "), sort_keys=True)
    return line if len(line) <= width else line[: width - 1] + "…"


def _by_task(rows: list[dict[str, Any]]) -> dict[str, _stats.TaskNumbers]:
    return {r["task_id"]: _numbers(r) for r in rows if r["task_id"] is not None}


def _job(conn: Connection, account: str, job_id: str, lease: float) -> Any:
    row = conn.execute(
        select(
            jobs.c.id,
            jobs.c.name,
            jobs.c.created_at,
            jobs.c.metadata,
            effective_status(time.time() - lease).label("status"),
        ).where(jobs.c.id == job_id, jobs.c.account == account)
    ).first()
    if row is None:
        raise ApiError(404, "no such job in this account")
    return row


def compare_page(conn: Connection, account: str, a: str, b: str, lease: float) -> tuple[str, dict[str, Any]]:
    """The compare page: is job B better than job A? Both means with intervals, the difference in words,
    the tasks that regressed and improved, and the tasks only one job ran."""
    job_a, job_b = _job(conn, account, a, lease), _job(conn, account, b, lease)
    rows_a, too_many_a = _units(conn, account, a)
    rows_b, too_many_b = _units(conn, account, b)
    context: dict[str, Any] = {"a": job_a, "b": job_b, "refresh": False, "max_tasks": MAX_TASKS}
    context["metadata_a"], context["metadata_b"] = short_metadata(job_a.metadata), short_metadata(job_b.metadata)
    if too_many_a or too_many_b:
        return "compare.html", {**context, "too_many": True}
    result = _stats.compare_tasks(_by_task(rows_a), _by_task(rows_b), CONFIDENCE)
    pairs = {p.task_id: p for p in result["pairs"]}
    return "compare.html", {
        **context,
        "too_many": False,
        "result": result,
        "verdict": _stats.verdict(result),
        "summary_a": _stats.summarize_tasks([_numbers(r) for r in rows_a], CONFIDENCE),
        "summary_b": _stats.summarize_tasks([_numbers(r) for r in rows_b], CONFIDENCE),
        "regressed": [pairs[t] for t in result["regressed"][:TASKS_SHOWN]],
        "improved": [pairs[t] for t in result["improved"][:TASKS_SHOWN]],
        "untasked": (sum(r["task_id"] is None for r in rows_a), sum(r["task_id"] is None for r in rows_b)),
        "shown": TASKS_SHOWN,
    }
