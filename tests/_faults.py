"""Faults injected into the embedded server: chosen requests answered with an error status instead.

Usage (in a test, with the `embedded` fixture and HUD_MAX_RETRIES=0 so that one answer is final):

    faults = inject(monkeypatch, "POST", "/v2/create_environment", [503, 503])  # the first two
    ...
    assert faults.answered == [503, 503]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import hud._embedded

__all__ = ["Faults", "inject"]


class Faults:
    """ASGI middleware: the next requests of `method` to `path` get `statuses`, in order; then the app answers.

    Attributes:
        answered: The statuses answered so far instead of the app.
    """

    def __init__(self, app: Any, method: str, path: str, statuses: list[int]) -> None:
        self.app = app
        self.method = method
        self.path = path
        self.pending = list(statuses)
        self.answered: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == self.method and scope["path"] == self.path and self.pending:
            status = self.pending.pop(0)
            self.answered.append(status)
            body = json.dumps({"detail": f"injected {status}"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def inject(monkeypatch: pytest.MonkeyPatch, method: str, path: str, statuses: list[int]) -> Faults:
    """Routes the embedded default's requests through `Faults` (clients made after this call)."""
    original = hud._embedded.transport
    faults: Faults | None = None

    def transport(database: Path) -> httpx.AsyncBaseTransport:
        nonlocal faults
        made = original(database)
        assert isinstance(made, httpx.ASGITransport)
        if faults is None:
            faults = Faults(made.app, method, path, statuses)
        made.app = faults
        return made

    monkeypatch.setattr(hud._embedded, "transport", transport)
    # Built now so that the caller holds it even before the first client is made.
    database = hud.get_settings().database_path
    transport(database)
    assert faults is not None
    return faults
