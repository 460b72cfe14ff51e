"""The errors the server's code raises to answer a request: `{"detail": ...}` with a status."""

from __future__ import annotations

import json

from hud._wire import IN_FLIGHT_HEADER

__all__ = ["ApiError", "NotFound", "in_flight_error", "unauthorized"]


class ApiError(Exception):
    """An error answer: `{"detail": ...}` with a 4xx/5xx status."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def body(self) -> bytes:
        """The JSON body of the answer."""
        return json.dumps({"detail": self.detail}, ensure_ascii=False).encode("utf-8")


class NotFound(ApiError):
    """404 for an object that is not in the caller's account (or does not exist: the same answer)."""

    def __init__(self, what: str, value: str) -> None:
        super().__init__(404, f"no {what} {value!r} in this account: check the id and the API key")


def unauthorized(detail: str) -> ApiError:
    """A 401 with the `WWW-Authenticate: Bearer` challenge."""
    return ApiError(401, detail, {"WWW-Authenticate": "Bearer"})


def in_flight_error() -> ApiError:
    """The 409 for a request whose Idempotency-Key another request is still processing."""
    return ApiError(
        409,
        "a request with this Idempotency-Key is still in flight: retry after it finishes",
        {IN_FLIGHT_HEADER: "true"},
    )
