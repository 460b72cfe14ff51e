"""The dashboard: server-rendered HTML pages over the store, mounted under `/ui/`.

Pages: the job list, a job (reward histogram, its trajectories) and a trajectory (its steps). Every
query is scoped to one account and aggregates in SQL: one query per page of rows plus one for their
aggregates, never one per row, and keyset paging for long lists.

Access: without auth (`hud ui`, `hud server --no-auth`) every page shows the account `local`. With auth
the browser signs in once with an API key, kept in an HttpOnly cookie scoped to `/ui` and checked on
every request exactly as the API checks a bearer key (so revoking the key signs the browser out). The
API itself never reads that cookie, so the cookie cannot be used to write through the API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
from sqlalchemy import Connection, and_, case, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from hud._summary import SUCCESS_REWARD, trajectory_status
from hud.server._errors import ApiError
from hud.server._schema import jobs, steps, trajectories
from hud.server._store import Store

__all__ = ["COOKIE", "SUCCESS_REWARD", "dashboard_mount"]

logger = logging.getLogger("hud.server")

#: The cookie holding the signed-in browser's API key (HttpOnly, path /ui).
COOKIE = "hud_dashboard_key"
JOBS_PER_PAGE = 50
TRAJECTORIES_PER_PAGE = 100
STEPS_PER_PAGE = 100
HISTOGRAM_BINS = 10
_FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
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
_env.filters.update(reward=_fmt_reward, rate=_fmt_rate, time=_fmt_time)


@dataclass(frozen=True, slots=True)
class Stats:
    """Aggregates of a job's trajectories, computed in SQL."""

    trajectories: int = 0
    scored: int = 0
    mean_reward: float | None = None
    successes: int = 0
    errors: int = 0
    min_reward: float | None = None
    max_reward: float | None = None

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.trajectories if self.trajectories else None


_t = trajectories
_has_error = and_(_t.c.error.is_not(None), _t.c.error != "")
_stats_cols = (
    func.count().label("n"),
    func.count(_t.c.reward).label("scored"),
    func.avg(_t.c.reward).label("mean"),
    func.sum(case((_t.c.reward >= SUCCESS_REWARD, 1), else_=0)).label("successes"),
    func.sum(case((_has_error, 1), else_=0)).label("errors"),
    func.min(_t.c.reward).label("low"),
    func.max(_t.c.reward).label("high"),
)


def _stats(row: Any) -> Stats:
    return Stats(
        trajectories=int(row.n),
        scored=int(row.scored),
        mean_reward=None if row.mean is None else float(row.mean),
        successes=int(row.successes or 0),
        errors=int(row.errors or 0),
        min_reward=None if row.low is None else float(row.low),
        max_reward=None if row.high is None else float(row.high),
    )


# -- queries: op(conn, account) -> (template, context) -------------------------------------------

Page = tuple[str, dict[str, Any]]


def _job_list(before: int | None) -> Callable[[Connection, str], Page]:
    def op(conn: Connection, account: str) -> Page:
        query = select(jobs.c.seq, jobs.c.id, jobs.c.name, jobs.c.status, jobs.c.created_at).where(
            jobs.c.account == account
        )
        if before is not None:
            query = query.where(jobs.c.seq < before)
        rows = conn.execute(query.order_by(jobs.c.seq.desc()).limit(JOBS_PER_PAGE + 1)).all()
        page = rows[:JOBS_PER_PAGE]
        by_job: dict[str, Stats] = {}
        if page:
            aggregate = (
                select(_t.c.job_id, *_stats_cols)
                .where(_t.c.account == account, _t.c.job_id.in_([r.id for r in page]))
                .group_by(_t.c.job_id)
            )
            by_job = {row.job_id: _stats(row) for row in conn.execute(aggregate)}
        items = [{"job": r, "stats": by_job.get(r.id, Stats())} for r in page]
        return "jobs.html", {
            "items": items,
            "next_before": page[-1].seq if len(rows) > JOBS_PER_PAGE else None,
            "first_page": before is None,
            # The first page follows new jobs; older pages are history.
            "refresh": before is None,
        }

    return op


def _histogram(conn: Connection, account: str, job_id: str, stats: Stats) -> list[dict[str, Any]]:
    if not stats.scored or stats.min_reward is None or stats.max_reward is None:
        return []
    low, high = stats.min_reward, stats.max_reward
    if low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0  # the usual reward range: keep the axis fixed while a job fills up
    elif high == low:
        high = low + 1.0
    width = (high - low) / HISTOGRAM_BINS
    # Explicit bounds rather than floor(): portable across SQLite and PostgreSQL, which round casts.
    bucket = case(
        *[(_t.c.reward < low + width * (i + 1), i) for i in range(HISTOGRAM_BINS - 1)], else_=HISTOGRAM_BINS - 1
    ).label("bucket")
    query = (
        select(bucket, func.count().label("n"))
        .where(_t.c.account == account, _t.c.job_id == job_id, _t.c.reward.is_not(None))
        .group_by(bucket)
    )
    counts = {int(row.bucket): int(row.n) for row in conn.execute(query)}
    top = max(counts.values(), default=1)
    return [
        {
            "low": low + width * i,
            "high": low + width * (i + 1),
            "count": counts.get(i, 0),
            # Bar height in SVG units (0..90, headroom for the count): attributes, not style, so the CSP holds.
            "height": round(90 * counts.get(i, 0) / top, 1),
        }
        for i in range(HISTOGRAM_BINS)
    ]


def _job_page(job_id: str, after: int) -> Callable[[Connection, str], Page]:
    def op(conn: Connection, account: str) -> Page:
        job = conn.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.account == account)).first()
        if job is None:
            raise ApiError(404, "no such job in this account")
        stats = _stats(conn.execute(select(*_stats_cols).where(_t.c.account == account, _t.c.job_id == job_id)).one())
        rows = conn.execute(
            select(_t.c.seq, _t.c.id, _t.c.reward, _t.c.error, _t.c.step_count, _t.c.created_at)
            .where(_t.c.account == account, _t.c.job_id == job_id, _t.c.seq > after)
            .order_by(_t.c.seq)
            .limit(TRAJECTORIES_PER_PAGE + 1)
        ).all()
        page = rows[:TRAJECTORIES_PER_PAGE]
        return "job.html", {
            "job": job,
            "metadata": _pretty(job.metadata),
            "stats": stats,
            "histogram": _histogram(conn, account, job_id, stats),
            "trajectories": [{"row": r, "status": trajectory_status(r.reward, r.error)} for r in page],
            "first_index": _count_before(conn, account, job_id, after) if after else 0,
            "next_after": page[-1].seq if len(rows) > TRAJECTORIES_PER_PAGE else None,
            "paged": after > 0,
            "refresh": job.status not in _FINAL_STATUSES,
        }

    return op


def _count_before(conn: Connection, account: str, job_id: str, after: int) -> int:
    # Only on later pages, for the row numbers; an index range count on (job_id, seq).
    query = select(func.count()).where(_t.c.account == account, _t.c.job_id == job_id, _t.c.seq <= after)
    return int(conn.execute(query).scalar_one())


def _trajectory_page(trajectory_id: str, start: int) -> Callable[[Connection, str], Page]:
    def op(conn: Connection, account: str) -> Page:
        query = (
            select(_t, jobs.c.name.label("job_name"))
            .select_from(_t.outerjoin(jobs, and_(jobs.c.id == _t.c.job_id, jobs.c.account == _t.c.account)))
            .where(_t.c.id == trajectory_id, _t.c.account == account)
        )
        row = conn.execute(query).first()
        if row is None:
            raise ApiError(404, "no such trajectory in this account")
        step_rows = conn.execute(
            select(steps.c.position, steps.c.data)
            .where(steps.c.env_id == trajectory_id, steps.c.position >= start)
            .order_by(steps.c.position)
            .limit(STEPS_PER_PAGE + 1)
        ).all()
        page = step_rows[:STEPS_PER_PAGE]
        return "trajectory.html", {
            "t": row,
            "status": trajectory_status(row.reward, row.error),
            "steps": [_step(r.position, r.data) for r in page],
            "next_start": page[-1].position + 1 if len(step_rows) > STEPS_PER_PAGE else None,
            "paged": start > 0,
            "refresh": False,
        }

    return op


def _pretty(metadata: str | None) -> str:
    return "" if metadata is None else json.dumps(json.loads(metadata), indent=2, ensure_ascii=False)


def _image_url(url: str | None) -> str | None:
    """The URL if a browser may load it as an image; other schemes (javascript:, file:) are shown as text."""
    if not url:
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https") or (scheme == "data" and url[5:].lower().startswith("image/")):
        return url
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _step(position: int, data: str) -> dict[str, Any]:
    step = json.loads(data)
    start, end = _parse_time(step.get("start_timestamp")), _parse_time(step.get("end_timestamp"))
    duration: str | None = None
    if start is not None and end is not None and (start.tzinfo is None) == (end.tzinfo is None):
        seconds = (end - start).total_seconds()
        duration = f"{seconds * 1000:.0f} ms" if abs(seconds) < 10 else f"{seconds:.1f} s"
    return {
        "number": position + 1,
        "text": step.get("observation_text"),
        "url": step.get("observation_url"),
        "image": _image_url(step.get("observation_url")),
        "actions": [json.dumps(a, ensure_ascii=False) for a in step.get("actions") or []],
        "start": step.get("start_timestamp"),
        "end": step.get("end_timestamp"),
        "duration": duration,
    }


# -- HTTP ----------------------------------------------------------------------------------------


def _position(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > _MAX_POSITION:
        raise ApiError(400, f"the {name} parameter must be a whole number: follow the page's links")
    return int(raw)


class _Dashboard:
    def __init__(self, store: Store, *, auth: bool) -> None:
        self.store = store
        self.auth = auth

    def _render(self, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        context.setdefault("signed_in", self.auth)
        html = _env.get_template(template).render(context)
        return HTMLResponse(html, status_code=status_code, headers=_HEADERS)

    def _login_redirect(self) -> Response:
        response = RedirectResponse("/ui/login", status_code=303, headers=_HEADERS)
        response.delete_cookie(COOKIE, path="/ui")
        return response

    async def _page(self, request: Request, build: Callable[[], Callable[[Connection, str], Page]]) -> Response:
        key: str | None = None
        if self.auth:
            key = request.cookies.get(COOKIE)
            if not key:
                return self._login_redirect()
        try:
            op = build()
            template, context = await run_in_threadpool(self.store.read, key, None, op)
        except ApiError as exc:
            if exc.status_code == 401:
                return self._login_redirect()  # revoked or unknown: sign in again
            return self._error(exc.status_code, exc.detail)
        except Exception:
            logger.exception("dashboard: unexpected error on %s", request.url.path)
            return self._error(500, "internal server error: the server's log has the details")
        return self._render(template, context)

    def _error(self, status_code: int, message: str, *, signed_in: bool | None = None) -> HTMLResponse:
        context = {"status_code": status_code, "message": message, "refresh": False}
        if signed_in is not None:
            context["signed_in"] = signed_in
        return self._render("error.html", context, status_code)

    async def job_list(self, request: Request) -> Response:
        return await self._page(request, lambda: _job_list(_position(request, "before") or None))

    async def job(self, request: Request) -> Response:
        return await self._page(request, lambda: _job_page(request.path_params["job_id"], _position(request, "after")))

    async def trajectory(self, request: Request) -> Response:
        return await self._page(
            request, lambda: _trajectory_page(request.path_params["trajectory_id"], _position(request, "start"))
        )

    async def login(self, request: Request) -> Response:
        if not self.auth:
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
            try:
                account = await run_in_threadpool(self.store.read, key, None, _whoami)
            except ApiError as exc:
                if exc.status_code != 401:
                    raise
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
        import importlib.resources

        content = (importlib.resources.files("hud.server") / "static" / name).read_bytes()
        return Response(content, media_type=media, headers={**_HEADERS, "Cache-Control": "no-cache"})

    async def not_found(self, _request: Request) -> Response:
        return self._error(404, "no such page")


def _whoami(_conn: Connection, account: str) -> str:
    return account


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


def dashboard_mount(store: Store, *, auth: bool) -> Mount:
    """The dashboard's routes under `/ui`, reading through `store` with the API's account rules."""
    ui = _Dashboard(store, auth=auth)
    routes: Sequence[BaseRoute] = [
        Route("/", ui.job_list, methods=["GET"]),
        Route("/jobs/{job_id}", ui.job, methods=["GET"]),
        Route("/trajectories/{trajectory_id}", ui.trajectory, methods=["GET"]),
        Route("/login", ui.login, methods=["GET", "POST"]),
        Route("/logout", ui.logout, methods=["POST"]),
        Route("/static/{name}", ui.static, methods=["GET"]),
        Route("/{rest:path}", ui.not_found),
    ]
    return Mount("/ui", routes=list(routes))
