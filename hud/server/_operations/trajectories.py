"""Trajectory operations: one by id, and a job's trajectories a page at a time, read in pieces of at
most `READ_BYTES`, so that no answer is ever held whole (a trajectory can hold 512 MiB of steps).

Each trajectory row knows its size and its largest step (`size_bytes`, `max_step_bytes`). Answers
are planned from those (`plan`: which trajectories a page holds, bounded by count and bytes), then
written piece by piece (`array_items`, `trajectory_pieces`), each piece from its own short read:
small trajectories a group at a time, a large one as its head, batches of its steps, and its tail.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Connection, bindparam, select

from hud._wire import MAX_STEP_BYTES, TRAJECTORY_PAGE_MAX_BYTES
from hud.server._cursors import decode_cursor, encode_cursor
from hud.server._errors import NotFound
from hud.server._operations.leases import expired
from hud.server._render import TRAJECTORY_COLUMNS, TRAJECTORY_TAIL, TrajectoryHead, trajectory_head, trajectory_json
from hud.server._sql import Statement
from hud.server._tables import jobs, steps, trajectories

__all__ = [
    "READ_BYTES",
    "STREAM_BATCH",
    "FirstPage",
    "Meta",
    "Read",
    "array_items",
    "first_page",
    "later_batches",
    "open_trajectory",
    "plan",
    "trajectory_pieces",
]

T = TypeVar("T")


class Read(Protocol):
    """Runs `fn(conn)` in a short read transaction and returns its result (`Transactions.read_now`)."""

    def __call__(self, fn: Callable[[Connection], T], /) -> T: ...


#: At most this many bytes of stored data per read (beyond one step, or one trajectory's logs).
READ_BYTES = 4 * 1024 * 1024
#: Trajectories planned per read of an unpaged listing.
STREAM_BATCH = 500
_STEPS_PER_READ = 1000

_t = trajectories.c
_meta_cols = (_t.seq, _t.id, _t.step_count, _t.size_bytes, _t.max_step_bytes)
_metas = Statement(
    select(*_meta_cols)
    .where(_t.job_id == bindparam("job_id"), _t.account == bindparam("account"), _t.seq > bindparam("after"))
    .order_by(_t.seq)
    .limit(bindparam("n"))
    .offset(bindparam("skip"))  # explicit: SQLite renders an OFFSET for a bound LIMIT anyway
)
_meta_by_id = Statement(select(*_meta_cols).where(_t.id == bindparam("id"), _t.account == bindparam("account")))
_head_cols = tuple(_t[name] for name in TRAJECTORY_COLUMNS)
_head = Statement(select(*_head_cols).where(_t.id == bindparam("id")))
_job_state = Statement(
    select(jobs.c.seq, expired(bindparam("cutoff"))).where(
        jobs.c.id == bindparam("id"), jobs.c.account == bindparam("account")
    )
)
_group_rows = Statement(
    select(*_head_cols)
    .where(
        _t.job_id == bindparam("job_id"),
        _t.account == bindparam("account"),
        _t.seq >= bindparam("first"),
        _t.seq <= bindparam("last"),
    )
    .order_by(_t.seq)
)
# The steps of a whole group in one query, by the group's seq range (no N+1, no huge IN list).
_group_steps = Statement(
    select(steps.c.env_id, steps.c.data)
    .select_from(trajectories.join(steps, steps.c.env_id == _t.id))
    .where(
        _t.job_id == bindparam("job_id"),
        _t.account == bindparam("account"),
        _t.seq >= bindparam("first"),
        _t.seq <= bindparam("last"),
    )
    .order_by(_t.seq, steps.c.position)
)
_steps_from = Statement(
    select(steps.c.position, steps.c.data)
    .where(steps.c.env_id == bindparam("env_id"), steps.c.position >= bindparam("start"))
    .order_by(steps.c.position)
    .limit(bindparam("n"))
    .offset(bindparam("skip"))
)


class Meta(NamedTuple):
    """What planning needs of a trajectory (its row without logs, error or steps)."""

    seq: int
    id: str
    step_count: int
    size: int | None
    """Bytes of its steps, logs and error; None when unknown (a row written by another tool)."""
    max_step: int | None

    @property
    def cost(self) -> int:
        """Its bytes for planning: unknown counts as a whole page."""
        return TRAJECTORY_PAGE_MAX_BYTES if self.size is None else self.size

    @property
    def small(self) -> bool:
        """Whether it is read whole in one read."""
        return self.size is not None and self.size <= READ_BYTES


def _meta(row: tuple[Any, ...]) -> Meta:
    seq, id, step_count, size, max_step = row
    return Meta(
        int(seq),
        str(id),
        int(step_count),
        None if size is None else int(size),
        None if max_step is None else int(max_step),
    )


def plan(
    conn: Connection, account: str, job_id: str, after: int, limit: int, budget: int | None
) -> tuple[list[Meta], bool]:
    """Up to `limit` trajectories after seq `after`, stopping before `budget` bytes (always at least
    one); and whether more follow."""
    rows = [
        _meta(r)
        for r in _metas.all(conn, {"job_id": job_id, "account": account, "after": after, "n": limit + 1, "skip": 0})
    ]
    taken: list[Meta] = []
    total = 0
    for meta in rows[:limit]:
        if taken and budget is not None and total + meta.cost > budget:
            break
        taken.append(meta)
        total += meta.cost
    return taken, len(taken) < len(rows)


def _render_group(conn: Connection, account: str, job_id: str, group: list[Meta]) -> str:
    """Small trajectories (consecutive in seq order), as comma-joined JSON texts, in two queries."""
    params = {"job_id": job_id, "account": account, "first": group[0].seq, "last": group[-1].seq}
    wanted = {meta.id for meta in group}
    by_env: dict[str, list[str]] = {}
    if any(meta.step_count for meta in group):
        for env_id, data in _group_steps.all(conn, params):
            by_env.setdefault(env_id, []).append(data)
    # Only the planned ones: one closed since planning could fall inside the range (PostgreSQL).
    heads = (TrajectoryHead(*row) for row in _group_rows.all(conn, params))
    return ",".join(trajectory_json(head, by_env.get(head.id, ())) for head in heads if head.id in wanted)


def _groups(metas: Iterable[Meta]) -> Iterator[list[Meta]]:
    """Runs of small trajectories of at most READ_BYTES together; each large one alone."""
    group: list[Meta] = []
    total = 0
    for meta in metas:
        if not meta.small:
            if group:
                yield group
            yield [meta]
            group, total = [], 0
            continue
        if group and total + meta.cost > READ_BYTES:
            yield group
            group, total = [], 0
        group.append(meta)
        total += meta.cost
    if group:
        yield group


def _steps_per_read(meta: Meta) -> int:
    largest = meta.max_step or MAX_STEP_BYTES  # unknown: as large as a step may be
    return max(1, min(_STEPS_PER_READ, READ_BYTES // largest))


def trajectory_pieces(read: Read, meta: Meta) -> Iterator[str]:
    """One trajectory as JSON text in pieces: its head, its steps a read at a time, its tail."""
    head = read(functools.partial(_head.one, params={"id": meta.id}))
    if head is None:
        raise NotFound("trajectory", meta.id)
    yield trajectory_head(TrajectoryHead(*head))
    start, n, sep = 0, _steps_per_read(meta), ""
    while True:
        got = read(functools.partial(_steps_from.all, params={"env_id": meta.id, "start": start, "n": n, "skip": 0}))
        if got:
            yield sep + ",".join(data for _, data in got)
            sep = ","
            start = int(got[-1][0]) + 1
        if len(got) < n:
            break
    yield TRAJECTORY_TAIL


def array_items(
    read: Read, account: str, job_id: str, batches: Iterable[list[Meta]], *, after_first: bool = False
) -> Iterator[str]:
    """The comma-separated items of a JSON array of these trajectories, in pieces of bounded size
    (`after_first`: items precede them, so the first piece starts with a comma)."""
    sep = "," if after_first else ""
    for batch in batches:
        for group in _groups(batch):
            if len(group) == 1 and not group[0].small:
                pieces = trajectory_pieces(read, group[0])
                yield sep + next(pieces)
                yield from pieces
            else:
                yield sep + read(functools.partial(_render_group, account=account, job_id=job_id, group=group))
            sep = ","


def open_trajectory(conn: Connection, account: str, trajectory_id: str) -> tuple[Meta, str | None]:
    """A trajectory's Meta, and its whole JSON text when it is small (else stream `trajectory_pieces`)."""
    row = _meta_by_id.one(conn, {"id": trajectory_id, "account": account})
    if row is None:
        raise NotFound("trajectory", trajectory_id)
    meta = _meta(row)
    if not meta.small:
        return meta, None
    return meta, "".join(trajectory_pieces(lambda fn: fn(conn), meta))


class FirstPage(NamedTuple):
    """The start of an answer to `GET /v2/jobs/{job_id}/trajectories`."""

    metas: list[Meta]
    """The trajectories planned: the whole page when paged, the first batch when not."""
    more: bool
    """More trajectories follow these."""
    next_cursor: str | None
    """The X-Next-Cursor header, when paged and more follow."""
    body: str | None
    """The items of `metas` already rendered (comma-joined), when they fit in one read."""
    expired: bool = False
    """The job's lease ran out: nothing was read; crash the job (`leases.crash_job`), then ask again."""


def first_page(
    conn: Connection, account: str, job_id: str, limit: int | None, cursor: str | None, lease: float
) -> FirstPage:
    """With `limit`, one page bounded by count and TRAJECTORY_PAGE_MAX_BYTES; without, the first batch
    of the whole listing (404 for an unknown job either way)."""
    job = _job_state.one(conn, {"id": job_id, "account": account, "cutoff": time.time() - lease})
    if job is None:
        raise NotFound("job", job_id)
    if job[1]:
        return FirstPage([], False, None, None, expired=True)
    after = decode_cursor(cursor) or 0
    if limit is not None:
        metas, more = plan(conn, account, job_id, after, limit, TRAJECTORY_PAGE_MAX_BYTES)
        next_cursor = encode_cursor(metas[-1].seq) if more else None
    else:
        metas, more = plan(conn, account, job_id, after, STREAM_BATCH, None)
        next_cursor = None
    body = None
    if all(meta.small for meta in metas) and sum(meta.cost for meta in metas) <= READ_BYTES:
        body = _render_group(conn, account, job_id, metas) if metas else ""
    return FirstPage(metas, more, next_cursor, body)


def later_batches(read: Read, account: str, job_id: str, after: int) -> Iterator[list[Meta]]:
    """The rest of an unpaged listing after seq `after`, a planned batch at a time."""
    while True:
        metas, more = read(
            functools.partial(plan, account=account, job_id=job_id, after=after, limit=STREAM_BATCH, budget=None)
        )
        if metas:
            yield metas
            after = metas[-1].seq
        if not more:
            return
