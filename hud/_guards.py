"""What the SDK does not take on trust from an answer: its size, its compression, a redirect, plain HTTP.

`hud._api` wires these into every client it makes (`bounded` is an httpx response hook) and into
`_send` (`AnswerTooLarge` and 3xx answers become `hud.errors`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx

from hud._constants import MAX_ANSWER_BYTES
from hud._terminal import printable
from hud._wire import is_loopback_host
from hud.errors import InvalidRequestError, ServerError

__all__ = ["IDENTITY", "AnswerTooLarge", "bounded", "redirected", "too_large", "warn_plain_http"]

logger = logging.getLogger("hud")

#: The request header asking for uncompressed answers (see `bounded`).
IDENTITY = {"Accept-Encoding": "identity"}


class AnswerTooLarge(Exception):
    """An answer refused before or while reading it; `str()` says why."""


class _CappedStream(httpx.AsyncByteStream):
    """An answer's body that stops with `AnswerTooLarge` once past MAX_ANSWER_BYTES."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._stream:
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise AnswerTooLarge(f"over {MAX_ANSWER_BYTES} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


async def bounded(response: httpx.Response) -> None:
    """A response hook, run before the body is read: refuse what is declared too large, cap the rest.

    Compressed answers are refused: the SDK asks for none (`IDENTITY`), and a few megabytes of gzip
    can unpack to gigabytes past any cap on what arrives.
    """
    length = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        await response.aclose()
        raise AnswerTooLarge(f"{length} bytes")
    if encoding not in ("", "identity"):
        await response.aclose()
        raise AnswerTooLarge(f"compressed ({printable(encoding[:40])}) although the SDK asked for no compression")
    assert isinstance(response.stream, httpx.AsyncByteStream)
    response.stream = _CappedStream(response.stream)


def too_large(operation: str, exc: AnswerTooLarge) -> ServerError:
    """The error for an answer `bounded` refused."""
    return ServerError(
        200,
        f"the answer is {exc}; the SDK reads answers of at most {MAX_ANSWER_BYTES} bytes, uncompressed: "
        "ask for smaller pages (page_size=), and check what answers at this address (a proxy that compresses?)",
        operation=operation,
    )


def redirected(operation: str, response: httpx.Response) -> InvalidRequestError:
    """The error for a 3xx: where it pointed, and that HUD_BASE_URL should say so."""
    location = response.headers.get("location")
    target = printable(str(response.request.url.join(location))[:2000]) if location else "nowhere (no Location)"
    return InvalidRequestError(
        response.status_code,
        f"the server redirects to {target} instead of answering: set HUD_BASE_URL to the address it "
        "redirects to (often https:// for http://). Redirects are not followed, so the API key only goes "
        "where HUD_BASE_URL says",
        operation=operation,
    )


_warned_plain_http: set[str] = set()


def warn_plain_http(base_url: str) -> None:
    """Warn once per host, in the `hud` log, when the API key would travel unencrypted to another machine."""
    url = httpx.URL(base_url)
    host = url.host
    if url.scheme != "http" or is_loopback_host(host) or host in _warned_plain_http:
        return
    _warned_plain_http.add(host)
    logger.warning(
        "hud: the API key goes over plain HTTP to %s, readable on every network it crosses: serve the "
        "server over TLS (a reverse proxy) and set HUD_BASE_URL=https://%s",
        host,
        url.netloc.decode("ascii", "replace") + url.raw_path.decode("ascii", "replace").rstrip("/"),
    )
