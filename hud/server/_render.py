"""Answers as JSON text: compact, strict (no NaN), steps spliced in as stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["TRAJECTORY_TAIL", "dumps", "job_json", "summary_json", "trajectory_head", "trajectory_json"]


def dumps(value: Any) -> str:
    """Compact JSON; NaN and Infinity are refused (they are not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def job_json(
    id: str, name: str, metadata: str | None, created_at: str, status: str, error: str | None
) -> dict[str, Any]:
    """A job row (metadata as stored JSON text) as the Job object of the spec."""
    return {
        "id": id,
        "name": name,
        "metadata": None if metadata is None else json.loads(metadata),
        "created_at": created_at,
        "status": status,
        "error": error,
    }


def trajectory_head(id: str, reward: float | None, logs: str | None, error: str | None) -> str:
    """A Trajectory object up to the opening bracket of its steps (streamed answers go on from there)."""
    return f'{{"id":{dumps(id)},"reward":{dumps(reward)},"logs":{dumps(logs)},"error":{dumps(error)},"trajectory":['


#: What closes a Trajectory object after its steps.
TRAJECTORY_TAIL = "]}"


def trajectory_json(
    id: str, reward: float | None, logs: str | None, error: str | None, step_texts: Sequence[str]
) -> str:
    """A Trajectory object; `step_texts` are the steps' stored JSON texts, spliced in unparsed."""
    return trajectory_head(id, reward, logs, error) + ",".join(step_texts) + TRAJECTORY_TAIL


def summary_json(id: str, reward: float | None, logs: str | None, error: str | None, step_count: int) -> str:
    """A TrajectorySummary: a trajectory without its steps (what closing an environment answers)."""
    return (
        f'{{"id":{dumps(id)},"reward":{dumps(reward)},"logs":{dumps(logs)},'
        f'"error":{dumps(error)},"step_count":{int(step_count)}}}'
    )
