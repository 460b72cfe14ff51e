"""A job's aggregates, computed by the database: its summary, and per-task numbers a page at a time.

Both apply the scoring rule of `hud._wire` through `scoring.py`, with the success threshold the
caller gives. The unit of the statistics built on them (`hud._stats`) is the task: `task_page` lists
one row per `task_id`, then one per trajectory recorded without a task (each its own unit).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
)

from hud._wire import DURATION_QUANTILES, ERROR_KINDS, nearest_rank
from hud.server._cursors import decode_task_cursor, encode_task_cursor
from hud.server._errors import NotFound
from hud.server._operations.leases import expired
from hud.server._operations.scoring import effective_error_kind, stats_columns
from hud.server._render import dumps
from hud.server._tables import environments, jobs, trajectories

__all__ = ["Answer", "duration_seconds", "job_summary", "task_page", "task_rows", "trajectory_duration"]

_t = trajectories.c


class Answer(NamedTuple):
    """A JSON answer, or `expired`: the job's lease ran out; sweep it, then ask again."""

    body: str | None
    expired: bool = False


def _microseconds_sqlite(column: Any) -> ColumnElement[Any]:
    # The server writes every timestamp itself, as datetime.isoformat(): `YYYY-MM-DDTHH:MM:SS`, then
    # `.ffffff` unless the microseconds are 0, then the offset. Whole seconds come from strftime (which
    # applies the offset) on the text without its fraction (SQLite rounds a fraction to milliseconds
    # first: .9996 would count as the next second), the six digits as they are: a difference is
    # exact to the microsecond, as on the client (julianday() would round to the millisecond).
    has_fraction = func.substr(column, 20, 1) == "."
    seconds = case((has_fraction, func.substr(column, 1, 19).op("||")(func.substr(column, 27))), else_=column)
    whole = cast(func.strftime("%s", seconds), Integer) * 1_000_000
    fraction = case((has_fraction, cast(func.substr(column, 21, 6), Integer)), else_=0)
    return whole + fraction


def duration_seconds(dialect: str) -> ColumnElement[Any]:
    """Seconds from a trajectory's creation to its close, exact to the microsecond (NULL if unknown).

    The same float as `Trajectory.duration` on the client: whole microseconds divided by 10**6.
    """
    if dialect == "postgresql":
        stamp = TIMESTAMP(timezone=True)
        return cast(extract("epoch", cast(_t.closed_at, stamp) - cast(_t.created_at, stamp)), Float)
    return (_microseconds_sqlite(_t.closed_at) - _microseconds_sqlite(_t.created_at)) / literal(1_000_000.0)


def _job_state(conn: Connection, account: str, job_id: str, lease: float) -> bool:
    """Whether the job's lease ran out (its crash not yet persisted); 404 for an unknown job."""
    row = conn.execute(
        select(expired(time.time() - lease)).where(jobs.c.id == job_id, jobs.c.account == account)
    ).first()
    if row is None:
        raise NotFound("job", job_id)
    return bool(row[0])


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _timed() -> ColumnElement[bool]:
    return and_(_t.closed_at.is_not(None), _t.created_at.is_not(None))


def trajectory_duration(dialect: str) -> ColumnElement[Any]:
    """The trajectory's duration: as stored with it, else computed from its times (`duration_seconds`)."""
    return func.coalesce(_t.duration, duration_seconds(dialect))


def _durations(conn: Connection, account: str, job_id: str, timed: int, stored: int) -> dict[str, float | None]:
    """The duration quantiles of the job's `timed` trajectories (`stored` of them have their duration
    stored: when all do, each quantile is a walk of the (job_id, account, duration) index, no sort)."""
    found: dict[str, float | None] = dict.fromkeys(DURATION_QUANTILES)
    if not timed:
        return found
    scope = (_t.account == account, _t.job_id == job_id)
    if stored == timed:
        column: ColumnElement[Any] = _t.duration
        query = select(column).where(*scope, _t.duration.is_not(None))  # index only: (job_id, account, duration)
    else:
        column = trajectory_duration(conn.dialect.name).label("d")
        query = select(column).where(*scope, _timed())
    for name, q in DURATION_QUANTILES.items():
        at = query.order_by(column).limit(1).offset(nearest_rank(q, timed))
        found[name] = _float(conn.execute(at).scalar_one())
    return found


def job_summary(conn: Connection, account: str, job_id: str, threshold: float, lease: float) -> Answer:
    """The job's summary (the `JobSummary` of the SDK without its task-level intervals).

    One pass over the job's trajectories for every count, one sort for the duration quantiles.
    """
    if _job_state(conn, account, job_id, lease):
        return Answer(None, expired=True)
    kind = effective_error_kind()
    row = conn.execute(
        select(
            *stats_columns(threshold),
            func.sum(_t.step_count).label("steps"),
            func.sum(case((_timed(), 1), else_=0)).label("timed"),
            func.count(_t.duration).label("stored"),
            # Every stored kind is one of ERROR_KINDS: the API refuses others, and so does the sweep.
            *(func.sum(case((kind == k, 1), else_=0)).label(k) for k in ERROR_KINDS),
        ).where(_t.account == account, _t.job_id == job_id)
    ).one()
    n, n_counted, scored, successes = int(row.n), int(row.counted or 0), int(row.scored), int(row.successes or 0)
    kinds = {k: int(row._mapping[k] or 0) for k in ERROR_KINDS}
    outcomes = {
        "success": successes,
        "fail": scored - successes,
        "unscored": n_counted - scored,
        "excluded": n - n_counted,
    }
    open_environments = conn.execute(
        select(func.count()).where(
            environments.c.job_id == job_id, environments.c.account == account, environments.c.closed_at.is_(None)
        )
    ).scalar_one()
    summary = {
        "job_id": job_id,
        "success_threshold": threshold,
        "trajectories": n,
        "counted": n_counted,
        "excluded": n - n_counted,
        "scored": scored,
        "mean_reward": _float(row.mean),
        "min_reward": _float(row.low),
        "max_reward": _float(row.high),
        "successes": successes,
        "success_rate": _rate(successes, n_counted),
        "errors": sum(kinds.values()),
        "steps": int(row.steps or 0),
        "by_outcome": {k: v for k, v in outcomes.items() if v},
        "by_error_kind": {k: v for k, v in sorted(kinds.items()) if v},
        "open_environments": int(open_environments),
        **_durations(conn, account, job_id, int(row.timed or 0), int(row.stored)),
    }
    return Answer(dumps(summary))


def _task_columns(threshold: float) -> tuple[Any, ...]:
    # n, counted, scored, mean, successes; the last seq of the group is the page's position.
    return (*stats_columns(threshold)[:5], func.max(_t.seq).label("last"))


def _item(task_id: str | None, trajectory_id: str | None, row: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "trajectory_id": trajectory_id,
        "attempts": int(row.n),
        "counted": int(row.counted or 0),
        "scored": int(row.scored),
        "mean_reward": _float(row.mean),
        "successes": int(row.successes or 0),
    }


def task_rows(
    conn: Connection, account: str, job_id: str, threshold: float, after: str | int | None, limit: int
) -> tuple[list[dict[str, Any]], str | int | None]:
    """Up to `limit` per-task rows after the position `after`, and the position of the last one.

    Positions: a task id (str), after that task (tasks in `task_id` order); an int, after that `seq`
    among the trajectories without a task (in `seq` order, which follow the tasks). Each page is an
    index range scan of `(job_id, task_id, seq)`, never the whole job.
    """
    scope = (_t.account == account, _t.job_id == job_id)
    items: list[tuple[dict[str, Any], str | int]] = []
    seq = after if isinstance(after, int) else 0
    if not isinstance(after, int):
        query = select(_t.task_id, *_task_columns(threshold)).where(*scope, _t.task_id.is_not(None))
        if after is not None:
            query = query.where(_t.task_id > after)
        rows = conn.execute(query.group_by(_t.task_id).order_by(_t.task_id).limit(limit + 1)).all()
        items = [(_item(r.task_id, None, r), str(r.task_id)) for r in rows]
    if len(items) <= limit:
        # A cursor may name any position up to 2**63 - 1: bound as a bigint, which PostgreSQL compares
        # with the int column (as an int it refuses values past 2**31 - 1).
        query = (
            select(_t.id, *_task_columns(threshold))
            .where(*scope, _t.task_id.is_(None), _t.seq > literal(seq, BigInteger))
            .group_by(_t.seq, _t.id)
            .order_by(_t.seq)
            .limit(limit + 1 - len(items))
        )
        items += [(_item(None, r.id, r), int(r.last)) for r in conn.execute(query)]
    more = len(items) > limit
    page = items[:limit]
    return [item for item, _ in page], page[-1][1] if more else None


def task_page(
    conn: Connection, account: str, job_id: str, threshold: float, limit: int, cursor: str | None, lease: float
) -> Answer:
    """One page of the job's per-task aggregates, with the cursor of the next (`task_rows`)."""
    if _job_state(conn, account, job_id, lease):
        return Answer(None, expired=True)
    items, last = task_rows(conn, account, job_id, threshold, decode_task_cursor(cursor), limit)
    next_cursor = None if last is None else encode_task_cursor(last)
    return Answer(dumps({"items": items, "next_cursor": next_cursor}))
