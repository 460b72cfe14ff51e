"""The body of `POST /v2/import` (an extension): records copied from another store, with their ids and times.

Validated as strictly as the bodies of `_requests` (the same field types), record by record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from hud._wire import MAX_STEPS_PER_APPEND
from hud.server._requests import ClientId, DateTime, ErrorKind, Id, JobError, Logs, Metadata, Name, Status, Step

__all__ = ["ImportBatch", "ImportClose", "ImportEnvironment", "ImportJob", "ImportSteps"]


#: Positions and step counts: what an INTEGER column holds everywhere.
MAX_POSITION = 2**31 - 1


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 3.0 is the integer 3 (as JSON Schema says), 3.5 and true are not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    return value


Count = Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=MAX_POSITION)]


def _instant(text: str) -> str:
    # A heartbeat is stored as seconds since the epoch and answered in UTC: it must be a UTC date.
    try:
        datetime.fromtimestamp(datetime.fromisoformat(text.replace("z", "Z")).timestamp(), UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be a time between the years 1 and 9999 in UTC") from None
    return text


Instant = Annotated[DateTime, AfterValidator(_instant)]


class _Record(BaseModel):
    # As `_requests`: no coercion, no unknown fields.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ImportJob(_Record):
    """A job as another store has it."""

    id: ClientId
    name: Name
    metadata: Metadata | None = None
    gym_id: Id | None = None
    evalset_id: Id | None = None
    created_at: DateTime
    status: Status
    error: JobError | None = None
    heartbeat_at: Instant | None = None
    heartbeat_age: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None


class ImportEnvironment(_Record):
    """An environment as another store has it (created open, without steps)."""

    id: ClientId
    job_id: Id
    gym_id: Id | None
    task_id: Id | None = None
    metadata: Metadata | None = None
    created_at: DateTime


class ImportSteps(_Record):
    """Steps of an environment from `position` on."""

    env_id: Id
    position: Count
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS_PER_APPEND)]


class ImportClose(_Record):
    """How an environment was closed: the outcome its trajectory records."""

    env_id: Id
    closed_at: DateTime
    step_count: Count
    reward: Annotated[float, Field(allow_inf_nan=False)] | None = None
    logs: Logs | None = None
    error: JobError | None = None
    error_kind: ErrorKind | None = None


class ImportBatch(_Record):
    """Records to import, applied in this order: jobs, environments, steps, closes."""

    jobs: list[ImportJob] = Field(default_factory=list)
    environments: list[ImportEnvironment] = Field(default_factory=list)
    steps: list[ImportSteps] = Field(default_factory=list)
    closes: list[ImportClose] = Field(default_factory=list)
