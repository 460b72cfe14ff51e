"""The embedded default: the reference server, in-process, on a SQLite file in the HUD home folder."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import httpx

__all__ = ["EMBEDDED_BASE_URL", "EMBEDDED_TOKEN", "transport"]

logger = logging.getLogger("hud")

#: Requests never leave the process; the host only has to be a valid URL.
EMBEDDED_BASE_URL = "http://hud.embedded"
#: The embedded server needs no key; this placeholder fills the Authorization header it ignores.
EMBEDDED_TOKEN = "embedded"  # noqa: S105 - not a secret: the embedded server ignores it


@functools.cache
def _app(database: Path) -> Any:
    # Imported here: a remote-only user never pays for the server's imports.
    from hud.server import create_app

    # The HUD home folder is private (0700) when created here; the server makes the file 0600.
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    logger.info(
        "hud: no HUD_API_KEY or HUD_BASE_URL set; using the embedded local server on %s "
        "(set HUD_BASE_URL and HUD_API_KEY to use a server or the platform)",
        database,
    )
    # Requests carry the made-up host of EMBEDDED_BASE_URL: the app answers it (a server without keys
    # answers only loopback names otherwise); no socket ever serves this app.
    return create_app(f"sqlite:///{database}", auth=False, allowed_hosts=(httpx.URL(EMBEDDED_BASE_URL).host,))


def transport(database: Path) -> httpx.AsyncBaseTransport:
    """An ASGI transport to the embedded server on `database` (the app is built once per file)."""
    # raise_app_exceptions=False: a server bug reaches the caller as a 500, hence a typed ServerError.
    return httpx.ASGITransport(app=_app(database.expanduser().resolve()), raise_app_exceptions=False)
