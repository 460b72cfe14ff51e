"""Answers as JSON text: compact, strict (no NaN), stored JSON (steps, metadata) spliced in as stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

__all__ = [
    "TRAJECTORY_COLUMNS",
    "TRAJECTORY_TAIL",
    "TrajectoryHead",
    "TrajectoryRow",
    "dumps",
    "duration",
    "iso_time",
    "job_json",
    "now",
    "same_json",
    "summary_json",
    "trajectory_head",
    "trajectory_json",
]


def dumps(value: Any) -> str:
    """Compact JSON; NaN and Infinity are refused (they are not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def now() -> str:
    """The current time as stored and answered: ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat()


def duration(created_at: str | None, closed_at: str | None) -> float | None:
    """Seconds from `created_at` to `closed_at` (stored ISO 8601 texts), as the SDK's
    `Trajectory.duration` computes them from the same texts (None when either is missing or unreadable)."""
    if created_at is None or closed_at is None:
        return None
    try:
        return (datetime.fromisoformat(closed_at) - datetime.fromisoformat(created_at)).total_seconds()
    except (TypeError, ValueError):  # unreadable, or one aware and one naive
        return None


def iso_time(epoch: float | None) -> str | None:
    """Seconds since the epoch (as stored for heartbeats) as ISO 8601 in UTC."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def job_json(
    id: str,
    name: str,
    metadata: str | None,
    created_at: str,
    status: str,
    error: str | None,
    heartbeat_at: float | None,
    gym_id: str | None,
    evalset_id: str | None,
) -> dict[str, Any]:
    """A job row (metadata as stored JSON text) as the Job object of the spec."""
    return {
        "id": id,
        "name": name,
        "metadata": None if metadata is None else json.loads(metadata),
        "created_at": created_at,
        "status": status,
        "error": error,
        "heartbeat_at": iso_time(heartbeat_at),
        "gym_id": gym_id,
        "evalset_id": evalset_id,
    }


def same_json(stored: str | None, value: Any) -> bool:
    """Whether stored JSON text holds `value`: key order aside, `1` and `1.0` (or `true`) differ."""
    if stored is None or value is None:
        return stored is None and value is None
    return _canonical(json.loads(stored)) == _canonical(value)


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class TrajectoryRow(Protocol):
    """What a trajectory's answer is made of (a row of `_tables.trajectories`, or one just written)."""

    @property
    def id(self) -> str: ...
    @property
    def reward(self) -> float | None: ...
    @property
    def logs(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def task_id(self) -> str | None: ...
    @property
    def gym_id(self) -> str | None: ...
    @property
    def metadata(self) -> str | None: ...
    @property
    def created_at(self) -> str | None: ...
    @property
    def closed_at(self) -> str | None: ...
    @property
    def error_kind(self) -> str | None: ...


class TrajectoryHead(NamedTuple):
    """A trajectory row without its steps, in `TRAJECTORY_COLUMNS` order."""

    id: str
    reward: float | None
    logs: str | None
    error: str | None
    task_id: str | None
    gym_id: str | None
    metadata: str | None
    created_at: str | None
    closed_at: str | None
    error_kind: str | None


#: The columns of `_tables.trajectories` a `TrajectoryHead` is made of, in its order.
TRAJECTORY_COLUMNS = TrajectoryHead._fields


def _fields(row: TrajectoryRow) -> str:
    # Metadata is stored JSON text: spliced in unparsed, like the steps.
    return (
        f'{{"id":{dumps(row.id)},"reward":{dumps(row.reward)},"logs":{dumps(row.logs)},'
        f'"error":{dumps(row.error)},"task_id":{dumps(row.task_id)},"gym_id":{dumps(row.gym_id)},'
        f'"metadata":{"null" if row.metadata is None else row.metadata},'
        f'"created_at":{dumps(row.created_at)},"closed_at":{dumps(row.closed_at)},'
        f'"error_kind":{dumps(row.error_kind)}'
    )


def trajectory_head(row: TrajectoryRow) -> str:
    """A Trajectory object up to the opening bracket of its steps (streamed answers go on from there)."""
    return _fields(row) + ',"trajectory":['


#: What closes a Trajectory object after its steps.
TRAJECTORY_TAIL = "]}"


def trajectory_json(row: TrajectoryRow, step_texts: Sequence[str]) -> str:
    """A Trajectory object; `step_texts` are the steps' stored JSON texts, spliced in unparsed."""
    return trajectory_head(row) + ",".join(step_texts) + TRAJECTORY_TAIL


def summary_json(row: TrajectoryRow, step_count: int) -> str:
    """A TrajectorySummary: a trajectory without its steps (what closing an environment answers)."""
    return _fields(row) + f',"step_count":{int(step_count)}}}'
