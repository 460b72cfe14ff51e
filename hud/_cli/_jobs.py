"""`hud jobs ...`: read jobs and trajectories from the embedded default, a server or the platform."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import sys
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, ParamSpec, TextIO

import click

from hud.errors import HudError
from hud.job import Job, iter_jobs, load_job

__all__ = ["jobs"]

P = ParamSpec("P")


def _run(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async command; SDK errors become one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            asyncio.run(fn(*args, **kwargs))
        except HudError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            sys.stderr.close()  # `hud jobs ... | head` is not an error

    return wrapper


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], out: TextIO) -> None:
    text_rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in text_rows)]) for i, h in enumerate(headers)]
    for row in [list(headers), ["-" * w for w in widths], *text_rows]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _short(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _reward(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@click.group()
def jobs() -> None:
    """Read jobs and their trajectories (from HUD_BASE_URL/HUD_API_KEY, or the embedded default)."""


@jobs.command("list")
@click.option("--status", help="Only jobs with this status.")
@click.option("--name", help="Only jobs with exactly this name.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many jobs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table", show_default=True)
@_run
async def list_jobs(status: str | None, name: str | None, limit: int, fmt: str) -> None:
    """List jobs, newest first."""
    found: list[Job] = []
    async for item in iter_jobs(status=status, name=name, page_size=min(limit, 1000)):
        found.append(item)
        if len(found) >= limit:
            break
    out = sys.stdout
    if fmt == "table":
        rows = [(j.id, _short(j.name, 40), j.status, j.created_at.isoformat(timespec="seconds")) for j in found]
        _table(["ID", "NAME", "STATUS", "CREATED"], rows, out)
    elif fmt == "json":
        out.write(json.dumps([j.model_dump(mode="json") for j in found], indent=2) + "\n")
    else:
        for j in found:
            out.write(j.model_dump_json() + "\n")


@jobs.command("show")
@click.argument("job_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_run
async def show_job(job_id: str, fmt: str) -> None:
    """Show one job and a summary of its trajectories."""
    loaded = await load_job(job_id)
    out = sys.stdout
    if fmt == "json":
        out.write(loaded.model_dump_json(indent=2) + "\n")
        return
    count = errors = successes = 0
    rewards: list[float] = []
    async for t in loaded.iter_trajectories():
        count += 1
        errors += bool(t.error)
        if t.reward is not None:
            rewards.append(t.reward)
            successes += t.reward >= 1.0
    fields = [
        ("id", loaded.id),
        ("name", loaded.name),
        ("status", loaded.status),
        ("created", loaded.created_at.isoformat(timespec="seconds")),
        ("metadata", json.dumps(loaded.metadata) if loaded.metadata is not None else ""),
        ("trajectories", str(count)),
        ("mean reward", f"{sum(rewards) / len(rewards):.3f}" if rewards else ""),
        ("success rate", f"{successes / count:.1%}" if count else ""),
        ("errors", str(errors)),
    ]
    if loaded.error:
        fields.append(("error", loaded.error))
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        out.write(f"{key.ljust(width)}  {value}\n")


_CSV_COLUMNS = ["id", "reward", "steps", "error", "logs"]


@jobs.command("trajectories")
@click.argument("job_id")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default="table", show_default=True
)
@_run
async def list_trajectories(job_id: str, fmt: str) -> None:
    """List a job's trajectories, oldest first. json, jsonl and csv are exact, for machines."""
    loaded = await load_job(job_id)
    out = sys.stdout
    stream = loaded.iter_trajectories()
    if fmt == "table":
        rows = [(t.id, _reward(t.reward), len(t.trajectory), _short(t.error)) async for t in stream]
        _table(["ID", "REWARD", "STEPS", "ERROR"], rows, out)
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
            writer.writerow([t.id, "" if t.reward is None else repr(t.reward), len(t.trajectory), t.error, t.logs])
