"""`hud jobs ...`: read jobs and trajectories from the embedded default, a server or the platform."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TextIO

import click

from hud import _api
from hud._cli._progress import Progress, is_terminal
from hud._export import write_parquet
from hud._summary import JobSummary
from hud._terminal import printable
from hud._wire import DEFAULT_SUCCESS_THRESHOLD
from hud.errors import HudError, NotFoundError
from hud.job import Job, iter_jobs, load_job, settings_of
from hud.settings import get_settings
from hud.trajectory import Trajectory

__all__ = ["confidence_option", "jobs", "run_command", "threshold_option"]

P = ParamSpec("P")


def run_command(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
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
@run_command
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
        summaries = await _counts(found)
        rows = [
            (
                j.id,
                _short(j.name, 40),
                j.status,
                j.created_at.isoformat(timespec="seconds"),
                "" if s is None else s.trajectories,
                "" if s is None or s.mean_reward is None else f"{s.mean_reward:.3f}",
                "" if s is None or s.success_rate is None else f"{s.success_rate:.1%}",
            )
            for j, s in zip(found, summaries, strict=True)
        ]
        _table(["ID", "NAME", "STATUS", "CREATED", "TRAJECTORIES", "MEAN REWARD", "SUCCESS RATE"], rows, out)
    elif fmt == "json":
        out.write(json.dumps([j.model_dump(mode="json") for j in found], indent=2) + "\n")
    else:
        for j in found:
            out.write(j.model_dump_json() + "\n")


confidence_option = click.option(
    "--confidence",
    type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="The confidence level of the intervals.",
)
threshold_option = click.option(
    "--success-threshold",
    type=float,
    default=DEFAULT_SUCCESS_THRESHOLD,
    show_default=True,
    help="A trajectory succeeded when its reward is at least this.",
)


async def _counts(found: list[Job]) -> list[JobSummary | None]:
    """Each job's summary from the server (one request each, a few at a time); None for each when the
    server computes none (the platform): adding up every job's trajectories would be far too slow."""
    gate = asyncio.Semaphore(8)

    async def one(j: Job) -> JobSummary | None:
        async with gate:
            try:
                return await _api.get_job_summary(
                    settings_of(j, None), JobSummary, j.id, success_threshold=DEFAULT_SUCCESS_THRESHOLD
                )
            except NotFoundError:
                return None

    summaries = list(await asyncio.gather(*(one(j) for j in found)))
    if found and all(s is None for s in summaries):
        click.echo("hud: this server computes no job summaries: `hud jobs show JOB_ID` adds one job up", err=True)
    return summaries


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
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv", "parquet"]),
    default="table",
    show_default=True,
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file (needed for parquet)."
)
@run_command
async def list_trajectories(job_id: str, fmt: str, output: Path | None) -> None:
    """List a job's trajectories, oldest first.

    The table is for people; json, jsonl, csv and parquet are exact, for machines (parquet, with
    --output FILE, is written a page at a time in flat memory; it needs hud[analysis]).
    """
    loaded = await load_job(job_id)
    if fmt == "parquet" or output is not None:
        if fmt != "parquet":
            raise click.UsageError("--output is for --format parquet; redirect the other formats: > FILE")
        if output is None:
            raise click.UsageError("parquet is binary: pass --output FILE")
        written = await write_parquet(loaded, output)
        click.echo(f"hud: wrote {written} trajectories to {output}", err=True)
        return
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
@run_command
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
@run_command
async def set_status(job_id: str, status: str, error: str | None) -> None:
    """Set a job's status by hand.

    For example `completed` for a job left `crashed`.
    `cancelled` and `crashed` also close the job's open environments with that error kind;
    `running` drops the job's lease until its process sends a heartbeat again.
    """
    updated = await (await load_job(job_id)).update(status=status, error=error)
    click.echo(f"hud: job {updated.id} is {updated.status}", err=True)
