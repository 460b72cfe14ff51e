"""Dashboard sign-ins: a random session id in the browser's cookie, only its SHA-256 in the database.

Signing in with an API key starts a session of that key; the cookie never holds the key, so a stolen
cookie is not an API credential, and it stops working when the session ends: on sign-out, after
`SESSION_TTL_S`, or as soon as its key is revoked (every lookup joins the key's row; `revoke_key` also
deletes the key's sessions). Expired rows are deleted a few at a time when someone signs in.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import Connection, bindparam, delete, insert, select

from hud.server._sql import Statement
from hud.server._tables import api_keys, dashboard_sessions

__all__ = ["SESSION_TTL_S", "account_of_session", "end_session", "start_session"]

#: A sign-in lasts a week at most; then the browser signs in again.
SESSION_TTL_S = 7 * 24 * 3600
_PURGE_BATCH = 100

_valid_key = Statement(
    select(api_keys.c.id, api_keys.c.account).where(
        api_keys.c.key_hash == bindparam("h"), api_keys.c.revoked_at.is_(None)
    )
)
_account = Statement(
    select(dashboard_sessions.c.account)
    .join(api_keys, api_keys.c.id == dashboard_sessions.c.key_id)
    .where(
        dashboard_sessions.c.id_hash == bindparam("h"),
        dashboard_sessions.c.expires_at > bindparam("now"),
        api_keys.c.revoked_at.is_(None),
    )
)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(conn: Connection, key_hash: str) -> tuple[str, str] | None:
    """A new session of the valid key whose hash is `key_hash`: (session id, account), or None.

    Run in a write transaction. The session id is returned this once; only its hash is stored.
    """
    row = _valid_key.one(conn, {"h": key_hash})
    if row is None:
        return None
    key_id, account = str(row[0]), str(row[1])
    now = time.time()
    expired = select(dashboard_sessions.c.id_hash).where(dashboard_sessions.c.expires_at <= now).limit(_PURGE_BATCH)
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.id_hash.in_(expired.scalar_subquery())))
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        insert(dashboard_sessions).values(
            id_hash=_digest(session_id), key_id=key_id, account=account, created_at=now, expires_at=now + SESSION_TTL_S
        )
    )
    return session_id, account


def account_of_session(conn: Connection, session_id: str) -> str | None:
    """The account of a live session (not expired, its key not revoked), or None."""
    row = _account.one(conn, {"h": _digest(session_id), "now": time.time()})
    return None if row is None else str(row[0])


def end_session(conn: Connection, session_id: str) -> None:
    """Ends a session (sign-out); ending an unknown or ended one is harmless. Run in a write transaction."""
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.id_hash == _digest(session_id)))
