"""`hud jobs ...` through click's runner, on the embedded default a script wrote to."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

import hud
from hud._cli import main
from hud.job import create_job, load_job


async def _fill() -> str:
    target = await create_job("cli-eval", metadata={"k": "v"})
    for i, (reward, error) in enumerate([(1.0, None), (0.0, "boom, with a comma\nand a newline"), (None, None)]):
        env = await hud.gym.make("gym", job=target)
        for s in range(i):
            await env.record_step(observation_text=f"s{s}")
        await env.close(reward=reward, error=error, logs='say "hi"')
    await target.update(status="completed")
    return target.id


@pytest.fixture
def job_id() -> str:
    return asyncio.run(_fill())


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_jobs_list_table_and_json(job_id: str) -> None:
    code, out, _ = _invoke("jobs", "list")
    assert code == 0
    header, _rule, row = out.splitlines()
    assert header.split() == ["ID", "NAME", "STATUS", "CREATED"]
    assert row.startswith(job_id) and "completed" in row

    code, out, _ = _invoke("jobs", "list", "--format", "json", "--status", "completed")
    assert code == 0
    (listed,) = json.loads(out)
    assert (listed["id"], listed["name"], listed["metadata"]) == (job_id, "cli-eval", {"k": "v"})

    code, out, _ = _invoke("jobs", "list", "--format", "jsonl", "--status", "running")
    assert (code, out) == (0, "")


def test_jobs_list_by_name_up_to_a_limit() -> None:
    async def fill() -> dict[str, list[str]]:
        made: dict[str, list[str]] = {"a": [], "b": []}
        for i in range(7):
            name = "a" if i % 2 == 0 else "b"
            made[name].append((await create_job(name)).id)
        return made

    made = asyncio.run(fill())

    def listed(*options: str) -> list[tuple[str, str]]:
        code, out, err = _invoke("jobs", "list", "--format", "jsonl", *options)
        assert code == 0, err
        return [(j["id"], j["name"]) for j in map(json.loads, out.splitlines())]

    newest_a = [(job_id, "a") for job_id in reversed(made["a"])]
    assert listed("--name", "a") == newest_a
    assert listed("--name", "a", "--limit", "2") == newest_a[:2]
    assert len(listed("--limit", "5")) == 5
    assert len(listed()) == 7
    assert listed("--name", "c") == []
    code, _, err = _invoke("jobs", "list", "--limit", "0")
    assert code == 2 and "--limit" in err


def test_jobs_show_as_json_is_the_job(job_id: str) -> None:
    code, out, _ = _invoke("jobs", "show", job_id, "--format", "json")

    assert code == 0
    assert json.loads(out) == asyncio.run(load_job(job_id)).model_dump(mode="json")
    assert json.loads(out)["status"] == "completed"


def test_jobs_show_summarises(job_id: str) -> None:
    code, out, _ = _invoke("jobs", "show", job_id)

    assert code == 0
    fields = dict(line.split(None, 1) if " " in line else (line, "") for line in out.splitlines())
    lines = {line.split("  ")[0]: line.split("  ")[-1].strip() for line in out.splitlines()}
    assert lines["trajectories"] == "3 (3 counted, 0 excluded)"
    assert lines["open environments"] == "0"
    assert lines["mean reward"] == "0.500"
    assert lines["success rate"] == "33.3% (reward >= 1)"
    assert lines["errors"] == "1 (agent 1)"
    assert fields["status"].strip() == "completed"


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_trajectories_machine_formats_are_exact(job_id: str, fmt: str) -> None:
    expected = [t.model_dump(mode="json") for t in asyncio.run(_load(job_id))]

    code, out, _ = _invoke("jobs", "trajectories", job_id, "--format", fmt)

    assert code == 0
    if fmt == "json":
        assert json.loads(out) == expected
    elif fmt == "jsonl":
        assert [json.loads(line) for line in out.splitlines()] == expected
    else:
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["id"] for r in rows] == [t["id"] for t in expected]
        assert [r["reward"] for r in rows] == ["1.0", "0.0", ""]
        assert rows[1]["error"] == "boom, with a comma\nand a newline"
        assert rows[0]["logs"] == 'say "hi"'
        assert [r["steps"] for r in rows] == ["0", "1", "2"]


async def _load(job_id: str) -> list[hud.Trajectory]:
    return await (await hud.load_job(job_id)).load_trajectories()


def test_trajectories_table_is_readable(job_id: str) -> None:
    code, out, _ = _invoke("jobs", "trajectories", job_id)

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("  ") and [h for h in re.split(r"\s{2,}", lines[0].strip())] == [
        "ID",
        "TASK",
        "REWARD",
        "OUTCOME",
        "ERROR KIND",
        "STEPS",
        "DURATION",
        "ERROR",
    ]
    assert len(lines) == 5
    assert "boom, with a comma and a newline" in out


def test_errors_are_one_line_and_a_nonzero_exit(job_id: str) -> None:
    code, out, err = _invoke("jobs", "show", "no-such-job")

    assert code == 1
    assert out == ""
    assert err.startswith("Error: getJob: HTTP 404 from the embedded local server (")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_input_is_one_line_too(job_id: str) -> None:
    code, _, err = _invoke("jobs", "show", "..")

    assert code == 1
    assert err.strip() == "Error: job_id must not be '..'"


async def _with_open_environment() -> tuple[str, str]:
    target = await create_job("to-clean-up")
    env = await hud.gym.make("gym", job=target, task_id="t-open")
    await env.record_step(observation_text="kept")
    await target.update(status="running")
    return target.id, env.id


def test_show_counts_open_environments_and_cancel_closes_them() -> None:
    job_id, env_id = asyncio.run(_with_open_environment())
    code, out, _ = _invoke("jobs", "show", job_id)
    assert code == 0 and re.search(r"^open environments +1$", out, re.M)

    code, out, err = _invoke("jobs", "cancel", job_id)
    assert (code, out) == (0, "") and f"job {job_id} is cancelled" in err
    code, out, _ = _invoke("jobs", "trajectories", job_id, "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert (row["id"], row["task_id"], row["gym_id"], row["error_kind"], row["outcome"]) == (
        env_id,
        "t-open",
        "gym",
        "cancelled",
        "excluded",
    )
    assert row["steps"] == "1" and float(row["duration"]) >= 0 and row["created_at"] <= row["closed_at"]
    code, out, _ = _invoke("jobs", "show", job_id)
    assert re.search(r"^open environments +0$", out, re.M) and re.search(r"^status +cancelled$", out, re.M)


def test_set_status_by_hand(job_id: str) -> None:
    code, _, err = _invoke("jobs", "set-status", job_id, "failed", "--error", "found broken by hand")
    assert code == 0 and "is failed" in err
    code, out, _ = _invoke("jobs", "show", job_id, "--format", "json")
    shown = json.loads(out)
    assert (shown["status"], shown["error"]) == ("failed", "found broken by hand")
    code, _, err = _invoke("jobs", "set-status", job_id, "")
    assert code == 1 and "status" in err


def test_list_quiet_prints_only_ids_newest_first(job_id: str) -> None:
    newer = asyncio.run(create_job("newer")).id

    code, out, _ = _invoke("jobs", "list", "--quiet")
    assert (code, out) == (0, f"{newer}\n{job_id}\n")
    code, out, _ = _invoke("jobs", "list", "--limit", "1", "-q")
    assert (code, out) == (0, f"{newer}\n")


def test_an_empty_list_says_where_it_looked(job_id: str) -> None:
    code, out, err = _invoke("jobs", "list", "--status", "no-such-status", "--format", "json")

    assert (code, out) == (0, "[]\n")  # the data stays exact for scripts
    assert err.startswith("hud: no jobs match on the embedded local server (")
    assert str(hud.get_settings().database_path) in err
