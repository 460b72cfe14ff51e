"""A job's summary, computed by the database (its per-task numbers: `tasks.py`).

Both apply the scoring rule of `hud._wire` through `scoring.py`, with the success threshold the
caller gives, and read the indexes of migration step 9, never the table's rows.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from sqlalchemy import (
    TIMESTAMP,
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
from hud.server._errors import NotFound
from hud.server._operations.leases import expired
from hud.server._operations.scoring import counted, effective_error_kind
from hud.server._render import dumps
from hud.server._tables import environments, jobs, trajectories

__all__ = ["SCOPE", "Answer", "average", "duration_seconds", "job_state", "job_summary", "trajectory_duration"]

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


def job_state(conn: Connection, account: str, job_id: str, lease: float) -> bool:
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


def average(total: Any, scored: int) -> float | None:
    """SUM(...) / COUNT(...) as AVG(...) gives it: a sum from 0.0 (PostgreSQL's SUM starts from its
    first value, so a sum of -0.0 alone would stay -0.0), one float division."""
    return (0.0 + float(total)) / scored if scored else None


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
        query = select(column).where(*SCOPE, _t.duration.is_not(None))  # index only: (job_id, account, duration)
    else:
        known = or_(_t.duration.is_not(None), _timed())
        timed = int(conn.execute(select(func.count()).where(*SCOPE, known), params).scalar_one())
        column = trajectory_duration(conn.dialect.name).label("d")
        query = select(column).where(*SCOPE, known)
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


#: The job's trajectories, bound by name: `account`, `job_id`.
SCOPE = (_t.account == bindparam("account"), _t.job_id == bindparam("job_id"))
_kind = effective_error_kind()
# A seek at the head of (job_id, account, duration), where NULLs sort (first on SQLite, last on PostgreSQL).
_missing_duration = select(_t.seq).where(*SCOPE, _t.duration.is_(None)).limit(1)
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
).where(*SCOPE, counted())
# Those with an error (few: `trajectories_job_errors`): how many of each kind (every stored kind is
# one of ERROR_KINDS: the API refuses others, and so does the sweep), the steps of the excluded, and
# the counted without a reward (agent failures without one: they count with 0).
_errors = select(
    *(func.sum(case((_kind == k, 1), else_=0)) for k in ERROR_KINDS),
    func.sum(case((counted(), 0), else_=_t.step_count)),
    func.sum(case((and_(counted(), _t.reward.is_(None)), 1), else_=0)),
).where(*SCOPE, _kind.is_not(None))


def job_summary(conn: Connection, account: str, job_id: str, threshold: float, lease: float) -> Answer:
    """The job's summary (the `JobSummary` of the SDK without its task-level intervals).

    A walk of the index `trajectories_job_scores` and one of `trajectories_job_errors` (the rows
    with an error), never of the table; each duration quantile a walk of `trajectories_job_duration`
    up to its rank, from the nearer end.
    """
    if job_state(conn, account, job_id, lease):
        return Answer(None, expired=True)
    params = {"account": account, "job_id": job_id}
    n_counted, steps, scored, total, low, high, successes = conn.execute(
        _counted, {**params, "threshold": threshold}
    ).one()
    *by_kind, excluded_steps, zeros = (int(v or 0) for v in conn.execute(_errors, params).one())
    kinds = dict(zip(ERROR_KINDS, by_kind, strict=True))
    n_counted, scored, successes = int(n_counted), int(scored), int(successes or 0)
    if zeros:
        # Counted as 0: in a sum, a 0 changes nothing (the sum starts at 0.0 anyway, see `_mean`).
        total = 0.0 if total is None else total
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
        "mean_reward": average(total, scored),
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
