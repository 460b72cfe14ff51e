"""`hud sync`: copy jobs to a `hud server`, keeping their ids (exactly once, resumable, incremental)."""

from __future__ import annotations

import asyncio
import sys

import click

from hud._cli._progress import Progress
from hud._sync import sync_settings
from hud._syncer import Syncer
from hud.errors import ConfigurationError, HudError

__all__ = ["sync"]


def _key(option: str, value: str | None, variable: str) -> str | None:
    """A key given on the command line: `-` reads it from stdin; a literal one works, with a warning."""
    if value is None:
        return None
    if value == "-":
        key = sys.stdin.readline().strip()
        if not key:
            raise click.UsageError(f"{option} -: stdin gave no key")
        return key
    click.echo(
        f"hud: warning: {option} puts the key in the process list and the shell's history; "
        f"export {variable} instead (or pass {option} - and give the key on stdin)",
        err=True,
    )
    return value


@click.command("sync")
@click.option("--to", "to_url", required=True, metavar="URL", help="The server to copy to.")
@click.option("--to-key", metavar="KEY", help="Its API key; better: export HUD_SYNC_TO_KEY. '-' reads it from stdin.")
@click.option(
    "--from",
    "from_url",
    metavar="URL",
    help="Copy from this server instead of where the SDK points (the embedded store when nothing is set).",
)
@click.option("--from-key", metavar="KEY", help="Its API key; better: export HUD_SYNC_FROM_KEY. '-': from stdin.")
@click.option("--job", "job_ids", multiple=True, metavar="JOB_ID", help="A job to copy; repeat for more.")
@click.option("--all", "all_jobs", is_flag=True, help="Copy every job of the source.")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; copy nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sync(
    to_url: str,
    to_key: str | None,
    from_url: str | None,
    from_key: str | None,
    job_ids: tuple[str, ...],
    all_jobs: bool,
    dry_run: bool,
    fmt: str,
) -> None:
    """Copy jobs to a server, keeping their ids.

    Record offline (the embedded store, on a laptop or a cluster node), then copy to the team's `hud
    server`. Only what the server lacks is sent: run it again after an interruption, or while a job
    still runs, and it adds what is new, never a duplicate. Exits 1 when anything could not be copied
    (each reason is printed), 130 when interrupted.
    """
    if all_jobs == bool(job_ids):
        raise click.UsageError("name the jobs to copy with --job JOB_ID (repeatable), or copy them all with --all")
    if to_key == "-" and from_key == "-":
        raise click.UsageError("only one of --to-key and --from-key can read stdin: export the other's variable")
    try:
        source, target = sync_settings(
            to_url,
            _key("--to-key", to_key, "HUD_SYNC_TO_KEY"),
            from_url,
            _key("--from-key", from_key, "HUD_SYNC_FROM_KEY"),
        )
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    if source.target == "embedded" and not source.database_path.is_file():
        raise click.ClickException(
            f"nothing to copy: the embedded store has no database at {source.database_path} (set HUD_HOME to the "
            "folder the jobs were recorded in, or --from URL)"
        )
    with Progress("hud sync: jobs", stream=sys.stderr) as progress:

        def show(syncer: Syncer) -> None:
            report = syncer.report
            done = report.trajectories.copied + report.trajectories.skipped
            detail = f"{done:,} trajectories, {report.bytes_sent / 1e6:,.1f} MB sent"
            progress.update(syncer.jobs_done, total=syncer.jobs_total, detail=detail)

        syncer = Syncer(source, target, dry_run=dry_run, on_progress=show)
        code = 0
        try:
            asyncio.run(syncer.run(list(job_ids) if job_ids else None))
        except HudError as exc:
            click.echo(f"hud: error: {exc}", err=True)
            code = 1
        except KeyboardInterrupt:
            syncer.report.stopped = "interrupted (Ctrl-C)"
            code = 130
    report = syncer.report
    if fmt == "json":
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(report.text())
    sys.exit(code or (0 if report.ok else 1))
