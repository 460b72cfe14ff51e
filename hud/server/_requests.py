"""What a request may carry: strict JSON bodies, their pydantic models, ids and query parameters.

Bodies are parsed only after the caller is authenticated (`_app.py`). Parsing is bounded: a body
holds at most `MAX_JSON_VALUES` values (counted on the raw bytes before anything is allocated), and
large bodies are parsed on a worker thread, a few at a time, so the event loop keeps answering.
"""

from __future__ import annotations

import json
import math
import re
import threading
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from hud._wire import (
    CLIENT_ID_PATTERN,
    ERROR_KINDS,
    MAX_ERROR_LENGTH,
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_JSON_VALUES,
    MAX_LOGS_LENGTH,
    MAX_METADATA_BYTES,
    MAX_NAME_LENGTH,
    MAX_STATUS_LENGTH,
    MAX_STEPS_PER_APPEND,
)
from hud.server._errors import ApiError

__all__ = [
    "EnvironmentClose",
    "EnvironmentCreate",
    "JobCreate",
    "JobUpdate",
    "Step",
    "StepsAppend",
    "check_id",
    "load_json",
    "parse_body",
    "query_int",
    "query_str",
]

#: Bodies up to this size are parsed on the event loop (well under a millisecond); larger ones on a
#: worker thread.
INLINE_PARSE_BYTES = 64 * 1024
#: Large bodies parsed at once, per process: what parsing can hold in memory is bounded by this
#: times the largest body.
_PARSE_SLOTS = threading.BoundedSemaphore(4)


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def _parse_float(text: str) -> float:
    value = float(text)
    # json.loads turns 1e999 into inf: refuse it like the NaN/Infinity literals.
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def _utf8_ok(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _values_at_most(raw: bytes) -> int:
    # Every value but the root is a container's element, and a container of k elements has k - 1
    # commas: values <= 1 + commas + containers. Commas and brackets inside strings only add.
    return 1 + raw.count(b",") + raw.count(b"[") + raw.count(b"{")


def _check_value_count(raw: bytes) -> None:
    if _values_at_most(raw) <= MAX_JSON_VALUES:
        return
    # Over by the quick bound: count again without the strings' contents.
    if _values_at_most(_STRINGS.sub(b'""', raw)) > MAX_JSON_VALUES:
        raise ApiError(
            413,
            f"the JSON body holds more than {MAX_JSON_VALUES} values: send fewer steps per request, "
            "or store bulky data elsewhere and send its URL",
        )


def _check_tree(value: Any) -> None:
    """Refuses nesting beyond MAX_JSON_DEPTH and lone surrogates ("\\ud800"), iteratively."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not _utf8_ok(node):
                raise ApiError(422, "strings must be valid Unicode: remove lone surrogate escapes such as \\ud800")
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ApiError(422, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels: flatten it")
            items = node.items() if isinstance(node, dict) else ((None, v) for v in node)
            for key, child in items:
                if key is not None and not _utf8_ok(key):
                    raise ApiError(422, "object keys must be valid Unicode: remove lone surrogate escapes")
                stack.append((child, depth + 1))


def load_json(raw: bytes) -> Any:
    """Parses a request body as strict JSON (no NaN/Infinity), or raises ApiError 400/413/422."""
    _check_value_count(raw)
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_parse_float)
    except _NonFinite:
        raise ApiError(
            422, "numbers must be finite: NaN, Infinity and overflowing numbers are refused; send a finite number"
        ) from None
    except RecursionError:
        raise ApiError(422, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels: flatten it") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise ApiError(400, f"the request body is not valid JSON ({exc}): send a UTF-8 JSON object") from None
    _check_tree(value)
    return value


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return text


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _date_time(text: str) -> str:
    # The shape, then the values: 12:99 or February 30 has the shape. A leap second (:60) is valid
    # RFC 3339, which Python's datetime cannot hold: it is checked as :59 and stored as given.
    if _RFC3339.fullmatch(text):
        checked = text[:17] + "59" + text[19:] if text[17:19] == "60" else text
        try:
            datetime.fromisoformat(checked.replace("z", "Z").replace("t", "T"))
        except ValueError:
            pass
        else:
            return text
    raise ValueError("must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z")


def _metadata_size(value: dict[str, Any]) -> dict[str, Any]:
    # Metadata is stored and served whole with its object: a huge one would slow every read of it.
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise ValueError(
            f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}: "
            "store large data elsewhere and put its URL in metadata"
        )
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_no_nul)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_no_nul)]
#: An id a client chooses (openapi.yaml `ClientId`): it must stay the same in every URL.
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=CLIENT_ID_PATTERN)]
Status = Annotated[str, StringConstraints(min_length=1, max_length=MAX_STATUS_LENGTH), AfterValidator(_no_nul)]
JobError = Annotated[str, StringConstraints(max_length=MAX_ERROR_LENGTH), AfterValidator(_no_nul)]
DateTime = Annotated[str, AfterValidator(_date_time)]
Logs = Annotated[str, StringConstraints(max_length=MAX_LOGS_LENGTH), AfterValidator(_no_nul)]
JsonObject = dict[str, Any]
Metadata = Annotated[JsonObject, AfterValidator(_metadata_size)]


class _Body(BaseModel):
    # strict: no "1" -> 1 or 1 -> "1" coercion; forbid: a misspelt field is an error, not ignored.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class JobCreate(_Body):
    """The body of `POST /v2/jobs`."""

    id: ClientId | None = None
    name: Name
    metadata: Metadata | None = None
    gym_id: Id | None = None
    evalset_id: Id | None = None


class JobUpdate(_Body):
    """The body of `PATCH /v2/jobs/{job_id}`: the fields to change."""

    status: Status | None = None
    metadata: Metadata | None = None
    error: JobError | None = None
    metadata_merge: Metadata | None = None

    @model_validator(mode="after")
    def _status_not_null(self) -> JobUpdate:
        # Leaving status out keeps it; null is not a status (null metadata or error clears them).
        if "status" in self.model_fields_set and self.status is None:
            raise ValueError("status must be a string; leave it out to keep the current status")
        if "metadata_merge" in self.model_fields_set:
            if self.metadata_merge is None:
                raise ValueError("metadata_merge must be an object of the keys to set; leave it out to merge nothing")
            if "metadata" in self.model_fields_set:
                raise ValueError("send metadata (replace it) or metadata_merge (set some keys), not both")
        return self


class EnvironmentCreate(_Body):
    """The body of `POST /v2/create_environment` (`run_id` is the job's id).

    `gym_id` must be present but may be null: hud-python 0.2's `RemoteClient.create(gym_id=None)`
    sends `"gym_id": null`.
    """

    id: ClientId | None = None
    run_id: Id | None = None
    gym_id: Id | None
    task_id: Id | None = None
    metadata: Metadata | None = None


def _error_kind(text: str) -> str:
    if text not in ERROR_KINDS:
        raise ValueError(f"must be one of {', '.join(ERROR_KINDS)}")
    return text


ErrorKind = Annotated[str, AfterValidator(_error_kind)]


class EnvironmentClose(_Body):
    """The optional body of `POST /v2/environments/{env_id}/close`."""

    reward: Annotated[float, Field(allow_inf_nan=False)] | None = None
    logs: Logs | None = None
    error: JobError | None = None
    error_kind: ErrorKind | None = None


class Step(_Body):
    """One step of a trajectory."""

    observation_url: Text | None = None
    observation_text: Text | None = None
    actions: list[JsonObject] = Field(default_factory=list)
    start_timestamp: DateTime | None = None
    end_timestamp: DateTime | None = None


class StepsAppend(_Body):
    """The body of `POST /v2/environments/{env_id}/steps`."""

    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS_PER_APPEND)]


M = TypeVar("M", bound=BaseModel)


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{loc}: {error['msg']}")
    more = exc.error_count() - len(parts)
    suffix = f" (and {more} more)" if more > 0 else ""
    return "invalid request body: " + "; ".join(parts) + suffix + ". Fix the fields named and retry."


def _parse(model: type[M], raw: bytes, optional: bool) -> M:
    if not raw.strip():
        if optional:
            return model.model_validate({})
        raise ApiError(400, "the request body is empty: send a JSON object with Content-Type: application/json")
    value = load_json(raw)
    if not isinstance(value, dict):
        raise ApiError(422, f"the request body must be a JSON object, not {type(value).__name__}")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ApiError(422, _describe(exc)) from None


def _parse_in_slot(model: type[M], raw: bytes, optional: bool) -> M:
    with _PARSE_SLOTS:
        return _parse(model, raw, optional)


async def parse_body(model: type[M], raw: bytes, *, optional: bool = False) -> M:
    """Parses and validates a JSON request body; an empty body is `{}` when `optional`.

    Raises:
        ApiError: 400 (not JSON, empty), 413 (too many values) or 422 (fails validation).
    """
    if len(raw) <= INLINE_PARSE_BYTES:
        return _parse(model, raw, optional)
    return await run_in_threadpool(_parse_in_slot, model, raw, optional)


def check_id(value: str, what: str) -> str:
    """Refuses ids no object can have (empty, too long, NUL) with 400 instead of looking them up."""
    if not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise ApiError(400, f"{what} must be 1 to {MAX_ID_LENGTH} characters without NUL: check the id")
    return value


_INTEGER = re.compile(r"-?[0-9]{1,12}")


def query_int(params: Any, name: str, *, low: int, high: int, default: int | None) -> int | None:
    """An integer query parameter from `low` to `high`, or `default` when absent; 422 otherwise."""
    raw = params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise ApiError(422, f"query parameter {name} must be an integer from {low} to {high}")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(422, f"query parameter {name} must be an integer from {low} to {high}, not {value}")
    return value


def query_str(params: Any, name: str, *, max_length: int) -> str | None:
    """A string query parameter of 1 to `max_length` characters without NUL, or None; 422 otherwise."""
    raw: str | None = params.get(name)
    if raw is None:
        return None
    if not raw or len(raw) > max_length or "\x00" in raw:
        raise ApiError(422, f"query parameter {name} must be 1 to {max_length} characters without NUL")
    return raw
