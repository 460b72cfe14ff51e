"""Who is calling: the bearer key of a request, checked before its body is read.

Keys are stored as SHA-256 hashes (`_keys.py`). A valid key's account is cached in this process for
at most `CACHE_TTL_S`, so a busy client costs one lookup a second rather than one per request; a key
revoked in this process stops working at once, one revoked by another process within that second.
Unknown keys are never cached: each costs one indexed lookup on a pool thread. Concurrent requests
with the same uncached key share one lookup, and resume in the order they arrived.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time

from sqlalchemy import Connection, bindparam, select
from starlette.requests import Request

from hud.server._errors import unauthorized
from hud.server._sql import Statement
from hud.server._tables import api_keys
from hud.server._transactions import Transactions

__all__ = ["CACHE_TTL_S", "LOCAL_ACCOUNT", "Authenticator", "bearer_token", "forget_cached_keys", "hash_key"]

#: The account every request acts as when auth is off (`hud ui`, the embedded default, `--no-auth`).
LOCAL_ACCOUNT = "local"
CACHE_TTL_S = 1.0
_CACHE_MAX = 10_000

# Keys are 256-bit random tokens, so a fast unsalted hash cannot be brute-forced; a slow KDF would
# only add latency to every request. The row is found by its hash through the index: what a timing
# of that lookup could reveal is about the hash of the presented key, not about any stored key.
_by_hash = Statement(
    select(api_keys.c.account).where(api_keys.c.key_hash == bindparam("h"), api_keys.c.revoked_at.is_(None))
)
# Bumped by every revocation in this process: cached accounts of an older generation are stale.
_generation = itertools.count()
_current_generation = next(_generation)


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def forget_cached_keys() -> None:
    """Drops every cached key of this process (called when a key is revoked)."""
    global _current_generation
    _current_generation = next(_generation)


def bearer_token(request: Request) -> str:
    """The key of `Authorization: Bearer <key>`; 401 when the header is missing or malformed."""
    header = request.headers.get("authorization")
    if header is None:
        raise unauthorized(
            "missing API key: send the header `Authorization: Bearer <key>` (set HUD_API_KEY); "
            "the server's admin creates keys with `hud keys create`"
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise unauthorized("malformed Authorization header: it must be `Bearer <key>` with the key after one space")
    return token


def _lookup(conn: Connection, digest: str) -> str | None:
    row = _by_hash.one(conn, {"h": digest})
    return None if row is None else str(row[0])


class Authenticator:
    """Maps a request's key to its account, with a short-lived cache of valid keys."""

    def __init__(self, transactions: Transactions, *, enabled: bool) -> None:
        self.enabled = enabled
        self._transactions = transactions
        self._cache: dict[str, tuple[str, float, int]] = {}
        self._lookups: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[str | None]] = {}

    async def account(self, request: Request) -> str:
        """The caller's account; 401 for a missing, malformed, unknown or revoked key."""
        if not self.enabled:
            return LOCAL_ACCOUNT
        account = await self.account_of_key(bearer_token(request))
        if account is None:
            raise unauthorized(
                "unknown or revoked API key: check HUD_API_KEY, or ask the server's admin for a key "
                "(`hud keys create --db URL --account NAME`)"
            )
        return account

    async def account_of_key(self, key: str) -> str | None:
        """The account of a valid, unrevoked key, or None."""
        if not self.enabled:
            return LOCAL_ACCOUNT
        digest = hash_key(key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now and cached[2] == _current_generation:
            return cached[0]
        generation = _current_generation
        loop = asyncio.get_running_loop()
        while (pending := self._lookups.get((loop, digest))) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request was cancelled
                # The request doing the lookup was cancelled: do it here.
        pending = self._lookups[(loop, digest)] = loop.create_future()
        try:
            account = await self._transactions.read(lambda conn: _lookup(conn, digest))
        except asyncio.CancelledError:
            pending.cancel()
            raise
        except BaseException as exc:
            pending.set_exception(exc)
            pending.exception()  # marked retrieved: waiters, if any, raise it themselves
            raise
        else:
            pending.set_result(account)
        finally:
            del self._lookups[(loop, digest)]
        if account is None:
            self._cache.pop(digest, None)
            return None
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[digest] = (account, now + CACHE_TTL_S, generation)
        return account
