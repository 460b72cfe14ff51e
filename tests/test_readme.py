"""The README's server section, run as written: start a server, make a key, record the quickstart, read it.

The block is taken from README.md and run by bash in the checkout, with an empty HOME (its database goes
there), the virtualenv of the README's first command (`.venv`, which `./scripts/test` uses too) and only
one change: port 8000 becomes a free one, since other servers may hold 8000 on this machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _servers import free_port

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## The server and the CLI"


def server_section() -> str:
    """The first ```bash block after the README's server heading."""
    text = (ROOT / "README.md").read_text("utf-8")
    after = text[text.index(SECTION) :]
    match = re.search(r"^```bash\n(.*?)^```", after, re.S | re.M)
    assert match is not None, "the README's server section has no bash block"
    return match.group(1)


def _untracked() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.live
def test_the_readme_server_section_runs_as_written(tmp_path: Path) -> None:
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip(f"the README uses {ROOT / '.venv'}; these tests run in {sys.prefix}")
    block = server_section()
    assert "8000" in block
    script = block.replace("8000", str(free_port()))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUD_", "VIRTUAL_ENV"))}
    env["HOME"] = str(home)
    untracked = _untracked()

    # -e: the first failing command fails the test. A session of its own, so the server left in the
    # background is stopped with everything else whatever happens. Output to a file: the server keeps
    # a pipe open after bash exits.
    log = tmp_path / "output.txt"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        process.wait(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    output = log.read_text("utf-8", "replace")

    assert process.returncode == 0, output
    recorded = re.search(r"^job: +quickstart: guess the number \((\S+)\)$", output, re.M)
    assert recorded is not None, output
    job_id = recorded.group(1)
    listed = [line for line in output.splitlines() if line.startswith(job_id)]
    assert listed and "completed" in listed[0], output  # `hud jobs list` sees the job, on the server
    assert re.search(rf"^id +{job_id}$", output, re.M), output  # `hud jobs show "$JOB_ID"`: the newest
    assert re.search(r"^trajectories +24 \(24 counted, 0 excluded\)$", output, re.M), output
    assert "id,task_id,gym_id,reward,outcome," in output  # the csv (hud jobs trajectories --format csv)
    assert list((home / ".hud").glob("team.db*")), "the team database is in HOME, outside the checkout"
    assert _untracked() == untracked  # nothing new in the checkout
