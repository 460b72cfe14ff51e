"""API keys: created once in plaintext, stored as SHA-256 hashes only."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from hud.server._auth import forget_cached_keys, hash_key
from hud.server._db import get_engine, write_engine
from hud.server._tables import api_keys, dashboard_sessions

__all__ = ["KEY_PREFIX", "KeyInfo", "create_key", "list_keys", "revoke_key"]

KEY_PREFIX = "hud_"
MAX_ACCOUNT_LENGTH = 256


@dataclasses.dataclass(frozen=True, slots=True)
class KeyInfo:
    """What the server knows about an API key; never the key itself.

    Attributes:
        id: The key's id, safe to show and to pass to `revoke_key`.
        account: The account the key acts as.
        created_at: When the key was created (UTC).
        revoked_at: When the key was revoked, or None while it is valid.
    """

    id: str
    account: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_at is not None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def create_key(database_url: str, account: str) -> str:
    """Creates an API key for `account` and returns it; only its hash is stored.

    The plaintext is returned this once and cannot be recovered later: hand it to its user now.

    Args:
        database_url: The server's database, e.g. `sqlite:///home/me/.hud/hud.db`.
        account: The account the key acts as (1 to 256 characters, no NUL). Objects created with
            the key belong to this account; every key of the account sees them.

    Returns:
        The key, `hud_` followed by 43 random URL-safe characters.

    Raises:
        ValueError: `account` is empty, too long or contains NUL.

    Example:
        >>> key = create_key("sqlite:///hud.db", "team-a")  # doctest: +SKIP
    """
    if not account or len(account) > MAX_ACCOUNT_LENGTH or "\x00" in account:
        raise ValueError(f"account must be 1 to {MAX_ACCOUNT_LENGTH} characters without NUL")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(8)
    with write_engine(get_engine(database_url)).begin() as conn:
        conn.execute(
            api_keys.insert().values(
                id=key_id, account=account, key_hash=hash_key(key), created_at=_now(), revoked_at=None
            )
        )
    return key


def _info(row: object) -> KeyInfo:
    revoked = getattr(row, "revoked_at", None)
    return KeyInfo(
        id=str(getattr(row, "id", "")),
        account=str(getattr(row, "account", "")),
        created_at=datetime.fromisoformat(str(getattr(row, "created_at", ""))),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )


def revoke_key(database_url: str, key_or_id: str) -> KeyInfo:
    """Revokes a key, given either the key itself or its id; revoking twice is harmless.

    Requests with a revoked key answer 401 from then on (servers in other processes notice
    within a second: they cache valid keys that long); the dashboard sessions it signed in end at once.

    Args:
        database_url: The server's database.
        key_or_id: The plaintext key (`hud_...`) or the key's id (`key_...`, see `list_keys`).

    Returns:
        The revoked key's `KeyInfo`.

    Raises:
        LookupError: No key matches `key_or_id`.
    """
    column = api_keys.c.key_hash if key_or_id.startswith(KEY_PREFIX) else api_keys.c.id
    value = hash_key(key_or_id) if key_or_id.startswith(KEY_PREFIX) else key_or_id
    with write_engine(get_engine(database_url)).begin() as conn:
        conn.execute(update(api_keys).where(column == value, api_keys.c.revoked_at.is_(None)).values(revoked_at=_now()))
        row = conn.execute(select(api_keys).where(column == value)).first()
        if row is not None:  # its dashboard sign-ins end with it
            conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.key_id == row.id))
    forget_cached_keys()
    if row is None:
        raise LookupError("no API key matches that key or id: see `hud keys list` for the ids")
    return _info(row)


def list_keys(database_url: str, account: str | None = None) -> list[KeyInfo]:
    """The keys of the database (or of one account), oldest first, without the keys themselves.

    Args:
        database_url: The server's database.
        account: Only the keys of this account; None for all.
    """
    query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
    if account is not None:
        query = query.where(api_keys.c.account == account)
    with get_engine(database_url).connect() as conn:
        return [_info(row) for row in conn.execute(query)]
