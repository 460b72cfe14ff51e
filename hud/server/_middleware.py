"""ASGI middleware around the API and the dashboard: which requests are answered at all, and how many.

`LocalOnly` guards a server without API keys (`hud ui`, `hud server --no-auth`), which any web page the
user visits could otherwise drive through the browser:

- The Host header must name this machine (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`) or a name
  the operator allowed (`allowed_hosts`), else 400. A page that rebinds its own domain to 127.0.0.1 (DNS
  rebinding) is then same-origin with the server in the browser's eyes, but its requests still carry
  its own domain as Host: refused, so it can read nothing.
- A browser's cross-site request that may change something (not GET, HEAD or OPTIONS) is refused with
  403 (`is_cross_origin`: the browser's own `Sec-Fetch-Site`, else `Origin`).
- And every request body must be `Content-Type: application/json` (415, in `_http.read_body`): a page
  on another origin can send that only after a CORS preflight, which this server never grants.

`ConcurrencyLimit` bounds the requests in progress in a process: one more is answered 503 with
`Retry-After: 1` at once (the SDK retries it), instead of queueing without bound.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hud._wire import is_loopback_host
from hud.server._render import dumps

__all__ = ["ConcurrencyLimit", "LocalOnly", "host_name", "is_cross_origin"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def host_name(host: str) -> str:
    """The name or address of a Host header value, without port or IPv6 brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def is_cross_origin(method: str, headers: Headers) -> bool:
    """Whether a browser sent this request, which may change something, from another origin.

    The browser's `Sec-Fetch-Site` decides when present (pages cannot set it; it compares the page's
    origin with the URL the browser requested, so it holds behind a proxy that rewrites Host).
    Without it (browsers before 2023), an `Origin` must match the Host, or the `X-Forwarded-Host` of
    a proxy (a cross-site page cannot set that header on a browser's request). No `Origin` at all is
    not a browser's cross-origin request.
    """
    if method in _SAFE_METHODS:
        return False
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    netloc = urlsplit(origin.strip()).netloc.lower()
    hosts = {headers.get("host", "").strip().lower(), headers.get("x-forwarded-host", "").strip().lower()}
    return not netloc or netloc not in hosts


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str, **headers: str) -> None:
    response = Response(dumps({"detail": detail}).encode(), status_code=status, media_type="application/json")
    response.headers.update(headers)
    await response(scope, receive, send)


class LocalOnly:
    """Answers only requests addressed to this machine (or `allowed_hosts`), and no cross-site writes.

    Args:
        app: The app to guard.
        allowed_hosts: More host names to answer besides loopback ones; `*` answers any.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Collection[str] = ()) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.allowed = frozenset(host_name(h) for h in allowed_hosts if h != "*")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if host is not None and not self.any_host:
            name = host_name(host)
            if not is_loopback_host(name) and name not in self.allowed:
                await _refuse(
                    scope,
                    receive,
                    send,
                    400,
                    f"this server has no API keys, so it answers only requests addressed to this machine "
                    f"(localhost, 127.0.0.1, [::1]), not to {host[:100]!r}: open it as http://127.0.0.1:PORT, "
                    "or let it answer that name (hud server --allow-host NAME), or require keys",
                )
                return
        if is_cross_origin(scope["method"], headers):
            await _refuse(
                scope,
                receive,
                send,
                403,
                "a web page of another site cannot write to this server without API keys: "
                "send the request from a program, or from the server's own pages",
            )
            return
        await self.app(scope, receive, send)


class ConcurrencyLimit:
    """At most `limit` requests in progress in this process; one more is answered 503 at once.

    A request is in progress until its answer is sent whole (a streamed listing included).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError("the concurrency limit must be positive")
        self.app = app
        self.limit = limit
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            await _refuse(
                scope,
                receive,
                send,
                503,
                f"the server is busy: {self.limit} requests are in progress, its limit "
                "(HUD_SERVER_MAX_CONCURRENT_REQUESTS): retry shortly",
                **{"Retry-After": "1"},
            )
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1
