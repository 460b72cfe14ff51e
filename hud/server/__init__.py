"""The reference server of the HUD Jobs API (openapi.yaml), on SQLite or PostgreSQL.

Run it in-process (the SDK's embedded default does, through `httpx.ASGITransport`) or over HTTP
with `hud server`. Manage API keys with `create_key`, `revoke_key` and `list_keys`, or `hud keys`.

Example:
    >>> from hud.server import create_app, create_key  # doctest: +SKIP
    >>> key = create_key("sqlite:///hud.db", "team-a")  # doctest: +SKIP
    >>> app = create_app("sqlite:///hud.db")  # doctest: +SKIP
"""

from hud.server._app import create_app
from hud.server._db import dispose
from hud.server._keys import KeyInfo, create_key, list_keys, revoke_key
from hud.server._migrations import SchemaTooNewError

__all__ = ["KeyInfo", "SchemaTooNewError", "create_app", "create_key", "dispose", "list_keys", "revoke_key"]
