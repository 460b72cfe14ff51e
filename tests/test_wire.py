"""The wire module states what openapi.yaml states, and the success rule means the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from hud import _wire

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
PARAMETERS = SPEC["components"]["parameters"]


def _query(path: str, method: str, name: str) -> dict[str, Any]:
    for parameter in SPEC["paths"][path][method]["parameters"]:
        if parameter.get("name") == name:
            return dict(parameter["schema"])
    raise AssertionError(f"{method} {path} has no parameter {name}")


@pytest.mark.parametrize(
    ("limit", "stated"),
    [
        ("MAX_NAME_LENGTH", SCHEMAS["JobCreate"]["properties"]["name"]["maxLength"]),
        ("MAX_ID_LENGTH", SCHEMAS["Id"]["maxLength"]),
        ("MAX_ID_LENGTH", SCHEMAS["EnvironmentCreate"]["properties"]["gym_id"]["anyOf"][0]["maxLength"]),
        ("MAX_STATUS_LENGTH", SCHEMAS["Status"]["maxLength"]),
        ("MAX_ERROR_LENGTH", SCHEMAS["JobUpdate"]["properties"]["error"]["anyOf"][0]["maxLength"]),
        ("MAX_CURSOR_LENGTH", PARAMETERS["Cursor"]["schema"]["maxLength"]),
        ("MAX_IDEMPOTENCY_KEY_LENGTH", PARAMETERS["IdempotencyKey"]["schema"]["maxLength"]),
        ("MAX_STEPS_PER_APPEND", SCHEMAS["StepsAppend"]["properties"]["steps"]["maxItems"]),
        ("JOB_PAGE_MAX", _query("/v2/jobs", "get", "limit")["maximum"]),
        ("JOB_PAGE_DEFAULT", _query("/v2/jobs", "get", "limit")["default"]),
        ("TRAJECTORY_PAGE_MAX", _query("/v2/jobs/{job_id}/trajectories", "get", "limit")["maximum"]),
        ("ENVIRONMENT_PAGE_MAX", _query("/v2/jobs/{job_id}/environments", "get", "limit")["maximum"]),
        ("MAX_LOGS_LENGTH", SCHEMAS["EnvironmentClose"]["properties"]["logs"]["anyOf"][0]["maxLength"]),
        ("MAX_ERROR_LENGTH", SCHEMAS["EnvironmentClose"]["properties"]["error"]["anyOf"][0]["maxLength"]),
    ],
)
def test_limit_matches_the_spec(limit: str, stated: int) -> None:
    assert getattr(_wire, limit) == stated


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (f"{_wire.MAX_METADATA_BYTES:,} bytes", SCHEMAS["Metadata"]["description"]),
        (f"{_wire.MAX_JSON_DEPTH} levels", SCHEMAS["Metadata"]["description"]),
        (f"{_wire.MAX_JSON_VALUES:,} JSON values", SPEC["info"]["description"]),
        (f"{_wire.DEFAULT_MAX_BODY_BYTES:,} bytes", SPEC["info"]["description"]),
        (f"{_wire.MAX_STEP_BYTES:,} bytes", SCHEMAS["TrajectoryStep"]["description"]),
        (f"{_wire.MAX_ENVIRONMENT_STEPS:,} steps", SCHEMAS["TrajectoryStep"]["description"]),
        (f"{_wire.MAX_ENVIRONMENT_BYTES:,} bytes", SCHEMAS["TrajectoryStep"]["description"]),
        (f"{_wire.JOB_PAGE_MAX_BYTES:,} characters", SPEC["paths"]["/v2/jobs"]["get"]["description"]),
        (
            f"{_wire.TRAJECTORY_PAGE_MAX_BYTES:,} bytes",
            SPEC["paths"]["/v2/jobs/{job_id}/trajectories"]["get"]["description"],
        ),
    ],
)
def test_limit_stated_in_the_spec_prose(text: str, where: str) -> None:
    assert text in " ".join(where.split())


def test_known_statuses_are_the_specs() -> None:
    description = SCHEMAS["Status"]["description"]
    for status in _wire.JOB_STATUSES:
        assert f"`{status}`" in description
    assert set(_wire.JOB_STATUSES) > _wire.FINAL_STATUSES


def test_headers_are_the_specs() -> None:
    conflict = SPEC["components"]["responses"]["Conflict"]["headers"]
    assert _wire.IN_FLIGHT_HEADER in conflict
    assert PARAMETERS["IdempotencyKey"]["name"] == _wire.IDEMPOTENCY_KEY_HEADER
    trajectories = SPEC["paths"]["/v2/jobs/{job_id}/trajectories"]["get"]["responses"]["200"]["headers"]
    assert _wire.NEXT_CURSOR_HEADER in trajectories
    assert _wire.SHOULD_RETRY_HEADER in SPEC["components"]["responses"]["Damaged"]["headers"]


@pytest.mark.parametrize(
    ("reward", "error", "kind", "threshold", "outcome", "counted"),
    [
        (1.0, None, None, 1.0, "success", 1.0),
        (0.999, None, None, 1.0, "fail", 0.999),
        (0.5, None, None, 0.5, "success", 0.5),
        (None, None, None, 1.0, "unscored", None),
        # An error without a kind counts as the agent's: reward 0 unless one was given.
        (None, "Boom: x", None, 1.0, "fail", 0.0),
        (1.0, "Boom: x", None, 1.0, "success", 1.0),
        (None, "slow", "timeout", 0.0, "success", 0.0),
        (None, "x", "agent", 1.0, "fail", 0.0),
        # Kinds that say nothing about the agent are excluded, whatever the reward.
        (1.0, "429", "infrastructure", 1.0, "excluded", None),
        (None, None, "cancelled", 1.0, "excluded", None),
        (0.0, "died", "crashed", 0.0, "excluded", None),
        (0.0, "", None, 0.0, "success", 0.0),
    ],
)
def test_outcome_rule(
    reward: float | None, error: str | None, kind: str | None, threshold: float, outcome: str, counted: float | None
) -> None:
    assert _wire.trajectory_outcome(reward, error, kind, threshold) == outcome
    assert _wire.counted_reward(reward, error, kind) == counted
    assert _wire.counts(error, kind) == (outcome != "excluded")
    assert _wire.succeeded(reward, threshold) == (reward is not None and reward >= threshold)


def test_error_kinds_are_the_specs() -> None:
    assert set(_wire.ERROR_KINDS) == set(SCHEMAS["ErrorKind"]["enum"])
    assert set(_wire.ERROR_KINDS) > _wire.NOT_COUNTED_KINDS
    assert "crashed" in _wire.JOB_STATUSES
