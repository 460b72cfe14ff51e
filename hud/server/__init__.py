"""The reference server of the HUD Jobs API (openapi.yaml), on SQLite or PostgreSQL.

Run it in-process (the SDK's embedded default does, through `httpx.ASGITransport`) or over HTTP
with `hud server`. Manage API keys with `create_key`, `revoke_key` and `list_keys`, or `hud keys`.

Layout, one module per responsibility (a request goes down this list):

- `_connections.py` (`hud server` only): uvicorn's HTTP protocol with connection limits (idle, slow and
  oversized requests, room under the open-file limit).
- `_middleware.py`: which requests are answered at all (a server without keys: loopback Host, no
  cross-site writes) and how many at once (503 beyond).
- `_app.py`: routes and endpoints: authenticate, then parse, then run the operation.
- `_auth.py`: the bearer key -> account (hashed keys, a one-second cache); `_keys.py` manages keys.
- `_http.py`: bodies (JSON only, size limit), query parameters, error answers.
- `_requests.py`: strict JSON (bounded values, off the event loop when large) and the body models;
  `_import_body.py`: the body of `POST /v2/import` (records copied by `hud sync`).
- `_cursors.py`: paging cursors (positions, in the format openapi.yaml states).
- `_operations/`: the operations, plain functions on a connection (`jobs`, `environments`,
  `trajectories`: answers planned from stored sizes and written in pieces of bounded size; `imports`;
  `leases` and `scoring` as SQL); `_render.py`: their JSON answers.
- `_idempotency.py`: Idempotency-Key replay, in the operation's own transaction (large answers kept
  as a reference); expired keys purged in small batches off the request path.
- `_check.py`: damaged databases: recognised (a 500 no retry can fix), probed (health), checked
  (`hud server --check-db`, and at start).
- `_transactions.py`: where a transaction runs (`_writer.py`: SQLite's one writer thread with group
  commit; PostgreSQL: a pool thread per write).
- `_db.py` engines, `_tables.py` tables, `_migrations.py` versioned DDL, `_sql.py` precompiled statements.
- `_dashboard.py` (HTTP) and `_dashboard_pages.py` (queries) under `/ui/`, `_sessions.py` its sign-ins;
  `_settings.py`: `HUD_SERVER_*`.

What the server shares with the SDK lives in `hud._wire`; it imports nothing else of the SDK.

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
