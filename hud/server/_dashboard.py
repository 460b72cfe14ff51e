"""The dashboard: server-rendered HTML pages (`_dashboard_pages.py`), mounted under `/ui/`.

Access: without auth (`hud ui`, `hud server --no-auth`) every page shows the account `local`. With auth
the browser signs in once with an API key and gets a server-side session (`_sessions.py`): its cookie
holds a random session id, never the key; the session ends on sign-out, after a week, or when the key
is revoked. The cookie is HttpOnly and SameSite=Lax; over HTTPS it is `__Host-hud_session` (Secure,
Path=/, bound to this host), over plain HTTP `hud_session` scoped to `/ui`. The API never reads it.

Every failure, the database being down included, answers the dashboard's HTML error page with the
same security headers as every page (`_guarded`).
"""

from __future__ import annotations

import importlib.resources
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import jinja2
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from hud.server import _dashboard_pages as pages
from hud.server._auth import LOCAL_ACCOUNT, Authenticator, hash_key
from hud.server._check import damage_detail, is_damage
from hud.server._dashboard_analysis import compare_page
from hud.server._dashboard_view import View
from hud.server._errors import ApiError
from hud.server._middleware import is_cross_origin
from hud.server._sessions import account_of_session, end_session, start_session
from hud.server._sweeper import Sweeper
from hud.server._transactions import Transactions

__all__ = ["COOKIE", "LOGIN_COOKIE", "SECURE_COOKIE", "dashboard_mount"]

logger = logging.getLogger("hud.server")

#: The session cookie over plain HTTP (HttpOnly, SameSite=Lax, Path=/ui).
COOKIE = "hud_session"
#: The session cookie over HTTPS: the `__Host-` prefix makes browsers require Secure and Path=/ and
#: refuse it from another host or from a plain-HTTP page.
SECURE_COOKIE = "__Host-hud_session"
#: The sign-in form's anti-forgery token, also in a hidden field of the form (SameSite=Strict).
LOGIN_COOKIE = "hud_login"
_MAX_FORM_BYTES = 4096
_MAX_POSITION = 2**63 - 1

# Scripts and styles only from our own static files (so an injected <script> or style attribute would
# not run even if escaping failed); images also from anywhere, as observations are often remote URLs.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own form posts.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    # frame-ancestors above does the same for browsers that read CSP; this for those that do not.
    "X-Frame-Options": "DENY",
}
_STATIC = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}


def _fmt_reward(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _fmt_ci(value: tuple[float, float] | None, rate: bool = False) -> str:
    if value is None:
        return ""
    low, high = (_fmt_rate(v) if rate else _fmt_reward(v) for v in value)
    return f"{low} to {high}"


def _fmt_diff(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3g}"


def _fmt_p(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}"


def _fmt_time(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("hud.server", "templates"),
    autoescape=True,  # every value in a page is user data until proven otherwise
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(reward=_fmt_reward, rate=_fmt_rate, time=_fmt_time, ci=_fmt_ci, diff=_fmt_diff, p=_fmt_p)

# None: the job's lease ran out; its crash is persisted first, then the page is read again.
_Query = Callable[[Connection, str], pages.Page | None]


def _position(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > _MAX_POSITION:
        raise ApiError(400, f"the {name} parameter must be a whole number: follow the page's links")
    return int(raw)


class _Dashboard:
    def __init__(self, transactions: Transactions, auth: Authenticator, sweeper: Sweeper) -> None:
        self.tx = transactions
        self.auth = auth
        self.sweeper = sweeper

    def _render(self, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        context.setdefault("signed_in", self.auth.enabled)
        html = _env.get_template(template).render(context)
        return HTMLResponse(html, status_code=status_code, headers=_HEADERS)

    def _login_redirect(self) -> Response:
        response = RedirectResponse("/ui/login", status_code=303, headers=_HEADERS)
        _forget_cookies(response)
        return response

    async def _page(self, request: Request, build: Callable[[], _Query]) -> Response:
        session = _session_id(request)
        if self.auth.enabled and session is None:
            return self._login_redirect()
        query = build()

        def run(conn: Connection) -> tuple[str | None, pages.Page | None]:
            # The session is checked in the page's own read transaction: no second round trip.
            if not self.auth.enabled:
                account: str | None = LOCAL_ACCOUNT
            else:
                assert session is not None
                account = account_of_session(conn, session)
            return account, (None if account is None else query(conn, account))

        account, page = await self.tx.read(run)
        if account is None:
            return self._login_redirect()  # ended, expired or its key revoked: sign in again
        if page is None:  # a job past its lease: crashed first, then read again
            await self.sweeper.crash(account, request.path_params["job_id"])
            page = await self.tx.read(lambda conn: query(conn, account))
        if page is None:
            raise ApiError(503, "the job changed while it was read: reload the page")
        template, context = page
        return self._render(template, context)

    def guarded(self, endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """`endpoint`, answering the HTML error page for whatever it raises (never a bare text 500)."""

        async def run(request: Request) -> Response:
            try:
                return await endpoint(request)
            except ApiError as exc:
                return self._error(exc.status_code, exc.detail)
            except Exception as exc:
                return self._failed(request, exc)

        return run

    def _failed(self, request: Request, exc: Exception) -> Response:
        """The error page for an exception: damage (500, what to do), the database away (503), else 500."""
        if is_damage(exc):
            logger.error("dashboard: the database is damaged (%s): %s", request.url.path, exc)
            return self._error(500, damage_detail(exc))
        if isinstance(exc, OperationalError):
            logger.warning("dashboard: database error on %s: %s", request.url.path, exc)
            response = self._error(503, "the database is unavailable or busy: try again in a moment")
            response.headers["Retry-After"] = "1"
            return response
        logger.exception("dashboard: unexpected error on %s", request.url.path, exc_info=exc)
        return self._error(500, "internal server error: the server's log has the details")

    def _error(self, status_code: int, message: str, *, signed_in: bool | None = None) -> HTMLResponse:
        context = {"status_code": status_code, "message": message, "refresh": False}
        if signed_in is not None:
            context["signed_in"] = signed_in
        return self._render("error.html", context, status_code)

    async def job_list(self, request: Request) -> Response:
        def build() -> _Query:
            before = _position(request, "before") or None
            return lambda conn, account: pages.job_list(conn, account, before, self.sweeper.lease)

        return await self._page(request, build)

    async def job(self, request: Request) -> Response:
        def build() -> _Query:
            job_id, after = request.path_params["job_id"], _position(request, "after")
            view = View.from_query(request.query_params)
            return lambda conn, account: pages.job_page(conn, account, job_id, after, self.sweeper.lease, view)

        return await self._page(request, build)

    async def compare(self, request: Request) -> Response:
        def build() -> _Query:
            a, b = request.query_params.get("a"), request.query_params.get("b")
            if not a or not b:
                raise ApiError(400, "compare two jobs: /ui/compare?a=JOB_ID&b=JOB_ID (or use a job page's form)")
            return lambda conn, account: compare_page(conn, account, a, b, self.sweeper.lease)

        return await self._page(request, build)

    async def trajectory(self, request: Request) -> Response:
        def build() -> _Query:
            trajectory_id, start = request.path_params["trajectory_id"], _position(request, "start")
            return lambda conn, account: pages.trajectory_page(conn, account, trajectory_id, start)

        return await self._page(request, build)

    async def login(self, request: Request) -> Response:
        if not self.auth.enabled:
            return RedirectResponse("/ui/", status_code=303, headers=_HEADERS)
        if request.method == "GET":
            return self._login_form(request, failed=False)
        body = await _small_body(request)
        if body is None:
            return self._error(413, "the form is too large", signed_in=False)
        form = parse_qs(body.decode("utf-8", "replace"))
        # A form of our own login page carries the token of its cookie (SameSite=Strict: never sent
        # with another site's post), which holds wherever a proxy points Host; else the request's
        # origin must be ours.
        token, sent = request.cookies.get(LOGIN_COOKIE), (form.get("token") or [""])[0]
        own_form = bool(token) and secrets.compare_digest(token or "", sent)
        if not own_form and is_cross_origin(request.method, request.headers):
            return self._error(403, "cross-site sign-in refused", signed_in=False)
        key = (form.get("key") or [""])[0].strip()
        started: tuple[str, str] | None = None
        # The key is checked like an API key (a read) before anything is written for it.
        if key and key.isascii() and " " not in key and await self.auth.account_of_key(key) is not None:
            started = await self.tx.write(lambda conn: start_session(conn, hash_key(key)))
        if started is None:
            # The submitted key is never echoed back, nor logged.
            return self._login_form(request, failed=True)
        response = RedirectResponse("/ui/", status_code=303, headers=_HEADERS)
        _forget_cookies(response)
        response.delete_cookie(LOGIN_COOKIE, path="/ui/login")
        if request.url.scheme == "https":
            response.set_cookie(SECURE_COOKIE, started[0], httponly=True, samesite="lax", secure=True, path="/")
        else:
            response.set_cookie(COOKIE, started[0], httponly=True, samesite="lax", path="/ui")
        return response

    def _login_form(self, request: Request, *, failed: bool) -> Response:
        token = secrets.token_urlsafe(24)
        context = {"failed": failed, "refresh": False, "signed_in": False, "token": token}
        response = self._render("login.html", context, 401 if failed else 200)
        secure = request.url.scheme == "https"
        response.set_cookie(
            LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=secure, path="/ui/login"
        )
        return response

    async def logout(self, request: Request) -> Response:
        session = _session_id(request)
        # Without the browser's Sec-Fetch-Site (plain HTTP), a session cookie (SameSite=Lax: never sent
        # with another site's post) shows the form is ours wherever a proxy points Host.
        ours = session is not None and "sec-fetch-site" not in request.headers
        if not ours and is_cross_origin(request.method, request.headers):
            return self._error(403, "cross-site sign-out refused")
        if session is not None and self.auth.enabled:
            await self.tx.write(lambda conn: end_session(conn, session))
        return self._login_redirect()

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        media = _STATIC.get(name)
        if media is None:
            return self._error(404, "no such file")
        content = (importlib.resources.files("hud.server") / "static" / name).read_bytes()
        return Response(content, media_type=media, headers={**_HEADERS, "Cache-Control": "no-cache"})

    async def not_found(self, _request: Request) -> Response:
        return self._error(404, "no such page")


def _session_id(request: Request) -> str | None:
    """The session id of the request's cookie: the HTTPS one first (no plain-HTTP page can set it)."""
    for name in (SECURE_COOKIE, COOKIE):
        value = request.cookies.get(name)
        if value and len(value) <= 128:
            return value
    return None


def _forget_cookies(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/ui")
    response.delete_cookie(SECURE_COOKIE, path="/", secure=True)


async def _small_body(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def dashboard_mount(transactions: Transactions, auth: Authenticator, sweeper: Sweeper) -> Mount:
    """The dashboard's routes under `/ui`, reading through `transactions` with the API's account rules."""
    ui = _Dashboard(transactions, auth, sweeper)
    routes = [
        Route("/", ui.guarded(ui.job_list), methods=["GET"]),
        Route("/jobs/{job_id}", ui.guarded(ui.job), methods=["GET"]),
        Route("/compare", ui.guarded(ui.compare), methods=["GET"]),
        Route("/trajectories/{trajectory_id}", ui.guarded(ui.trajectory), methods=["GET"]),
        Route("/login", ui.guarded(ui.login), methods=["GET", "POST"]),
        Route("/logout", ui.guarded(ui.logout), methods=["POST"]),
        Route("/static/{name}", ui.guarded(ui.static), methods=["GET"]),
        Route("/{rest:path}", ui.guarded(ui.not_found)),
    ]
    return Mount("/ui", routes=list(routes))
