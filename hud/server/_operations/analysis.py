"""A job's aggregates, computed by the database: its summary, and per-task numbers a page at a time.

Both apply the scoring rule of `hud._wire` through `scoring.py`, with the success threshold the
caller gives. The unit of the statistics built on them (`hud._stats`) is the task: `task_page` lists
one row per `task_id`, then one per trajectory recorded without a task (each its own unit).
"""

from __future__ import annotations

import math
import time
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
)

from hud._wire import DURATION_QUANTILES, ERROR_KINDS, NOT_COUNTED_KINDS, nearest_rank
from hud.server._cursors import decode_task_cursor, encode_task_cursor
from hud.server._errors import NotFound
from hud.server._operations.leases import expired
from hud.server._operations.scoring import counted, counted_reward, effective_error_kind, stats_columns
from hud.server._render import dumps
from hud.server._tables import environments, jobs, trajectories

__all__ = [
    "Answer",
    "TaskRow",
    "duration_seconds",
    "job_summary",
    "task_page",
    "task_rows",
    "task_units",
    "trajectory_duration",
]

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


def _durations(conn: Connection, account: str, job_id: str, n: int) -> dict[str, float | None]:
    """The duration quantiles of the job's `n` trajectories. When every one has its duration stored,
    each quantile is a walk of the (job_id, account, duration) index, no sort; otherwise those
    without are computed from their times, where both are known."""
    found: dict[str, float | None] = dict.fromkeys(DURATION_QUANTILES)
    if not n:
        return found
    params = {"account": account, "job_id": job_id}
    if conn.execute(_missing_duration, params).first() is None:
        timed = n
        column: ColumnElement[Any] = _t.duration
        query = select(column).where(*_scope, _t.duration.is_not(None))  # index only: (job_id, account, duration)
    else:
        known = or_(_t.duration.is_not(None), _timed())
        timed = int(conn.execute(select(func.count()).where(*_scope, known), params).scalar_one())
        column = trajectory_duration(conn.dialect.name).label("d")
        query = select(column).where(*_scope, known)
    if not timed:
        return found
    for name, q in DURATION_QUANTILES.items():
        rank = nearest_rank(q, timed)
        # The same value from whichever end is nearer: a walk of at most half the index.
        if rank < timed - 1 - rank:
            at = query.order_by(column).limit(1).offset(rank)
        else:
            at = query.order_by(column.desc()).limit(1).offset(timed - 1 - rank)
        found[name] = _float(conn.execute(at, params).scalar_one())
    return found


_scope = (_t.account == bindparam("account"), _t.job_id == bindparam("job_id"))
_kind = effective_error_kind()
# A seek at the head of (job_id, account, duration), where NULLs sort (first on SQLite, last on PostgreSQL).
_missing_duration = select(_t.seq).where(*_scope, _t.duration.is_(None)).limit(1)
# Both read an index alone, with few operations a row (the database evaluates every aggregate's
# expression on every row). The counted trajectories, rewards as stored (`trajectories_job_scores`):
_counted = select(
    func.count(),
    func.sum(_t.step_count),
    func.count(_t.reward),
    func.sum(_t.reward),
    func.min(_t.reward),
    func.max(_t.reward),
    func.sum(case((_t.reward >= bindparam("threshold", type_=Float), 1), else_=0)),
).where(*_scope, counted())
# Those with an error (few: `trajectories_job_errors`): how many of each kind (every stored kind is
# one of ERROR_KINDS: the API refuses others, and so does the sweep), the steps of the excluded, and
# the counted without a reward (agent failures without one: they count with 0).
_errors = select(
    *(func.sum(case((_kind == k, 1), else_=0)) for k in ERROR_KINDS),
    func.sum(case((counted(), 0), else_=_t.step_count)),
    func.sum(case((and_(counted(), _t.reward.is_(None)), 1), else_=0)),
).where(*_scope, _kind.is_not(None))


def job_summary(conn: Connection, account: str, job_id: str, threshold: float, lease: float) -> Answer:
    """The job's summary (the `JobSummary` of the SDK without its task-level intervals).

    A walk of the index `trajectories_job_scores` and one of `trajectories_job_errors` (the rows
    with an error), never of the table; each duration quantile a walk of `trajectories_job_duration`
    up to its rank, from the nearer end.
    """
    if _job_state(conn, account, job_id, lease):
        return Answer(None, expired=True)
    params = {"account": account, "job_id": job_id}
    n_counted, steps, scored, total, low, high, successes = conn.execute(
        _counted, {**params, "threshold": threshold}
    ).one()
    *by_kind, excluded_steps, zeros = (int(v or 0) for v in conn.execute(_errors, params).one())
    kinds = dict(zip(ERROR_KINDS, by_kind, strict=True))
    n_counted, scored, successes = int(n_counted), int(scored), int(successes or 0)
    if zeros:
        # Counted as 0: in a sum, a 0 changes nothing (but -0.0 + 0.0 = 0.0, as a sum with it gives).
        total = 0.0 if total is None else float(total) + 0.0
        low, high = (0.0, 0.0) if low is None else (min(float(low), 0.0), max(float(high), 0.0))
        scored += zeros
        successes += zeros if threshold <= 0.0 else 0
    excluded = sum(kinds[k] for k in NOT_COUNTED_KINDS)
    n = n_counted + excluded
    outcomes = {
        "success": successes,
        "fail": scored - successes,
        "unscored": n_counted - scored,
        "excluded": excluded,
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
        "excluded": excluded,
        "scored": scored,
        "mean_reward": float(total) / scored if scored else None,
        "min_reward": _float(low),
        "max_reward": _float(high),
        "successes": successes,
        "success_rate": _rate(successes, n_counted),
        "errors": sum(kinds.values()),
        "steps": int(steps or 0) + excluded_steps,
        "by_outcome": {k: v for k, v in outcomes.items() if v},
        "by_error_kind": {k: v for k, v in sorted(kinds.items()) if v},
        "open_environments": int(open_environments),
        **_durations(conn, account, job_id, n),
    }
    return Answer(dumps(summary))


def _task_columns() -> tuple[Any, ...]:
    # attempts, counted, scored, the sum of the scored rewards (the mean is sum / scored, as avg()
    # computes it, and cheaper), successes.
    attempts, n_counted, scored, _mean, successes = stats_columns(bindparam("threshold", type_=Float))[:5]
    return (attempts, n_counted, scored, func.sum(counted_reward()), successes)


_tasks = select(_t.task_id, *_task_columns()).where(*_scope, _t.task_id.is_not(None))
# Tasks in task order: one walk of `trajectories_job_scores` from the page's first task.
_tasks_first = _tasks.group_by(_t.task_id).order_by(_t.task_id).limit(bindparam("n"))
_tasks_after = (
    _tasks.where(_t.task_id > bindparam("after")).group_by(_t.task_id).order_by(_t.task_id).limit(bindparam("n"))
)
# A cursor may name any position up to 2**63 - 1: bound as a bigint, which PostgreSQL compares with
# the int column (as an int it refuses values past 2**31 - 1).
_untasked = (
    select(_t.id, *_task_columns(), _t.seq)
    .where(*_scope, _t.task_id.is_(None), _t.seq > bindparam("after_seq", type_=BigInteger))
    .group_by(_t.seq, _t.id)
    .order_by(_t.seq)
    .limit(bindparam("n"))
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
    mean = float(total) / scored if scored else None
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
    if _job_state(conn, account, job_id, lease):
        return Answer(None, expired=True)
    units, last = task_units(conn, account, job_id, threshold, decode_task_cursor(cursor), limit)
    next_cursor = None if last is None else encode_task_cursor(last)
    return Answer(f'{{"items":[{",".join(unit.json() for unit in units)}],"next_cursor":{dumps(next_cursor)}}}')
