"""The scoring rule of `hud._wire` as SQL, for aggregates computed by the database.

`effective_error_kind`, `counts`, `counted_reward` and `succeeded` of the wire module, column by
column; tests compare both on the same trajectories.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_

from hud._wire import DEFAULT_SUCCESS_THRESHOLD, NOT_COUNTED_KINDS
from hud.server._tables import trajectories

__all__ = ["counted", "counted_reward", "effective_error_kind", "stats_columns"]

_t = trajectories.c


def effective_error_kind() -> ColumnElement[Any]:
    """The trajectory's error kind, `agent` for an error recorded without one, else NULL."""
    has_error = and_(_t.error.is_not(None), _t.error != "")
    return func.coalesce(_t.error_kind, case((has_error, literal("agent")), else_=None))


def counted() -> ColumnElement[bool]:
    """Whether the trajectory counts in means and success rates."""
    kind = effective_error_kind()
    return or_(kind.is_(None), kind.not_in(sorted(NOT_COUNTED_KINDS)))


def counted_reward() -> ColumnElement[Any]:
    """The reward it counts with: NULL when excluded or unscored, 0 for an agent failure without one."""
    return case(
        (~counted(), None),
        (and_(_t.reward.is_(None), effective_error_kind().is_not(None)), literal(0.0)),
        else_=_t.reward,
    )


def stats_columns(threshold: float = DEFAULT_SUCCESS_THRESHOLD) -> tuple[ColumnElement[Any], ...]:
    """Aggregates over trajectories: n, counted, scored, mean, successes, errors, low, high."""
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
