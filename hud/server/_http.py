"""Request plumbing shared by the API's endpoints: bodies, query parameters, error answers."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hud._wire import SHOULD_RETRY_HEADER
from hud.server._check import damage_detail, is_damage
from hud.server._errors import ApiError
from hud.server._render import dumps

__all__ = ["JSON", "check_query", "damaged", "error_response", "http_error", "read_body", "unexpected"]

logger = logging.getLogger("hud.server")

JSON = "application/json"


def error_response(exc: ApiError) -> Response:
    """The answer for an ApiError."""
    return Response(exc.body(), status_code=exc.status_code, media_type=JSON, headers=exc.headers)


def damaged(exc: BaseException) -> ApiError:
    """The 500 for a damaged database: says what to do, and that no retry can fix it."""
    return ApiError(500, damage_detail(exc), {SHOULD_RETRY_HEADER: "false"})


def unexpected(request: Request, exc: Exception) -> Response:
    """500 that says what to do for a damaged database; 503 for a database that cannot answer now,
    else a logged 500 that reveals nothing."""
    if is_damage(exc):
        logger.error("the database is damaged (%s %s): %s", request.method, request.url.path, exc)
        return error_response(damaged(exc))
    if isinstance(exc, OperationalError):
        logger.warning("database error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(ApiError(503, "the database is unavailable or busy: retry shortly", {"Retry-After": "1"}))
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ApiError(500, "internal server error: the server's log has the details"))


async def http_error(_request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no such path, method) in the API's `{"detail"}` form."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        detail = "method not allowed on this path: see /openapi.yaml for the operations"
    elif exc.status_code == 404:
        detail = "no such path: see /openapi.yaml for the operations"
    else:
        detail = str(exc.detail)
    return Response(
        dumps({"detail": detail}).encode(), status_code=exc.status_code, media_type=JSON, headers=exc.headers
    )


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, at most `max_bytes` (413 beyond); a body must say it is JSON (415 otherwise).

    `Content-Type: application/json` is required, not assumed: a web page on another origin can send
    a body without a preflight only as text/plain, a form or with no type at all (`fetch(url,
    {mode: "no-cors", body: new Blob([json])})`), so those never reach a server without keys.
    """
    length = request.headers.get("content-length")
    has_body = (length is not None and length.strip() not in ("", "0")) or "transfer-encoding" in request.headers
    if has_body:
        _check_json(request.headers.get("content-type"))
    too_large = ApiError(413, f"the request body is over {max_bytes} bytes: send less per request")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    # Content-Length can be absent (chunked) or lie: count what actually arrives.
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _check_json(content_type: str | None) -> None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == JSON or (media.startswith("application/") and media.endswith("+json")):
        return
    sent = f"not {media!r}" if media else "none was sent"
    raise ApiError(415, f"the body must be JSON with the header Content-Type: application/json ({sent})")


def check_query(request: Request, allowed: frozenset[str]) -> None:
    """422 for a query parameter the operation does not take."""
    # A misspelt parameter (?limt=5) is refused rather than silently ignored, like unknown body fields.
    if not request.scope.get("query_string"):
        return
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) if allowed else "none"
        raise ApiError(422, f"unknown query parameter(s) {', '.join(unknown)}: this operation takes {takes}")
