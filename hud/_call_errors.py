"""The errors of a failed call: what went wrong, who answered (embedded, server, platform), what to do.

`hud._api` raises what these build; the raw generated client raises them too (`hud.client()`).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import time
from urllib.parse import urlsplit

import httpx

from hud._constants import MAX_DETAIL_CHARS
from hud._terminal import printable, shorten
from hud.errors import APIConnectionError, APIStatusError, APITimeoutError, ServerError, error_for_status
from hud.settings import Settings

__all__ = ["answer_detail", "retry_after_seconds", "status_error", "unreachable"]


def answer_detail(response: httpx.Response) -> str:
    """The server's explanation of an error answer, cut to MAX_DETAIL_CHARS, control characters escaped."""
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()
        detail = text or response.reason_phrase or "no detail given"
    if not isinstance(detail, str):
        detail = json.dumps(detail)
    return printable(shorten(detail, MAX_DETAIL_CHARS))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The seconds `Retry-After` asks for (delay-seconds or an HTTP date); None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (ValueError, TypeError, IndexError, OverflowError):
            return None  # a malformed header counts as absent: the SDK's own backoff applies
        if when.tzinfo is None:  # "-0000": UTC without claiming a zone (RFC 5322)
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):  # "nan" and "inf" parse as floats
        return None
    return max(0.0, seconds)


def _v2_suffix(settings: Settings) -> str | None:
    """HUD_BASE_URL without a trailing /v2 when it has one (requests would go to /v2/v2/...), else None."""
    base = settings.base_url
    if base is None or not urlsplit(base).path.rstrip("/").endswith("/v2"):
        return None
    return base.rstrip("/")[: -len("/v2")]


def _hint(settings: Settings, status_code: int) -> str | None:
    """What to do about an error status, when the settings explain it."""
    if status_code == 404 and (fixed := _v2_suffix(settings)) is not None:
        return f"HUD_BASE_URL ends in /v2 but the SDK adds /v2/... itself: set HUD_BASE_URL={fixed}"
    if status_code in (401, 403) and settings.target == "platform":
        return (
            "a key without HUD_BASE_URL goes to the HUD platform: for your own `hud server`, set HUD_BASE_URL "
            "too; else check HUD_API_KEY"
        )
    if status_code in (401, 403) and settings.target == "server":
        return "check HUD_API_KEY: the server accepts the keys `hud keys create` made on its database"
    return None


def status_error(settings: Settings, operation: str, response: httpx.Response) -> APIStatusError:
    """The `hud.errors` error for an answer that is not a success, naming who answered and the fix."""
    where = settings.target_description
    if response.status_code < 400:  # a success status the spec does not declare for the operation
        explanation = f"an answer with a status the API does not declare for {operation}"
        return ServerError(response.status_code, explanation, operation=operation, where=where)
    return error_for_status(
        response.status_code,
        answer_detail(response),
        operation=operation,
        retry_after=retry_after_seconds(response),
        where=where,
        hint=_hint(settings, response.status_code),
    )


def unreachable(
    settings: Settings, operation: str, exc: httpx.TransportError, attempts: int, elapsed: float
) -> APIConnectionError:
    """The error for a server that could not be reached or did not answer, after every attempt."""
    where = settings.target_description
    tried = f"{attempts} attempt{'s' if attempts != 1 else ''} over {elapsed:.1f} s"
    if settings.target == "platform":
        fix = "check the network; to use your own `hud server` instead, set HUD_BASE_URL"
    elif settings.target == "server":
        fix = f"check that the server is running (`hud server`) and that {settings.base_url_from} is its address"
    else:
        fix = "the embedded server failed: see the log above"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{operation}: no answer within {settings.timeout:g} s (HUD_TIMEOUT) from {where}: "
            f"{type(exc).__name__} ({tried}); raise HUD_TIMEOUT, or {fix}"
        )
    cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return APIConnectionError(f"{operation}: could not reach {where}: {cause} ({tried}); {fix}")
