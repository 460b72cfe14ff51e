"""A job's per-task aggregates, computed by the database a page at a time (`GET /v2/jobs/{id}/tasks`).

The unit of the statistics built on them (`hud._stats`) is the task: a page lists one row per
`task_id`, then one per trajectory recorded without a task (each its own unit). Each page is one walk
of the index `trajectories_job_scores` (migration step 9), written as JSON text directly.
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Connection, Float, Integer, bindparam, func, select

from hud.server._cursors import decode_task_cursor, encode_task_cursor
from hud.server._operations.analysis import SCOPE, Answer, average, job_state
from hud.server._operations.scoring import counted_reward, stats_columns
from hud.server._render import dumps
from hud.server._tables import trajectories

__all__ = ["TaskRow", "task_page", "task_rows", "task_units"]

_t = trajectories.c


def _task_columns() -> tuple[Any, ...]:
    # attempts, counted, scored, the sum of the scored rewards (the mean is sum / scored, as avg()
    # computes it, and cheaper), successes.
    attempts, n_counted, scored, _mean, successes = stats_columns(bindparam("threshold", type_=Float))[:5]
    return (attempts, n_counted, scored, func.sum(counted_reward()), successes)


_tasks = select(_t.task_id, *_task_columns()).where(*SCOPE, _t.task_id.is_not(None))
# Tasks in task order: one walk of `trajectories_job_scores` from the page's first task.
_tasks_first = _tasks.group_by(_t.task_id).order_by(_t.task_id).limit(bindparam("n", type_=Integer))
_tasks_after = (
    _tasks.where(_t.task_id > bindparam("after"))
    .group_by(_t.task_id)
    .order_by(_t.task_id)
    .limit(bindparam("n", type_=Integer))
)
# A cursor may name any position up to 2**63 - 1: bound as a bigint, which PostgreSQL compares with
# the int column (as an int it refuses values past 2**31 - 1).
_untasked = (
    select(_t.id, *_task_columns(), _t.seq)
    .where(*SCOPE, _t.task_id.is_(None), _t.seq > bindparam("after_seq", type_=BigInteger))
    .group_by(_t.seq, _t.id)
    .order_by(_t.seq)
    .limit(bindparam("n", type_=Integer))
)


class TaskRow(NamedTuple):
    """One unit of a job's per-task aggregates (a task, or a trajectory without one) and its position."""

    task_id: str | None
    trajectory_id: str | None
    attempts: int
    counted: int
    scored: int
    mean_reward: float | None
    successes: int
    position: str | int
    """Its task id, or for a trajectory without a task its `seq` (see `task_units`)."""

    def json(self) -> str:
        """As the `/tasks` page lists it (what `dumps` of `item()` gives, several times faster)."""
        return (
            f'{{"task_id":{_json_text(self.task_id)},"trajectory_id":{_json_text(self.trajectory_id)},'
            f'"attempts":{self.attempts},"counted":{self.counted},"scored":{self.scored},'
            f'"mean_reward":{_json_number(self.mean_reward)},"successes":{self.successes}}}'
        )

    def item(self) -> dict[str, Any]:
        """As a dict: the fields of the `/tasks` item."""
        return {k: v for k, v in zip(self._fields, self, strict=False) if k != "position"}


def _json_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _json_number(value: float | None) -> str:
    # repr is how json writes a float; dumps refuses what is not a number in JSON.
    return "null" if value is None else repr(value) if math.isfinite(value) else dumps(value)


def _task_row(task_id: str | None, trajectory_id: str | None, row: Any, position: str | int) -> TaskRow:
    attempts, n_counted, scored, total, successes = row
    scored = int(scored)
    mean = average(total, scored)
    return TaskRow(
        task_id, trajectory_id, int(attempts), int(n_counted or 0), scored, mean, int(successes or 0), position
    )


def task_units(
    conn: Connection, account: str, job_id: str, threshold: float, after: str | int | None, limit: int
) -> tuple[list[TaskRow], str | int | None]:
    """Up to `limit` per-task rows after the position `after`, and the position of the last one.

    Positions: a task id (str), after that task (tasks in `task_id` order); an int, after that `seq`
    among the trajectories without a task (in `seq` order, which follow the tasks). Each page is an
    index range scan of `trajectories_job_scores`, never the whole job.
    """
    params: dict[str, Any] = {"account": account, "job_id": job_id, "threshold": threshold}
    units: list[TaskRow] = []
    if not isinstance(after, int):
        query = _tasks_first if after is None else _tasks_after
        rows = conn.execute(query, {**params, "after": after, "n": limit + 1})
        units = [_task_row(r[0], None, r[1:], r[0]) for r in rows]
    if len(units) <= limit:
        seq = after if isinstance(after, int) else 0
        rows = conn.execute(_untasked, {**params, "after_seq": seq, "n": limit + 1 - len(units)})
        units += [_task_row(None, r[0], r[1:-1], int(r[-1])) for r in rows]
    more = len(units) > limit
    page = units[:limit]
    return page, page[-1].position if more else None


def task_rows(
    conn: Connection, account: str, job_id: str, threshold: float, after: str | int | None, limit: int
) -> tuple[list[dict[str, Any]], str | int | None]:
    """`task_units` as dicts (the `/tasks` items)."""
    units, last = task_units(conn, account, job_id, threshold, after, limit)
    return [unit.item() for unit in units], last


def task_page(
    conn: Connection, account: str, job_id: str, threshold: float, limit: int, cursor: str | None, lease: float
) -> Answer:
    """One page of the job's per-task aggregates, with the cursor of the next (`task_rows`)."""
    if job_state(conn, account, job_id, lease):
        return Answer(None, expired=True)
    units, last = task_units(conn, account, job_id, threshold, decode_task_cursor(cursor), limit)
    next_cursor = None if last is None else encode_task_cursor(last)
    return Answer(f'{{"items":[{",".join(unit.json() for unit in units)}],"next_cursor":{dumps(next_cursor)}}}')
