"""How the job page shows its trajectories: filtered by outcome, error kind and task, and sorted.

The filters apply the scoring rule in SQL (`scoring.py`), so "success" here is what the summary
counts. The closing order pages by keyset (`after`); the other orders by offset, bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement

from hud._wire import DEFAULT_SUCCESS_THRESHOLD, ERROR_KINDS, MAX_ID_LENGTH, OUTCOMES
from hud.server._errors import ApiError
from hud.server._operations.analysis import trajectory_duration
from hud.server._operations.scoring import counted, counted_reward, effective_error_kind
from hud.server._tables import trajectories

__all__ = ["MAX_OFFSET", "SORTS", "View"]

#: The orders the job page offers, by their query value.
SORTS = {
    "closed": "closing order",
    "reward-desc": "reward, highest first",
    "reward-asc": "reward, lowest first",
    "duration-desc": "duration, longest first",
    "duration-asc": "duration, shortest first",
    "task": "task",
}
#: Offset paging goes this deep at most (the closing order pages by keyset, without a bound).
MAX_OFFSET = 100_000

_t = trajectories.c


@dataclass(frozen=True, slots=True)
class View:
    """The job page's filters and order, from its query parameters."""

    outcome: str | None = None
    kind: str | None = None
    task: str | None = None
    sort: str = "closed"
    offset: int = 0

    @classmethod
    def from_query(cls, params: Any) -> View:
        """The view a query string asks for; 400 for a value the page does not offer."""

        def choice(name: str, allowed: Any) -> str | None:
            value = params.get(name) or None
            if value is not None and value not in allowed:
                raise ApiError(400, f"the {name} parameter must be one of {', '.join(allowed)}: use the page's form")
            return value

        task = params.get("task") or None
        if task is not None and (len(task) > MAX_ID_LENGTH or "\x00" in task):
            raise ApiError(400, f"the task parameter must be a task id (at most {MAX_ID_LENGTH} characters)")
        raw_offset = params.get("offset") or "0"
        if not raw_offset.isascii() or not raw_offset.isdigit() or int(raw_offset) > MAX_OFFSET:
            raise ApiError(
                400, f"the offset parameter must be a whole number up to {MAX_OFFSET}: follow the page's links"
            )
        return cls(
            outcome=choice("outcome", OUTCOMES),
            kind=choice("kind", ERROR_KINDS),
            task=task,
            sort=choice("sort", SORTS) or "closed",
            offset=int(raw_offset),
        )

    @property
    def keyset(self) -> bool:
        """Whether the trajectories page by keyset (the closing order) rather than by offset."""
        return self.sort == "closed"

    @property
    def filtered(self) -> bool:
        """Whether any filter applies."""
        return bool(self.outcome or self.kind or self.task)

    def filters(self) -> list[ColumnElement[bool]]:
        """The SQL conditions of the filters."""
        conditions: list[ColumnElement[bool]] = []
        reward = counted_reward()
        if self.outcome == "excluded":
            conditions.append(~counted())
        elif self.outcome == "unscored":
            conditions += [counted(), reward.is_(None)]
        elif self.outcome == "success":
            conditions.append(reward >= DEFAULT_SUCCESS_THRESHOLD)
        elif self.outcome == "fail":
            conditions.append(reward < DEFAULT_SUCCESS_THRESHOLD)
        if self.kind is not None:
            conditions.append(effective_error_kind() == self.kind)
        if self.task is not None:
            conditions.append(_t.task_id == self.task)
        return conditions

    def order(self, dialect: str) -> list[Any]:
        """The ORDER BY of a sort other than the closing order (unknown values last)."""
        if self.sort.startswith("reward"):
            column: Any = _t.reward
        elif self.sort.startswith("duration"):
            column = trajectory_duration(dialect)
        else:
            return [_t.task_id.asc().nulls_last()]
        return [(column.desc() if self.sort.endswith("desc") else column.asc()).nulls_last()]

    def query(self, **changes: Any) -> str:
        """The query string of this view with `changes` (None drops a parameter), for links."""
        view = replace(self, **changes)
        params = {"outcome": view.outcome, "kind": view.kind, "task": view.task}
        params["sort"] = None if view.sort == "closed" else view.sort
        params["offset"] = str(view.offset) if view.offset else None
        return urlencode({k: v for k, v in params.items() if v})
