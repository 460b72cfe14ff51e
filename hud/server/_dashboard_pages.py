"""The dashboard's pages as queries: `page(conn, account, ...) -> (template, context)`.

Every query is scoped to one account and aggregates in SQL: one query per page of rows plus one for
their aggregates, never one per row, and keyset paging for long lists.

Pages stay small however large the data: a page of steps ends after `PAGE_STEP_BYTES` of stored
steps (read in batches sized by the trajectory's largest step), and long texts are clipped (`clip`)
with a note of what was left out.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup
from sqlalchemy import Connection, and_, case, func, select

from hud._wire import ERROR_KINDS, FINAL_STATUSES, MAX_STEP_BYTES, OUTCOMES, trajectory_outcome
from hud.server._dashboard_analysis import job_intervals, other_jobs, short_metadata
from hud.server._dashboard_view import SORTS, View
from hud.server._errors import ApiError
from hud.server._operations.leases import effective_status, expired
from hud.server._operations.scoring import counted_reward, stats_columns
from hud.server._tables import environments, jobs, steps, trajectories

__all__ = [
    "HISTOGRAM_BINS",
    "JOBS_PER_PAGE",
    "STEPS_PER_PAGE",
    "TRAJECTORIES_PER_PAGE",
    "Page",
    "Stats",
    "clip",
    "job_list",
    "job_page",
    "trajectory_page",
]

JOBS_PER_PAGE = 50
TRAJECTORIES_PER_PAGE = 100
STEPS_PER_PAGE = 100
#: A page of steps ends once it has read this much of them (at least one step).
PAGE_STEP_BYTES = 8 * 1024 * 1024
HISTOGRAM_BINS = 10
#: Characters shown of one text: an observation, a URL that is no image, an action, logs, an error.
TEXT_CHARS = 10_000
URL_CHARS = 2_000
ACTION_CHARS = 1_000
ACTIONS_SHOWN = 20
LOGS_CHARS = 100_000
METADATA_CHARS = 20_000


def clip(text: str | None, limit: int) -> Markup:
    """`text` escaped, cut after `limit` characters with a note of how many more there are."""
    if text is None:
        return Markup("")
    if len(text) <= limit:
        return Markup.escape(text)
    more = len(text) - limit
    return Markup.escape(text[:limit]) + Markup('<span class="clipped">… {} more characters not shown</span>').format(
        f"{more:,}"
    )


#: A page to render: its template and the template's context.
Page = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Stats:
    """Aggregates of a job's trajectories, computed in SQL."""

    trajectories: int = 0
    counted: int = 0
    scored: int = 0
    mean_reward: float | None = None
    successes: int = 0
    errors: int = 0
    min_reward: float | None = None
    max_reward: float | None = None

    @property
    def success_rate(self) -> float | None:
        """Successes among the trajectories that count (`hud._wire.counts`)."""
        return self.successes / self.counted if self.counted else None


_t = trajectories
_stats_cols = stats_columns()


def _stats(row: Any) -> Stats:
    return Stats(
        trajectories=int(row.n),
        counted=int(row.counted or 0),
        scored=int(row.scored),
        mean_reward=None if row.mean is None else float(row.mean),
        successes=int(row.successes or 0),
        errors=int(row.errors or 0),
        min_reward=None if row.low is None else float(row.low),
        max_reward=None if row.high is None else float(row.high),
    )


def job_list(conn: Connection, account: str, before: int | None, lease: float) -> Page:
    """The job list page: a page of jobs, newest first, with their aggregates."""
    status = effective_status(time.time() - lease).label("status")
    query = select(jobs.c.seq, jobs.c.id, jobs.c.name, status, jobs.c.created_at, jobs.c.metadata).where(
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
    items = [{"job": r, "stats": by_job.get(r.id, Stats()), "metadata": short_metadata(r.metadata)} for r in page]
    return "jobs.html", {
        "items": items,
        "next_before": page[-1].seq if len(rows) > JOBS_PER_PAGE else None,
        "first_page": before is None,
        # The first page follows new jobs; older pages are history.
        "refresh": before is None,
    }


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
    reward = counted_reward()
    bucket = case(
        *[(reward < low + width * (i + 1), i) for i in range(HISTOGRAM_BINS - 1)], else_=HISTOGRAM_BINS - 1
    ).label("bucket")
    query = (
        select(bucket, func.count().label("n"))
        .where(_t.c.account == account, _t.c.job_id == job_id, reward.is_not(None))
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


def job_page(
    conn: Connection, account: str, job_id: str, after: int, lease: float, view: View | None = None
) -> Page | None:
    """A job's page: its aggregates with intervals, reward histogram, open environments, the jobs to
    compare it with, and a page of its trajectories (filtered and sorted as `view` says).

    None when the job's lease ran out and its crash is not yet persisted (sweep it, then ask again).
    """
    view = view or View()
    cutoff = time.time() - lease
    job = conn.execute(
        select(
            *(c for c in jobs.c if c.name != "status"),
            # As the API reads it: a job synced here from a store that stopped relaying reads crashed.
            effective_status(cutoff).label("status"),
            expired(cutoff).label("expired"),
        ).where(jobs.c.id == job_id, jobs.c.account == account)
    ).first()
    if job is None:
        raise ApiError(404, "no such job in this account")
    if job.expired:
        return None
    stats = _stats(conn.execute(select(*_stats_cols).where(_t.c.account == account, _t.c.job_id == job_id)).one())
    scope = [_t.c.account == account, _t.c.job_id == job_id, *view.filters()]
    query = select(
        _t.c.seq,
        _t.c.id,
        _t.c.reward,
        # The list shows the start of each error only: no need to read all of a long one.
        func.substr(_t.c.error, 1, 200).label("error"),
        _t.c.error_kind,
        _t.c.step_count,
        _t.c.task_id,
        _t.c.gym_id,
        _t.c.created_at,
        _t.c.closed_at,
    ).where(*scope)
    if view.keyset:
        query = query.where(_t.c.seq > after).order_by(_t.c.seq)
    else:
        query = query.order_by(*view.order(conn.dialect.name), _t.c.seq).offset(view.offset)
    rows = conn.execute(query.limit(TRAJECTORIES_PER_PAGE + 1)).all()
    page = rows[:TRAJECTORIES_PER_PAGE]
    matching = (
        int(conn.execute(select(func.count()).where(*scope)).scalar_one()) if view.filtered else stats.trajectories
    )
    open_environments = conn.execute(
        select(func.count()).where(
            environments.c.job_id == job_id, environments.c.account == account, environments.c.closed_at.is_(None)
        )
    ).scalar_one()
    return "job.html", {
        "job": job,
        "metadata": clip(_pretty(job.metadata), METADATA_CHARS),
        "job_error": clip(job.error, TEXT_CHARS),
        "stats": stats,
        "open_environments": int(open_environments),
        "histogram": _histogram(conn, account, job_id, stats),
        "trajectories": [
            {
                "row": r,
                "status": trajectory_outcome(r.reward, r.error, r.error_kind),
                "kind": r.error_kind or ("agent" if r.error else None),
                "duration": _duration(r.created_at, r.closed_at),
            }
            for r in page
        ],
        "first_index": (_count_before(conn, scope, after) if after else 0) if view.keyset else view.offset,
        "next_after": page[-1].seq if view.keyset and len(rows) > TRAJECTORIES_PER_PAGE else None,
        "next_offset": view.offset + TRAJECTORIES_PER_PAGE
        if not view.keyset and len(rows) > TRAJECTORIES_PER_PAGE
        else None,
        "paged": after > 0 or view.offset > 0,
        "refresh": job.status not in FINAL_STATUSES,
        "view": view,
        "matching": matching,
        "intervals": job_intervals(conn, account, job_id),
        "others": other_jobs(conn, account, job_id),
        "outcomes": OUTCOMES,
        "kinds": ERROR_KINDS,
        "sorts": SORTS,
    }


def _count_before(conn: Connection, scope: list[Any], after: int) -> int:
    # Only on later pages, for the row numbers; an index range count on (job_id, seq).
    query = select(func.count()).where(*scope, _t.c.seq <= after)
    return int(conn.execute(query).scalar_one())


def trajectory_page(conn: Connection, account: str, trajectory_id: str, start: int) -> Page:
    """A trajectory's page: its outcome and a page of its steps."""
    query = (
        select(_t, jobs.c.name.label("job_name"))
        .select_from(_t.outerjoin(jobs, and_(jobs.c.id == _t.c.job_id, jobs.c.account == _t.c.account)))
        .where(_t.c.id == trajectory_id, _t.c.account == account)
    )
    row = conn.execute(query).first()
    if row is None:
        raise ApiError(404, "no such trajectory in this account")
    # Batches sized by the largest step (unknown: as large as a step may be), while another fits.
    largest = row.max_step_bytes or MAX_STEP_BYTES
    shown: list[dict[str, Any]] = []
    read, position = 0, start
    while len(shown) < STEPS_PER_PAGE:
        room = PAGE_STEP_BYTES - read
        if shown and room < largest:
            break
        wanted = min(STEPS_PER_PAGE - len(shown), max(1, room // largest))
        batch = conn.execute(
            select(steps.c.position, steps.c.data)
            .where(steps.c.env_id == trajectory_id, steps.c.position >= position)
            .order_by(steps.c.position)
            .limit(wanted)
        ).all()
        for r in batch:
            read += len(r.data)
            shown.append(_step(r.position, r.data))  # clipped: the raw text is not kept
        if batch:
            position = batch[-1].position + 1
        if len(batch) < wanted:
            break
    return "trajectory.html", {
        "t": row,
        "status": trajectory_outcome(row.reward, row.error, row.error_kind),
        "duration": _duration(row.created_at, row.closed_at),
        "logs": clip(row.logs, LOGS_CHARS),
        "error": clip(row.error, TEXT_CHARS),
        "steps": shown,
        "next_start": position if shown and position < row.step_count else None,
        "paged": start > 0,
        "refresh": False,
    }


def _duration(start: str | None, end: str | None) -> str:
    begun, ended = _parse_time(start), _parse_time(end)
    if begun is None or ended is None or (begun.tzinfo is None) != (ended.tzinfo is None):
        return ""
    return _seconds((ended - begun).total_seconds())


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if abs(seconds) < 10 else f"{seconds:.1f} s"


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
        duration = _seconds((end - start).total_seconds())
    actions = step.get("actions") or []
    text, url = step.get("observation_text"), step.get("observation_url")
    return {
        "number": position + 1,
        "text": None if text is None else clip(text, TEXT_CHARS),
        "url": None if url is None else clip(url, URL_CHARS),
        # An image is shown whole (a data: URL cut short would be no image); the page's byte bound
        # limits how many of them a page holds.
        "image": _image_url(url),
        "actions": [clip(json.dumps(a, ensure_ascii=False), ACTION_CHARS) for a in actions[:ACTIONS_SHOWN]],
        "actions_hidden": max(0, len(actions) - ACTIONS_SHOWN),
        "start": step.get("start_timestamp"),
        "end": step.get("end_timestamp"),
        "duration": duration,
    }
