"""`run_job`'s progress line: drawn on a terminal's stderr (a real pseudo-terminal), absent when piped."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from _terminal import run_with_terminal_stderr

from hud._progress import RunProgress, RunStats

# 8 tasks x 2: two attempts fail as the agent's, one as infrastructure (then retried); success rate 10/16.
SCRIPT = """
import asyncio
from hud.job import run_job

class Flaky(Exception):
    pass

calls = {}

async def agent(env, task):
    calls[task.id] = calls.get(task.id, 0) + 1
    if task.id == "t0" and calls[task.id] == 1:
        raise Flaky("rate limited")
    if task.id in ("t1", "t2") and calls[task.id] == 2:
        raise ValueError("bug")
    await asyncio.sleep(0.15)
    return 1.0 if int(task.id[1:]) % 4 else 0.0

job = asyncio.run(run_job("progress-run", [f"t{i}" for i in range(8)], agent, gym_id="g", repeats=2,
                          max_concurrent=3, infra_errors=(Flaky,)))
print(job.status)
"""


def _run(home: Path, stderr_to_terminal: bool) -> tuple[str, str]:
    """Runs SCRIPT with stdout to a pipe and stderr to a pseudo-terminal or a pipe; (stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUD_")}
    env["HUD_HOME"] = str(home)
    command = [sys.executable, "-c", SCRIPT]
    if not stderr_to_terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout, done.stderr
    code, out, terminal = run_with_terminal_stderr(command, env=env, timeout=120)
    assert code == 0
    return out, terminal


def test_the_progress_line_shows_done_success_errors_and_concurrency_on_a_terminal(tmp_path: Path) -> None:
    out, terminal = _run(tmp_path / "home", stderr_to_terminal=True)
    assert out == "completed\n"  # stdout stays the program's own
    assert "\r\x1b[K" in terminal  # redrawn in place
    lines = [line for line in re.split(r"\r\x1b\[K|\r?\n", terminal) if line.startswith("progress-run [")]
    assert lines, terminal
    assert re.search(r" 0/16 · success - · concurrency 3/3$", lines[0]), lines[0]
    final = lines[-1]  # the last draw stays on screen, with the time the run took
    assert re.search(
        r"\[#{20}\] 16/16 · success 62\.5% · errors agent 2, infrastructure 1 · concurrency \d/3 · [\d.]+ s$", final
    ), final
    assert terminal.rstrip("\r\n").endswith(final)


def test_nothing_is_drawn_when_stderr_is_piped(tmp_path: Path) -> None:
    out, err = _run(tmp_path / "home", stderr_to_terminal=False)
    assert out == "completed\n"
    assert "progress-run [" not in err and "\r" not in err and "\x1b" not in err


def test_the_line_fits_the_terminal_and_says_what_is_missing() -> None:
    stats = RunStats(total=10, maximum=32, done=10, counted=7, successes=3, given_up=3, limit=4)
    stats.errors.update({"infrastructure": 12, "timeout": 1})
    wide, narrow = io.StringIO(), io.StringIO()
    RunProgress("job", stats, stream=wide, enabled=True).tick()
    assert wide.getvalue() == (
        "\r\x1b[Kjob [####################] 10/10 · success 42.9% · errors infrastructure 12, timeout 1 · "
        "missing 3 · concurrency 4/32"
    )
    RunProgress("job", stats, stream=narrow, enabled=False).tick()
    assert narrow.getvalue() == ""
