"""Opaque paging cursors: a position plus a digest of the query they belong to."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from hud._wire import MAX_CURSOR_LENGTH
from hud.server._errors import ApiError

__all__ = ["decode_cursor", "encode_cursor"]


def _scope_digest(scope: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join(scope).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def encode_cursor(seq: int, scope: tuple[str, ...]) -> str:
    """An opaque cursor: the position plus a digest of the query (`scope`) it belongs to."""
    raw = json.dumps([seq, _scope_digest(scope)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: tuple[str, ...]) -> int | None:
    """The position of `cursor`, checked to belong to the same query (`scope`); ApiError 400 if not."""
    if cursor is None:
        return None
    bad = ApiError(400, "malformed cursor: pass the cursor of the previous page unchanged, or none for the first")
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise bad from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or type(decoded[0]) is not int
        or not isinstance(decoded[1], str)
        or not 0 <= decoded[0] < 2**63
    ):
        raise bad
    if decoded[1] != _scope_digest(scope):
        raise ApiError(
            400,
            "this cursor belongs to another query (another job, account or filter): "
            "pass the cursor from the previous page of the same request",
        )
    return int(decoded[0])
