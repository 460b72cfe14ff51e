"""The embedded default: one SQLite file shared by several processes, announced once in the log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import hud
from hud._cli import main

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    import hud
    from hud.job import job

    @job("proc-" + sys.argv[1])
    async def run():
        async def one(i):
            env = await hud.gym.make("gym", task_id=str(i))
            await env.record_step(observation_text=f"p{sys.argv[1]} e{i}")
            await env.close(reward=1.0)
        await asyncio.gather(*(one(i) for i in range(15)))
        print(hud.current_job().id)

    asyncio.run(run())
    """
)


def test_several_processes_write_the_same_file_and_the_cli_reads_it(tmp_path: Path) -> None:
    env = {**os.environ, "HUD_HOME": str(tmp_path / "hud-home")}
    env.pop("HUD_BASE_URL", None)
    env.pop("HUD_API_KEY", None)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    job_ids = []
    for process in writers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "locked" not in err
        job_ids.append(out.strip())

    runner = CliRunner()
    listed = runner.invoke(main, ["jobs", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.stderr
    assert {j["id"] for j in json.loads(listed.stdout)} == set(job_ids)
    for n, job_id in enumerate(job_ids):
        shown = runner.invoke(main, ["jobs", "trajectories", job_id, "--format", "jsonl"])
        trajectories = [json.loads(line) for line in shown.stdout.splitlines()]
        assert len(trajectories) == 15
        assert {t["trajectory"][0]["observation_text"].split()[0] for t in trajectories} == {f"p{n}"}


async def test_the_embedded_default_is_announced_once(embedded: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hud")

    await hud.create_job("one")
    await hud.create_job("two")

    announcements = [r for r in caplog.records if "embedded local server" in r.getMessage()]
    assert len(announcements) == 1
    assert str(embedded / "hud.db") in announcements[0].getMessage()
    assert (embedded / "hud.db").exists()
