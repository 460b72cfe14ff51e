"""Wire payloads for respx answers, shaped as openapi.yaml says."""

from __future__ import annotations

from typing import Any

BASE_URL = "http://hud.test"
API_KEY = "hud_test_0123456789abcdefSECRET"


def job_payload(job_id: str = "job-1", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": job_id,
        "name": "eval",
        "metadata": {"agent": "v2"},
        "created_at": "2026-11-25T10:00:00+00:00",
        "status": "created",
    }
    payload.update(overrides)
    return payload


def trajectory_payload(trajectory_id: str, reward: float | None = 1.0, steps: int = 1) -> dict[str, Any]:
    return {
        "id": trajectory_id,
        "reward": reward,
        "logs": None,
        "error": None,
        "trajectory": [
            {
                "observation_url": None,
                "observation_text": f"step {i}",
                "actions": [{"type": "click", "x": i}],
                "start_timestamp": "2026-11-25T10:00:00+00:00",
                "end_timestamp": "2026-11-25T10:00:01+00:00",
            }
            for i in range(steps)
        ],
    }
