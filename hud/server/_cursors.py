"""Opaque paging cursors: a position plus a digest of the query they belong to."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from hud._wire import MAX_CURSOR_LENGTH
from hud.server._errors import ApiError

__all__ = ["decode_cursor", "decode_key_cursor", "encode_cursor"]


def _scope_digest(scope: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join(scope).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def encode_cursor(position: int | str, scope: tuple[str, ...]) -> str:
    """An opaque cursor: the position (a seq, or a short text) plus a digest of the query (`scope`)."""
    raw = json.dumps([position, _scope_digest(scope)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_BAD = "malformed cursor: pass the cursor of the previous page unchanged, or none for the first"


def _decode(cursor: str, scope: tuple[str, ...]) -> object:
    """The position stored in `cursor`, once it is known to be ours and of the same query."""
    bad = ApiError(400, _BAD)
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise bad from None
    if not isinstance(decoded, list) or len(decoded) != 2 or not isinstance(decoded[1], str):
        raise bad
    if decoded[1] != _scope_digest(scope):
        raise ApiError(
            400,
            "this cursor belongs to another query (another job, account or filter): "
            "pass the cursor from the previous page of the same request",
        )
    return decoded[0]


def _is_seq(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**63


def decode_cursor(cursor: str | None, scope: tuple[str, ...]) -> int | None:
    """The position of `cursor`, checked to belong to the same query (`scope`); ApiError 400 if not."""
    if cursor is None:
        return None
    position = _decode(cursor, scope)
    if not _is_seq(position):
        raise ApiError(400, _BAD)
    assert isinstance(position, int)
    return position


def decode_key_cursor(cursor: str | None, scope: tuple[str, ...]) -> str | None:
    """The text position a cursor holds (`encode_cursor` of a str); ApiError 400 for anything else."""
    if cursor is None:
        return None
    position = _decode(cursor, scope)
    if not isinstance(position, str):
        raise ApiError(400, _BAD)
    return position
