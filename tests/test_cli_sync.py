"""`hud sync` on the command line: the report, exit statuses, keys kept out of argv and output, progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _stores import server_client
from test_cli_progress import _run_with_terminal_stderr
from test_sync import finished_job, running_job

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("embedded")]


def hud_sync(*args: str, key: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`hud sync ARGS` in a child process; `key` goes in HUD_SYNC_TO_KEY."""
    env = dict(os.environ)
    if key is not None:
        env["HUD_SYNC_TO_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "hud._cli", "sync", *args],
        env=env,
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_sync_prints_the_report_and_exits_0_then_says_nothing_to_copy(target: tuple[str, str]) -> None:
    base_url, key = target
    job = await finished_job(3)
    done = hud_sync("--to", base_url, "--all", key=key)
    assert done.returncode == 0, done.stderr
    assert "environments            3              0" in done.stdout
    assert key not in done.stdout + done.stderr
    again = hud_sync("--to", base_url, "--job", job.id, "--format", "json", key=key)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["ok"] and report["copied_nothing"] and report["trajectories"] == {"copied": 0, "skipped": 3}


async def test_anything_not_copied_exits_1_with_the_reason(embedded: Path, target: tuple[str, str]) -> None:
    base_url, key = target
    job, _ = await running_job(embedded)
    assert hud_sync("--to", base_url, "--all", key=key).returncode == 0
    async with server_client(base_url, key) as client:
        assert (await client.patch(f"/v2/jobs/{job.id}", json={"status": "failed"})).status_code == 200
    await job.update(status="completed")
    done = hud_sync("--to", base_url, "--all", key=key)
    assert done.returncode == 1
    assert f"not copied: job {job.id} (job {job.id}): the job is failed at the target and completed" in done.stdout


async def test_an_unreachable_target_exits_1_and_says_to_run_again(
    target: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await finished_job(1)
    monkeypatch.setenv("HUD_MAX_RETRIES", "0")
    done = hud_sync("--to", "http://127.0.0.1:9", "--all", key=target[1])
    assert done.returncode == 1
    assert "hud: error:" in done.stderr and "stopped:" in done.stdout and "run the same command again" in done.stdout
    # The error names the option that chose the address, not HUD_BASE_URL, which is not set.
    assert "the server at http://127.0.0.1:9 (hud sync --to)" in done.stderr and "HUD_BASE_URL" not in done.stderr
    assert target[1] not in done.stdout + done.stderr


async def test_keys_stay_out_of_the_command_line_unless_given_there(target: tuple[str, str]) -> None:
    base_url, key = target
    await finished_job(1)
    from_stdin = hud_sync("--to", base_url, "--all", "--to-key", "-", stdin=key + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert "warning" not in from_stdin.stderr
    literal = hud_sync("--to", base_url, "--all", "--to-key", key)
    assert literal.returncode == 0
    assert "--to-key puts the key in the process list" in literal.stderr and "HUD_SYNC_TO_KEY" in literal.stderr
    assert key not in literal.stdout + literal.stderr


def test_wrong_usage_says_what_to_do(target: tuple[str, str]) -> None:
    base_url, key = target
    neither = hud_sync("--to", base_url, key=key)
    assert neither.returncode == 2 and "--job JOB_ID" in neither.stderr and "--all" in neither.stderr
    no_key = hud_sync("--to", base_url, "--all")
    assert no_key.returncode == 1 and "export HUD_SYNC_TO_KEY" in no_key.stderr
    same = hud_sync("--to", base_url, "--from", base_url + "/", "--from-key", "-", "--all", key=key, stdin="k\n")
    assert same.returncode == 1 and "the same server" in same.stderr
    not_a_url = hud_sync("--to", "ftp://example.com", "--all", key=key)
    assert (
        not_a_url.returncode == 1 and "hud sync --to: 'ftp://example.com' is not a server's address" in not_a_url.stderr
    )
    wrong = hud_sync("--to", base_url, "--all", key="hud_wrong-key")
    assert wrong.returncode == 1 and "hud_wrong-key" not in wrong.stdout + wrong.stderr


def test_an_empty_embedded_store_says_where_it_looked(target: tuple[str, str]) -> None:
    done = hud_sync("--to", target[0], "--all", key=target[1])
    assert done.returncode == 1 and "no database at" in done.stderr and "HUD_HOME" in done.stderr


async def test_progress_is_drawn_on_a_terminal_and_erased(
    target: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, key = target
    await finished_job(3)
    monkeypatch.setenv("HUD_SYNC_TO_KEY", key)
    code, out, terminal = _run_with_terminal_stderr("sync", "--to", base_url, "--all")
    assert code == 0, terminal
    assert "hud sync: jobs [" in terminal and "trajectories" in terminal and "MB sent" in terminal
    assert terminal.endswith("\r\x1b[K")
    assert "hud sync: jobs" not in out
