"""The dashboard: server-rendered HTML pages (`_dashboard_pages.py`), mounted under `/ui/`.

Access: without auth (`hud ui`, `hud server --no-auth`) every page shows the account `local`. With auth
the browser signs in once with an API key, kept in an HttpOnly cookie scoped to `/ui` and checked on
every request exactly as the API checks a bearer key (so revoking the key signs the browser out). The
API itself never reads that cookie, so the cookie cannot be used to write through the API.
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from hud.server import _dashboard_pages as pages
from hud.server._auth import Authenticator
from hud.server._check import damage_detail, is_damage
from hud.server._dashboard_analysis import compare_page
from hud.server._dashboard_view import View
from hud.server._errors import ApiError
from hud.server._sweeper import Sweeper
from hud.server._transactions import Transactions

__all__ = ["COOKIE", "dashboard_mount"]

logger = logging.getLogger("hud.server")

#: The cookie holding the signed-in browser's API key (HttpOnly, path /ui).
COOKIE = "hud_dashboard_key"
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
        response.delete_cookie(COOKIE, path="/ui")
        return response

    async def _page(self, request: Request, build: Callable[[], _Query]) -> Response:
        try:
            key = request.cookies.get(COOKIE) if self.auth.enabled else ""
            if key is None or (self.auth.enabled and not key):
                return self._login_redirect()
            account = await self.auth.account_of_key(key)
            if account is None:
                return self._login_redirect()  # revoked or unknown: sign in again
            query = build()
            page = await self.tx.read(lambda conn: query(conn, account))
            if page is None:
                await self.sweeper.crash(account, request.path_params["job_id"])
                page = await self.tx.read(lambda conn: query(conn, account))
            if page is None:
                raise ApiError(503, "the job changed while it was read: reload the page")
            template, context = page
        except ApiError as exc:
            return self._error(exc.status_code, exc.detail)
        except Exception as exc:
            if is_damage(exc):
                logger.error("dashboard: the database is damaged (%s): %s", request.url.path, exc)
                return self._error(500, damage_detail(exc))
            logger.exception("dashboard: unexpected error on %s", request.url.path)
            return self._error(500, "internal server error: the server's log has the details")
        return self._render(template, context)

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
            return self._render("login.html", {"failed": False, "refresh": False, "signed_in": False})
        if not _same_origin(request):
            return self._error(403, "cross-site sign-in refused", signed_in=False)
        body = await _small_body(request)
        if body is None:
            return self._error(413, "the form is too large", signed_in=False)
        key = (parse_qs(body.decode("utf-8", "replace")).get("key") or [""])[0].strip()
        account: str | None = None
        if key and key.isascii() and " " not in key:
            account = await self.auth.account_of_key(key)
        if account is None:
            # The submitted key is never echoed back, nor logged.
            return self._render("login.html", {"failed": True, "refresh": False, "signed_in": False}, 401)
        response = RedirectResponse("/ui/", status_code=303, headers=_HEADERS)
        response.set_cookie(
            COOKIE, key, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/ui"
        )
        return response

    async def logout(self, request: Request) -> Response:
        if not _same_origin(request):
            return self._error(403, "cross-site sign-out refused")
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


def _same_origin(request: Request) -> bool:
    # Forms are only accepted from our own pages: a foreign site cannot sign a browser in or out.
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.url.netloc


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
        Route("/", ui.job_list, methods=["GET"]),
        Route("/jobs/{job_id}", ui.job, methods=["GET"]),
        Route("/compare", ui.compare, methods=["GET"]),
        Route("/trajectories/{trajectory_id}", ui.trajectory, methods=["GET"]),
        Route("/login", ui.login, methods=["GET", "POST"]),
        Route("/logout", ui.logout, methods=["POST"]),
        Route("/static/{name}", ui.static, methods=["GET"]),
        Route("/{rest:path}", ui.not_found),
    ]
    return Mount("/ui", routes=list(routes))
