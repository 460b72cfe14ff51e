"""`hud --help` and every group's help read whole; a missing extra says how to install it from here."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hud._cli import main

ROOT = Path(__file__).resolve().parent.parent


def _groups(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _groups(command, (*path, name))
    return found


@pytest.mark.parametrize("path", _groups(main), ids=lambda p: " ".join(("hud", *p)))
def test_every_command_listing_reads_whole(path: tuple[str, ...]) -> None:
    # 80 columns: what a default terminal shows. Click cuts a description it finds too long with "...".
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=80)

    assert result.exit_code == 0
    listing = result.stdout.split("Commands:\n", 1)[1]
    rows = [line for line in listing.splitlines() if line.strip()]
    assert rows
    assert "..." not in listing, listing
    entries = [row for row in rows if not row.startswith(" " * 6)]  # a row, not its wrapped continuation
    for row in entries:
        assert row.rstrip().endswith("."), f"{' '.join(path)}: {row!r} is not a whole sentence"


def test_a_missing_server_extra_names_the_pip_and_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` raises ImportError, as without the extra

    for command in (["server"], ["ui"]):
        result = CliRunner().invoke(main, command)

        assert result.exit_code == 1
        # This interpreter's pip, and this checkout (installed with -e): not `hud[server]` from the index.
        assert f"{sys.executable} -m pip install -e '{ROOT}[server]'" in result.stderr, result.stderr
