"""The one exception the server's code raises to answer an error."""

from __future__ import annotations

import json

__all__ = ["ApiError"]


class ApiError(Exception):
    """An error answer: `{"detail": ...}` with a 4xx/5xx status."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def body(self) -> bytes:
        return json.dumps({"detail": self.detail}, ensure_ascii=False).encode("utf-8")
