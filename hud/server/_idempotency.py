"""Idempotency keys: the first answer per (account, key) is stored with the write it answers.

A retry with the same key and the same request gets that answer back (`Idempotency-Replayed: true`);
the same key with another request answers 409 (without that header: the key is taken, which no retry
changes); a retry while the first is still being processed answers 409 with `Idempotency-In-Flight:
true` (in this process: `InFlight`; across processes on
PostgreSQL: an advisory lock; on SQLite the write lock serialises them).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator

from sqlalchemy import Connection, bindparam, delete, select, text

from hud.server._errors import ApiError, in_flight_error
from hud.server._sql import Statement
from hud.server._tables import idempotency_keys

__all__ = ["IDEMPOTENCY_TTL_S", "Idempotency", "InFlight", "request_hash"]

#: How long a first answer is kept for replay.
IDEMPOTENCY_TTL_S = 24 * 3600
_PURGE_EVERY_S = 300.0

_k = idempotency_keys.c
_get = Statement(
    select(_k.request_hash, _k.body, _k.created_at).where(
        _k.account == bindparam("account"), _k.key == bindparam("key")
    )
)
_delete = Statement(delete(idempotency_keys).where(_k.account == bindparam("account"), _k.key == bindparam("key")))
_insert = Statement(idempotency_keys.insert())
_purge = Statement(delete(idempotency_keys).where(_k.created_at < bindparam("before")))
# Another transaction holding the key's lock is the same request still in flight (PostgreSQL).
_try_lock = Statement(text("SELECT pg_try_advisory_xact_lock(:k)"))


def request_hash(method: str, path: str, body: bytes) -> str:
    """What identifies a request for its Idempotency-Key: method, path and body."""
    return hashlib.sha256(b"\x00".join([method.encode(), path.encode("utf-8", "replace"), body])).hexdigest()


class InFlight:
    """The (account, key) pairs this process is processing now."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()

    @contextlib.contextmanager
    def claim(self, account: str, key: str) -> Iterator[None]:
        """Holds the pair for the block; 409 (in flight) when another request holds it."""
        pair = (account, key)
        if pair in self._keys:
            raise in_flight_error()
        self._keys.add(pair)
        try:
            yield
        finally:
            self._keys.discard(pair)


class Idempotency:
    """Runs a write once per (account, key), inside the caller's write transaction."""

    def __init__(self, *, postgres: bool) -> None:
        self._postgres = postgres
        self._last_purge = 0.0

    def run(
        self, conn: Connection, account: str, key: str, digest: str, op: Callable[[Connection], str]
    ) -> tuple[str, bool]:
        """(answer, replayed): the stored answer for a repeat, else `op(conn)`'s, stored with it.

        The answer is stored in the same transaction as the write, so a crash leaves both or neither.
        """
        now = time.time()
        if self._postgres:
            lock = hashlib.sha256(f"{account}\x00{key}".encode("utf-8", "surrogatepass")).digest()
            got = _try_lock.one(conn, {"k": int.from_bytes(lock[:8], "big", signed=True)})
            if not (got and got[0]):
                raise in_flight_error()
        stored = _get.one(conn, {"account": account, "key": key})
        if stored is not None:
            stored_hash, stored_body, created_at = stored
            if created_at >= now - IDEMPOTENCY_TTL_S:
                if stored_hash != digest:
                    # 409, not 422: the request is valid, the key's state conflicts with it (a key
                    # drawn twice by chance is not a malformed request).
                    raise ApiError(
                        409, "this Idempotency-Key was used for a different request: use a new key per request"
                    )
                return str(stored_body), True
            _delete.run(conn, {"account": account, "key": key})
        body = op(conn)
        _insert.run(
            conn,
            {
                "account": account,
                "key": key,
                "request_hash": digest,
                "status_code": 200,
                "body": body,
                "created_at": now,
            },
        )
        if now - self._last_purge > _PURGE_EVERY_S:
            self._last_purge = now
            _purge.run(conn, {"before": now - IDEMPOTENCY_TTL_S})
        return body, False
