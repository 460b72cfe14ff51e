"""Input checks run before any request, so a bad argument costs no round trip and says what to fix."""

from __future__ import annotations

import json
import math
from typing import Any

from hud._constants import MAX_ID_LENGTH, MAX_NAME_LENGTH
from hud.errors import InvalidInputError

__all__ = ["check_id", "check_metadata", "check_name", "check_optional_text", "check_reward"]


def _check_text(what: str, value: object, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidInputError(f"{what} must not be empty")
    if len(value) > max_length:
        raise InvalidInputError(f"{what} is {len(value)} characters long; the limit is {max_length}")
    if "\x00" in value:
        raise InvalidInputError(f"{what} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid UTF-8 (it contains a lone surrogate)") from None
    return value


def check_name(value: object, what: str = "name") -> str:
    """A job name: a non-empty string of at most 256 characters."""
    return _check_text(what, value, MAX_NAME_LENGTH)


def check_id(value: object, what: str = "id") -> str:
    """An id that is safe in a URL path: httpx would collapse `.` and `..` into another path."""
    text = _check_text(what, value, MAX_ID_LENGTH)
    if text in {".", ".."}:
        raise InvalidInputError(f"{what} must not be {text!r}")
    return text


def check_optional_text(value: object, what: str, max_length: int = MAX_ID_LENGTH) -> str | None:
    """An optional id-like string (gym_id, task_id, ...)."""
    return None if value is None else _check_text(what, value, max_length)


def check_metadata(value: object, what: str = "metadata") -> dict[str, Any] | None:
    """A JSON object (or None) that survives the wire exactly: string keys, no NaN or Infinity."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a dict (a JSON object) or None, got {type(value).__name__}")
    try:
        # Also rejects non-str keys silently converted by json (1 -> "1" would not round-trip).
        _reject_non_str_keys(value, what)
        json.dumps(value, allow_nan=False)
    except InvalidInputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be JSON-serialisable (no NaN/Infinity): {exc}") from None
    except RecursionError:
        raise InvalidInputError(f"{what} is nested too deeply to send as JSON") from None
    return value


def _reject_non_str_keys(value: object, what: str) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidInputError(f"{what} keys must be strings, got {key!r}")
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)


def check_reward(value: object) -> float | None:
    """A finite number or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"reward must be a number or None, got {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidInputError(f"reward must be finite, got {value!r}")
    return float(value)
