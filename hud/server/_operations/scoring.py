"""The scoring rule of `hud._wire` as SQL, for aggregates computed by the database.

`effective_error_kind`, `counts`, `counted_reward` and `succeeded` of the wire module, column by
column; tests compare both on the same trajectories.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, or_

from hud._wire import DEFAULT_SUCCESS_THRESHOLD, NOT_COUNTED_KINDS
from hud.server._tables import trajectories

__all__ = ["counted", "counted_reward", "effective_error_kind", "stats_columns"]

_t = trajectories.c


def effective_error_kind() -> ColumnElement[Any]:
    """The trajectory's error kind, `agent` for an error recorded without one, else NULL.

    A column the database computes (`_migrations`, step 9), in the index the aggregates walk: reading
    it never reads the error's text.
    """
    return _t.effective_error_kind


def counted() -> ColumnElement[bool]:
    """Whether the trajectory counts in means and success rates."""
    kind = effective_error_kind()
    return or_(kind.is_(None), kind.not_in(sorted(NOT_COUNTED_KINDS)))


def counted_reward() -> ColumnElement[Any]:
    """The reward it counts with: NULL when excluded or unscored, 0 for an agent failure without one."""
    kind = effective_error_kind()
    # Most trajectories have no error: the first test settles them (the database evaluates this per
    # row, several times over in `stats_columns`).
    return case(
        (kind.is_(None), _t.reward),
        (kind.in_(sorted(NOT_COUNTED_KINDS)), None),
        else_=func.coalesce(_t.reward, literal(0.0)),
    )


def stats_columns(threshold: float | ColumnElement[Any] = DEFAULT_SUCCESS_THRESHOLD) -> tuple[ColumnElement[Any], ...]:
    """Aggregates over trajectories: n, counted, scored, mean, successes, errors, low, high.

    `threshold` is a number, or a `bindparam` for a statement compiled once (`_sql.Statement`).
    """
    reward = counted_reward()
    return (
        func.count().label("n"),
        func.sum(case((counted(), 1), else_=0)).label("counted"),
        func.count(reward).label("scored"),
        func.avg(reward).label("mean"),
        func.sum(case((reward >= threshold, 1), else_=0)).label("successes"),
        func.sum(case((effective_error_kind().is_not(None), 1), else_=0)).label("errors"),
        func.min(reward).label("low"),
        func.max(reward).label("high"),
    )
