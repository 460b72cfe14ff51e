"""Answers as JSON text: compact, strict (no NaN), stored JSON (steps, metadata) spliced in as stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = ["TrajectoryRow", "dumps", "iso_time", "job_json", "now", "same_json", "trajectory_json"]


def dumps(value: Any) -> str:
    """Compact JSON; NaN and Infinity are refused (they are not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def now() -> str:
    """The current time as stored and answered: ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat()


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


def trajectory_json(row: TrajectoryRow, step_texts: Sequence[str]) -> str:
    """A Trajectory object; `step_texts` and the metadata are stored JSON texts, spliced in unparsed."""
    return (
        f'{{"id":{dumps(row.id)},"reward":{dumps(row.reward)},"logs":{dumps(row.logs)},'
        f'"error":{dumps(row.error)},"trajectory":[{",".join(step_texts)}],'
        f'"task_id":{dumps(row.task_id)},"gym_id":{dumps(row.gym_id)},'
        f'"metadata":{"null" if row.metadata is None else row.metadata},'
        f'"created_at":{dumps(row.created_at)},"closed_at":{dumps(row.closed_at)},'
        f'"error_kind":{dumps(row.error_kind)}}}'
    )
