"""Idempotency keys: the first answer per (account, key) is stored with the write it answers.

A retry with the same key and the same request gets that answer back (`Idempotency-Replayed: true`);
the same key with another request answers 409 (without that header: the key is taken, which no retry
changes); a retry while the first is still being processed answers 409 with `Idempotency-In-Flight:
true` (in this process: `InFlight`; across processes on PostgreSQL: an advisory lock; on SQLite the
write lock serialises them).

Rows stay small: an answer of up to `INLINE_BYTES` is kept as is; a larger one (a job's or an
environment's large metadata, a close with long logs) is kept as the id of the object it describes,
and a replay renders that object again (environments and trajectories never change once answered; a
job's replay shows its state now). Expired rows are deleted off the request path by `Purger`, a
small batch per write transaction, so the writes queued behind never wait for a large purge.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, delete, select, text, tuple_

from hud.server._db import start_background
from hud.server._errors import ApiError, in_flight_error
from hud.server._sql import Statement
from hud.server._tables import idempotency_keys

if TYPE_CHECKING:
    from hud.server._transactions import Transactions

__all__ = [
    "IDEMPOTENCY_TTL_S",
    "INLINE_BYTES",
    "PURGE_BATCH",
    "Idempotency",
    "InFlight",
    "Purger",
    "Replay",
    "request_hash",
]

logger = logging.getLogger("hud.server")

#: How long a first answer is kept for replay.
IDEMPOTENCY_TTL_S = 24 * 3600
#: Answers up to this size are stored as they are; larger ones as the id of their object.
INLINE_BYTES = 4096
#: Expired rows deleted per write transaction by the purger.
PURGE_BATCH = 500
_PURGE_EVERY_S = 300.0

#: Renders the answer about one object again: `replay(conn, account, object_id) -> JSON text`.
Replay = Callable[[Connection, str, str], str]

_k = idempotency_keys.c
_get = Statement(
    select(_k.request_hash, _k.body, _k.created_at, _k.ref_id).where(
        _k.account == bindparam("account"), _k.key == bindparam("key")
    )
)
_delete = Statement(delete(idempotency_keys).where(_k.account == bindparam("account"), _k.key == bindparam("key")))
_insert = Statement(idempotency_keys.insert())
# A batch of the oldest expired rows, found through the created_at index.
_purge_batch = Statement(
    delete(idempotency_keys).where(
        tuple_(_k.account, _k.key).in_(
            select(_k.account, _k.key)
            .where(_k.created_at < bindparam("before"))
            .order_by(_k.created_at)
            .limit(bindparam("n"))
            .offset(bindparam("skip"))  # explicit: SQLite renders an OFFSET for a bound LIMIT anyway
        )
    )
)
_ID_PREFIX = '{"id":'


def _answer_id(body: str) -> str | None:
    """The object id an answer starts with (every write answer is an object with its id first)."""
    if not body.startswith(_ID_PREFIX):
        return None
    try:
        value, _end = json.JSONDecoder().raw_decode(body, len(_ID_PREFIX))
    except ValueError:
        return None
    return value if isinstance(value, str) else None


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

    def run(
        self,
        conn: Connection,
        account: str,
        key: str,
        digest: str,
        op: Callable[[Connection], str],
        replay: Replay | None = None,
    ) -> tuple[str, bool]:
        """(answer, replayed): the stored answer for a repeat, else `op(conn)`'s, stored with it.

        The answer is stored in the same transaction as the write, so a crash leaves both or neither.
        With `replay`, an answer over INLINE_BYTES is stored as its object's id and replayed through it.
        """
        now = time.time()
        if self._postgres:
            lock = hashlib.sha256(f"{account}\x00{key}".encode("utf-8", "surrogatepass")).digest()
            got = _try_lock.one(conn, {"k": int.from_bytes(lock[:8], "big", signed=True)})
            if not (got and got[0]):
                raise in_flight_error()
        stored = _get.one(conn, {"account": account, "key": key})
        if stored is not None:
            stored_hash, stored_body, created_at, ref_id = stored
            if created_at >= now - IDEMPOTENCY_TTL_S:
                if stored_hash != digest:
                    # 409, not 422: the request is valid, the key's state conflicts with it (a key
                    # drawn twice by chance is not a malformed request).
                    raise ApiError(
                        409, "this Idempotency-Key was used for a different request: use a new key per request"
                    )
                if ref_id is not None and replay is not None:
                    return replay(conn, account, str(ref_id)), True
                return str(stored_body), True
            _delete.run(conn, {"account": account, "key": key})
        body = op(conn)
        ref = _answer_id(body) if replay is not None and len(body) > INLINE_BYTES else None
        _insert.run(
            conn,
            {
                "account": account,
                "key": key,
                "request_hash": digest,
                "status_code": 200,
                "body": "" if ref is not None else body,
                "created_at": now,
                "ref_id": ref,
            },
        )
        return body, False


class Purger:
    """Deletes expired idempotency rows in the background, `PURGE_BATCH` rows per write transaction.

    `poke()` (after each idempotent write) starts a purge at most every five minutes, on a thread of
    its own; each batch queues behind the writes already waiting, so none waits for more than one
    small batch, however many rows have expired.
    """

    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions
        self._lock = threading.Lock()
        self._running = False
        self._last = -_PURGE_EVERY_S

    def poke(self) -> None:
        """Starts a purge when none ran for five minutes (and none runs now)."""
        now = time.monotonic()
        if self._running or now - self._last < _PURGE_EVERY_S:
            return
        with self._lock:
            if self._running or now - self._last < _PURGE_EVERY_S:
                return
            self._running, self._last = True, now
        start_background(self._tx.engine, self._purge, "hud-idempotency-purge")

    def _purge(self) -> None:
        try:
            before = time.time() - IDEMPOTENCY_TTL_S
            params = {"before": before, "n": PURGE_BATCH, "skip": 0}
            while self._tx.write_blocking(lambda conn: _purge_batch.run(conn, params)) >= PURGE_BATCH:
                pass
        except Exception as exc:  # the next poke tries again; requests never see this
            logger.warning("hud: deleting expired idempotency keys failed (retried later): %s", exc)
            self._last = time.monotonic() - _PURGE_EVERY_S + 30
        finally:
            self._running = False
