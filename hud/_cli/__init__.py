"""The `hud` command line."""

from __future__ import annotations

import click

from hud._cli._jobs import jobs
from hud._cli._reports import compare_jobs, show_job
from hud._cli._server import keys, server, ui
from hud._cli._sync import sync

__all__ = ["main"]
# Registered on `jobs` where they are defined; named here so that importing the package registers them.
_REPORTS = (show_job, compare_jobs)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hud", prog_name="hud")
def main() -> None:
    """HUD: run and inspect agent evaluation jobs."""


main.add_command(server)
main.add_command(keys)
main.add_command(jobs)
main.add_command(ui)
main.add_command(sync)
