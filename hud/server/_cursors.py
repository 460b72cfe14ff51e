"""Paging cursors: the position (a row's `seq`) where the next page starts, in decimal digits.

openapi.yaml states their format (`CURSOR_PATTERN`), so that every cursor the spec allows means
something: a position in the listing (before the first row or past the last: an empty page), in any
listing of the caller's own account; anything else is refused (400), as the spec refuses it. Clients
treat cursors as opaque all the same: pass `next_cursor` (or `X-Next-Cursor`) back unchanged.
"""

from __future__ import annotations

import re

from hud.server._errors import ApiError

__all__ = [
    "CURSOR_PATTERN",
    "TASK_CURSOR_PATTERN",
    "decode_cursor",
    "decode_task_cursor",
    "encode_cursor",
    "encode_task_cursor",
]

#: The cursor format of openapi.yaml's `Cursor` parameter (tests/test_wire.py checks they agree).
CURSOR_PATTERN = r"^(0|[1-9][0-9]{0,18})$"
_CURSOR = re.compile(CURSOR_PATTERN)
_MAX_SEQ = 2**63 - 1

#: The format of a job's task listing cursor (openapi.yaml's `TaskCursor`): `t:` and the last task id
#: of the page before, or `s` and the last position among the trajectories without a task.
TASK_CURSOR_PATTERN = r"^(t:[^\x00]{1,128}|s(0|[1-9][0-9]{0,18}))$"
_TASK_CURSOR = re.compile(TASK_CURSOR_PATTERN)


def encode_cursor(seq: int) -> str:
    """The cursor of the position `seq`."""
    return str(seq)


def decode_cursor(cursor: str | None) -> int | None:
    """The position of `cursor` (None for none); ApiError 400 for one the spec does not allow."""
    if cursor is None:
        return None
    if not _CURSOR.match(cursor):
        raise ApiError(400, "malformed cursor: pass the cursor of the previous page unchanged, or none for the first")
    # 19 digits may exceed the largest position: that far is past every row.
    return min(int(cursor), _MAX_SEQ)


def decode_task_cursor(cursor: str | None) -> str | int | None:
    """The position of a task listing cursor: a task id (str), a position among the trajectories
    without a task (int), or None for the first page; ApiError 400 for one the spec does not allow."""
    if cursor is None:
        return None
    if not _TASK_CURSOR.fullmatch(cursor):
        raise ApiError(400, "malformed cursor: pass the cursor of the previous page unchanged, or none for the first")
    return cursor[2:] if cursor.startswith("t:") else min(int(cursor[1:]), _MAX_SEQ)


def encode_task_cursor(position: str | int) -> str:
    """The task listing cursor of a task id (str) or of a position among trajectories without a task."""
    return f"t:{position}" if isinstance(position, str) else f"s{position}"
