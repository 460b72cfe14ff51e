"""Progress of long CLI commands: drawn on a terminal's stderr, absent when output is piped."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys

from _terminal import run_with_terminal_stderr

import hud
from hud._cli._progress import Progress
from hud.job import create_job


async def _fill(n: int) -> str:
    target = await create_job("progress")
    for i in range(n):
        async with await hud.gym.make("g", job=target) as env:
            await env.close(reward=float(i % 2))
    await hud.aclose()
    return target.id


def _run_with_terminal_stderr(*args: str) -> tuple[int, str, str]:
    """Runs `hud ARGS` with stdout to a pipe and stderr to a pseudo-terminal; (code, stdout, terminal)."""
    return run_with_terminal_stderr([sys.executable, "-m", "hud._cli", *args])


def test_trajectories_show_progress_on_a_terminal_and_keep_stdout_clean() -> None:
    job_id = asyncio.run(_fill(30))
    code, out, terminal = _run_with_terminal_stderr("jobs", "trajectories", job_id, "--format", "jsonl")
    assert code == 0
    assert len(out.splitlines()) == 30 and all(line.startswith("{") for line in out.splitlines())
    assert "reading trajectories: " in terminal
    assert terminal.endswith("\r\x1b[K")  # the counter is erased at the end

    # `show` reads no trajectory from a server that sums them up itself (`/summary`): nothing to count.
    code, out, terminal = _run_with_terminal_stderr("jobs", "show", job_id)
    assert code == 0 and re.search(r"^trajectories +30 ", out, re.M) and "reading trajectories" not in terminal


def test_piped_output_has_no_progress() -> None:
    job_id = asyncio.run(_fill(5))
    done = subprocess.run(
        [sys.executable, "-m", "hud._cli", "jobs", "show", job_id], capture_output=True, text=True, check=True
    )
    assert re.search(r"^trajectories +5 ", done.stdout, re.M)
    assert "reading" not in done.stderr and "\r" not in done.stderr and "\x1b" not in done.stderr


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal, to see what Progress draws."""

    def isatty(self) -> bool:
        return True


def test_progress_draws_a_bar_with_a_total_and_stays_silent_off_a_terminal() -> None:
    terminal = _Terminal()
    with Progress("environments", total=4, stream=terminal) as progress:
        progress.advance()
    assert "environments [#######" in terminal.getvalue() and "1/4" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")

    quiet = io.StringIO()
    with Progress("environments", total=4, stream=quiet) as progress:
        for _ in range(4):
            progress.advance()
    assert quiet.getvalue() == "" and progress.count == 4
    forced_off = _Terminal()
    with Progress("x", stream=forced_off, enabled=False) as progress:
        progress.advance()
    assert forced_off.getvalue() == ""
