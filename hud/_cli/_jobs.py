"""`hud jobs ...`: read jobs and trajectories from the embedded default, a server or the platform."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TextIO

import click

from hud._cli._progress import Progress, is_terminal
from hud._summary import SummaryBuilder
from hud._terminal import printable
from hud._wire import DEFAULT_SUCCESS_THRESHOLD
from hud.errors import HudError, NotFoundError
from hud.job import Job, iter_jobs, load_job
from hud.settings import get_settings
from hud.trajectory import Trajectory

__all__ = ["jobs"]

P = ParamSpec("P")


def _run(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async command; SDK errors become one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            _check_embedded_database()
            asyncio.run(fn(*args, **kwargs))
        except HudError as exc:
            # Messages quote what a server sent (its error detail, a name): shown escaped, on one line.
            raise click.ClickException(printable(str(exc))) from None
        except BrokenPipeError:
            sys.stderr.close()  # `hud jobs ... | head` is not an error

    return wrapper


def _check_embedded_database() -> None:
    """On the embedded default, reading needs its database: say so rather than create an empty one."""
    settings = get_settings()
    if settings.target == "embedded" and not settings.database_path.is_file():
        raise click.ClickException(
            f"no jobs to read: {settings.target_description} has no database yet. Record a job first "
            "(python examples/quickstart.py), or export HUD_BASE_URL and HUD_API_KEY to read a server"
        )


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], out: TextIO) -> None:
    text_rows = [["" if cell is None else printable(str(cell)) for cell in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in text_rows)]) for i, h in enumerate(headers)]
    for row in [list(headers), ["-" * w for w in widths], *text_rows]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _short(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    line = printable(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


def _reward(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@click.group()
def jobs() -> None:
    """Read jobs and their trajectories.

    From the server of HUD_BASE_URL and HUD_API_KEY, the HUD platform (HUD_API_KEY alone) or the
    embedded default (neither set). These commands only read: they create nothing.
    """


@jobs.command("list")
@click.option("--status", help="Only jobs with this status.")
@click.option("--name", help="Only jobs with exactly this name.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many jobs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the ids, one a line: JOB_ID=$(hud jobs list --limit 1 -q).")
@_run
async def list_jobs(status: str | None, name: str | None, limit: int, fmt: str, quiet: bool) -> None:
    """List jobs, newest first."""
    found: list[Job] = []
    async for item in iter_jobs(status=status, name=name, page_size=min(limit, 1000)):
        found.append(item)
        if len(found) >= limit:
            break
    out = sys.stdout
    if not found:
        # On stderr: the output stays an empty table (or list) for scripts; people see where it looked.
        click.echo(
            f"hud: no jobs{'' if status is None and name is None else ' match'} on {get_settings().target_description}",
            err=True,
        )
    if quiet:
        for j in found:
            out.write(j.id + "\n")
    elif fmt == "table":
        rows = [(j.id, _short(j.name, 40), j.status, j.created_at.isoformat(timespec="seconds")) for j in found]
        _table(["ID", "NAME", "STATUS", "CREATED"], rows, out)
    elif fmt == "json":
        out.write(json.dumps([j.model_dump(mode="json") for j in found], indent=2) + "\n")
    else:
        for j in found:
            out.write(j.model_dump_json() + "\n")


_threshold_option = click.option(
    "--success-threshold",
    type=float,
    default=DEFAULT_SUCCESS_THRESHOLD,
    show_default=True,
    help="A trajectory succeeded when its reward is at least this.",
)


@jobs.command("show")
@click.argument("job_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_threshold_option
@_run
async def show_job(job_id: str, fmt: str, success_threshold: float) -> None:
    """Show a job and a summary of its trajectories.

    Also counts its open environments; --success-threshold sets what counts as a success.
    """
    loaded = await load_job(job_id)
    out = sys.stdout
    if fmt == "json":
        out.write(loaded.model_dump_json(indent=2) + "\n")
        return
    builder = SummaryBuilder(loaded.id, success_threshold)
    async for t in _with_progress(loaded.iter_trajectories(), "reading trajectories"):
        builder.add(t)
    summary = builder.result()
    open_environments = await _count_open(loaded)
    shown_open = "unknown (not listed by this server)" if open_environments is None else str(open_environments)
    kinds = ", ".join(f"{kind} {n}" for kind, n in summary.by_error_kind.items())
    fields = [
        ("id", loaded.id),
        ("name", loaded.name),
        ("status", loaded.status),
        ("created", loaded.created_at.isoformat(timespec="seconds")),
        ("metadata", json.dumps(loaded.metadata) if loaded.metadata is not None else ""),
        ("open environments", shown_open),
        ("trajectories", f"{summary.trajectories} ({summary.counted} counted, {summary.excluded} excluded)"),
        ("mean reward", "" if summary.mean_reward is None else f"{summary.mean_reward:.3f}"),
        (
            "success rate",
            "" if summary.success_rate is None else f"{summary.success_rate:.1%} (reward >= {success_threshold:g})",
        ),
        ("errors", f"{summary.errors}" + (f" ({kinds})" if kinds else "")),
    ]
    if loaded.error:
        fields.append(("error", loaded.error))
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        # Every value may come from a server or an agent: control characters shown escaped, and a
        # multi-line error indented under its first line.
        shown = printable(value, keep_newlines=True).replace("\n", "\n" + " " * (width + 2))
        out.write(f"{key.ljust(width)}  {shown}\n")


async def _count_open(loaded: Job) -> int | None:
    """The job's open environments; None against a server without the listing (the platform)."""
    try:
        return sum([1 async for _ in loaded.iter_environments(state="open", page_size=1000)])
    except NotFoundError:
        return None


_CSV_COLUMNS = [
    "id",
    "task_id",
    "gym_id",
    "reward",
    "outcome",
    "error_kind",
    "error",
    "steps",
    "created_at",
    "closed_at",
    "duration",
    "logs",
    "metadata",
]


async def _with_progress(
    stream: AsyncIterator[Trajectory], label: str, *, interleaved: bool = False
) -> AsyncIterator[Trajectory]:
    """Pass trajectories through, counting them on stderr when it is a terminal.

    `interleaved`: the output is written while counting, so a counter on the same terminal would mix
    with it; it is then only shown when stdout goes elsewhere (a file, a pipe).
    """
    enabled = not (interleaved and is_terminal(sys.stdout))
    with Progress(label, enabled=enabled) as progress:
        async for item in stream:
            progress.advance()
            yield item


@jobs.command("trajectories")
@click.argument("job_id")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default="table", show_default=True
)
@_run
async def list_trajectories(job_id: str, fmt: str) -> None:
    """List a job's trajectories, oldest first.

    The table is for people; json, jsonl and csv are exact, for machines.
    """
    loaded = await load_job(job_id)
    out = sys.stdout
    stream = _with_progress(loaded.iter_trajectories(), "reading trajectories", interleaved=fmt != "table")
    if fmt == "table":
        rows = [
            (
                t.id,
                _short(t.task_id, 30),
                _reward(t.reward),
                t.outcome(),
                t.effective_error_kind or "",
                len(t.trajectory),
                "" if t.duration is None else f"{t.duration:.1f}s",
                _short(t.error),
            )
            async for t in stream
        ]
        _table(["ID", "TASK", "REWARD", "OUTCOME", "ERROR KIND", "STEPS", "DURATION", "ERROR"], rows, out)
    elif fmt == "json":
        # Written as it arrives: a large job never sits in memory whole.
        out.write("[")
        first = True
        async for t in stream:
            out.write(("" if first else ",\n") + t.model_dump_json())
            first = False
        out.write("]\n")
    elif fmt == "jsonl":
        async for t in stream:
            out.write(t.model_dump_json() + "\n")
    else:
        writer = csv.writer(out)
        writer.writerow(_CSV_COLUMNS)
        async for t in stream:
            writer.writerow(
                [
                    t.id,
                    t.task_id,
                    t.gym_id,
                    "" if t.reward is None else repr(t.reward),
                    t.outcome(),
                    t.effective_error_kind,
                    t.error,
                    len(t.trajectory),
                    _time(t.created_at),
                    _time(t.closed_at),
                    "" if t.duration is None else repr(t.duration),
                    t.logs,
                    "" if t.metadata is None else json.dumps(t.metadata, ensure_ascii=False),
                ]
            )


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


@jobs.command("cancel")
@click.argument("job_id")
@_run
async def cancel_job(job_id: str) -> None:
    """Cancel a job and close its open environments.

    The job's status becomes `cancelled`, and so does the error kind of its open environments.
    """
    updated = await (await load_job(job_id)).update(status="cancelled")
    click.echo(f"hud: job {updated.id} is {updated.status}", err=True)


@jobs.command("set-status")
@click.argument("job_id")
@click.argument("status")
@click.option("--error", "error", default=None, help="Why (shown as the job's error).")
@_run
async def set_status(job_id: str, status: str, error: str | None) -> None:
    """Set a job's status by hand.

    For example `completed` for a job left `crashed`.
    `cancelled` and `crashed` also close the job's open environments with that error kind;
    `running` drops the job's lease until its process sends a heartbeat again.
    """
    updated = await (await load_job(job_id)).update(status=status, error=error)
    click.echo(f"hud: job {updated.id} is {updated.status}", err=True)
