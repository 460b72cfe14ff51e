"""Input checks run before any request, so a bad argument costs no round trip and says what to fix."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hud._wire import (
    CLIENT_ID_PATTERN,
    MAX_ERROR_LENGTH,
    MAX_ID_LENGTH,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_NAME_LENGTH,
)
from hud.errors import InvalidInputError

__all__ = [
    "check_client_id",
    "check_confidence",
    "check_id",
    "check_metadata",
    "check_name",
    "check_optional_text",
    "check_page_size",
    "check_reward",
    "check_threshold",
    "error_text",
]


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
    # Servers decode %2F back to "/" before routing, so such an id would reach another path.
    if "/" in text:
        raise InvalidInputError(f"{what} must not contain '/': pass the id exactly as the server gave it")
    return text


_CLIENT_ID = re.compile(CLIENT_ID_PATTERN)


def check_client_id(value: object, what: str = "id") -> str | None:
    """An id the caller chooses for a new object (None: the server makes one): URL-safe, so it stays the
    same in every path."""
    if value is None:
        return None
    text = _check_text(what, value, MAX_ID_LENGTH)
    # fullmatch: `$` would also match before a final newline.
    if not _CLIENT_ID.fullmatch(text):
        raise InvalidInputError(
            f"{what} {text!r} must be letters, digits, '.', '_', ':' and '-', starting with a letter or digit "
            "(a UUID, say)"
        )
    return text


def check_optional_text(value: object, what: str, max_length: int = MAX_ID_LENGTH) -> str | None:
    """An optional id-like string (gym_id, task_id, ...)."""
    return None if value is None else _check_text(what, value, max_length)


def check_metadata(
    value: object,
    what: str = "metadata",
    max_depth: int = MAX_METADATA_DEPTH,
    max_bytes: int | None = MAX_METADATA_BYTES,
) -> dict[str, Any] | None:
    """A JSON object (or None) that survives the wire exactly: string keys, no NaN or Infinity.

    It must also fit the server's limits: at most `max_bytes` as compact JSON (None: only the body's
    limit applies), and at most `max_depth` nested objects and arrays (itself included), which
    depends on where it sits in the request body.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a dict (a JSON object) or None, got {type(value).__name__}")
    # Walked before json.dumps, which could hit the recursion limit on deep input.
    # Also rejects non-str keys silently converted by json (1 -> "1" would not round-trip).
    _check_tree(value, what, max_depth)
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be JSON-serialisable (no NaN/Infinity): {exc}") from None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid UTF-8 (it contains a lone surrogate)") from None
    if max_bytes is not None and size > max_bytes:
        raise InvalidInputError(
            f"{what} is {size} bytes as JSON; the limit is {max_bytes}: "
            "store large data elsewhere and put its URL in it"
        )
    return value


def _check_tree(value: object, what: str, max_depth: int) -> None:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple) and depth > max_depth:
            raise InvalidInputError(
                f"{what} is nested more than {max_depth} levels deep (objects and arrays): flatten it"
            )
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidInputError(f"{what} keys must be strings, got {key!r}")
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)


def check_reward(value: object) -> float | None:
    """A finite number or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"reward must be a number or None, got {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidInputError(f"reward must be finite, got {value!r}")
    return float(value)


def check_page_size(value: object, high: int) -> int:
    """A page size: an int from 1 to `high` (the spec's maximum for that operation)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidInputError(f"page_size must be an int from 1 to {high}, got {value!r}")
    return value


def error_text(exc: BaseException, prefix: str = "") -> str:
    """An exception as an error the server accepts: `Type: message`, NUL and lone surrogates replaced,
    at most MAX_ERROR_LENGTH characters (an agent's exception text is whatever the agent made it)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = (prefix + text).replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return text[:MAX_ERROR_LENGTH]


def check_threshold(value: float) -> float:
    """A success threshold: a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"success_threshold must be a finite number, not {value!r}")
    return float(value)


def check_confidence(value: float) -> float:
    """A confidence level: strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise InvalidInputError(f"confidence must be between 0 and 1 (e.g. 0.95), not {value!r}")
    return float(value)
