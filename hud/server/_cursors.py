"""Paging cursors: the position (a row's `seq`) where the next page starts, in decimal digits.

openapi.yaml states their format (`CURSOR_PATTERN`), so that every cursor the spec allows means
something: a position in the listing (before the first row or past the last: an empty page), in any
listing of the caller's own account; anything else is refused (400), as the spec refuses it. Clients
treat cursors as opaque all the same: pass `next_cursor` (or `X-Next-Cursor`) back unchanged.
"""

from __future__ import annotations

import re

from hud.server._errors import ApiError

__all__ = ["CURSOR_PATTERN", "decode_cursor", "encode_cursor"]

#: The cursor format of openapi.yaml's `Cursor` parameter (tests/test_wire.py checks they agree).
CURSOR_PATTERN = r"^(0|[1-9][0-9]{0,18})$"
_CURSOR = re.compile(CURSOR_PATTERN)
_MAX_SEQ = 2**63 - 1


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
