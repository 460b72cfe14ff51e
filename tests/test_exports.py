"""Exports read back with pyarrow and pandas, and `hud jobs compare` / `hud jobs trajectories --format parquet`."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import hud
from hud import _export
from hud._cli import main
from hud.job import Job, create_job, jobs_to_pandas, load_job

COLUMNS = ["id", "task_id", "gym_id", "reward", "outcome", "error_kind", "error", "steps", "created_at",
           "closed_at", "duration", "metadata"]  # fmt: skip


async def _fill(name: str = "exported", rewards: tuple[float, ...] = (1.0, 0.25, 0.0)) -> Job:
    job = await create_job(name, metadata={"agent": name})
    for i, reward in enumerate(rewards):
        async with await hud.gym.make("gym", job=job, task_id=f"t{i % 2}", metadata={"i": i, "ü": "<x>"}) as env:
            for s in range(i):
                await env.record_step(observation_text=f"s{s}")
            await env.close(reward=reward)
    async with await hud.gym.make("gym", job=job, task_id="t9") as env:
        await env.close(error="rate limited", error_kind="infrastructure")
    return job


async def test_to_pandas_and_to_arrow_hold_one_row_per_trajectory(embedded: Path) -> None:
    job = await _fill()
    trajectories = await job.load_trajectories()
    frame = await job.to_pandas()
    assert list(frame.columns) == COLUMNS and len(frame) == 4
    assert list(frame["id"]) == [t.id for t in trajectories]
    assert list(frame["steps"]) == [0, 1, 2, 0]
    assert list(frame["outcome"]) == ["success", "fail", "fail", "excluded"]
    assert frame["reward"].iloc[1] == 0.25 and math.isnan(frame["reward"].iloc[3])
    assert frame["error_kind"].iloc[3] == "infrastructure" and frame["error"].iloc[3] == "rate limited"
    assert json.loads(frame["metadata"].iloc[2]) == {"i": 2, "ü": "<x>"}
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"
    assert list(frame["duration"]) == pytest.approx([t.duration for t in trajectories])
    assert list((await job.to_pandas(success_threshold=0.2))["outcome"])[:2] == ["success", "success"]
    table = await job.to_arrow()
    assert isinstance(table, pa.Table) and table.schema == _export.schema()
    assert table.to_pandas().equals(frame)


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_parquet_export_is_written_batch_by_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = asyncio.run(_fill())
    monkeypatch.setattr(_export, "BATCH_ROWS", 3)
    target = tmp_path / "out.parquet"
    code, _, err = _invoke("jobs", "trajectories", job.id, "--format", "parquet", "--output", str(target))
    assert code == 0 and f"wrote 4 trajectories to {target}" in err
    parquet = pq.ParquetFile(target)
    assert parquet.metadata.num_rows == 4 and parquet.metadata.num_row_groups == 2  # batches of 3, then 1
    expected = asyncio.run(load_job(job.id)).to_arrow()
    assert pq.read_table(target).equals(asyncio.run(expected))
    assert not list(tmp_path.glob("*.partial"))

    code, _, err = _invoke("jobs", "trajectories", job.id, "--format", "parquet")
    assert code == 2 and "pass --output FILE" in err
    code, _, err = _invoke("jobs", "trajectories", job.id, "--format", "csv", "--output", str(target))
    assert code == 2 and "--output is for --format parquet" in err
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _, err = _invoke("jobs", "trajectories", job.id, "--format", "parquet", "--output", str(tmp_path / "x"))
    assert code == 1 and "pip install 'hud[analysis]'" in err


async def test_jobs_to_pandas_has_each_jobs_summary(embedded: Path) -> None:
    first, second = await _fill("first"), await _fill("second", (1.0, 1.0))
    frame = await jobs_to_pandas()
    assert list(frame["id"]) == [second.id, first.id]  # newest first
    row = frame.set_index("id").loc[first.id]
    summary = await first.summary()
    assert (row["trajectories"], row["counted"], row["excluded"], row["tasks"]) == (4, 3, 1, 2)
    assert row["mean_reward"] == summary.mean_reward and row["success_rate"] == summary.success_rate
    assert summary.mean_reward_ci is not None
    assert (row["mean_reward_ci_low"], row["mean_reward_ci_high"]) == summary.mean_reward_ci
    assert json.loads(row["metadata"]) == {"agent": "first"}
    assert len(await jobs_to_pandas(limit=1)) == 1 and len(await jobs_to_pandas(name="nobody")) == 0
    assert isinstance(frame, pd.DataFrame)


def test_hud_jobs_compare(tmp_path: Path) -> None:
    async def fill() -> tuple[str, str]:
        a, b = await create_job("A"), await create_job("B")
        for i in range(6):
            for job, reward in ((a, 0.0 if i % 3 else 1.0), (b, 1.0 if i % 3 else 0.5)):
                async with await hud.gym.make("g", job=job, task_id=f"task-{i}") as env:
                    await env.close(reward=reward)
        return a.id, b.id

    job_a, job_b = asyncio.run(fill())
    code, out, err = _invoke("jobs", "compare", job_a, job_b)
    assert code == 0, err
    lines = {line.split("  ")[0]: line.split("  ", 1)[-1].strip() for line in out.splitlines()}
    # Differences +1 on four tasks, -0.5 on two: a paired t interval of 0.5 ± 2.571 * 0.316.
    assert lines["answer"] == (
        "no detectable difference (+0.50, 95% CI -0.31 to 1.31, p = 0.17); with 6 tasks the smallest detectable is 1.11"
    )
    assert lines["tasks"] == "6 paired, 0 only in A, 0 only in B"
    assert lines["mean reward"] == "A 0.333, B 0.833"
    assert lines["improved"].startswith("4: task-1, task-2, task-4, task-5")
    assert lines["regressed"] == "2: task-0, task-3"
    code, out, _ = _invoke("jobs", "compare", job_a, job_b, "--format", "json", "--success-threshold", "0.5")
    shown = json.loads(out)
    assert code == 0 and shown["tasks_paired"] == 6 and shown["success_threshold"] == 0.5
    assert shown["success_diff"] == pytest.approx(4 / 6)  # B succeeds everywhere at 0.5, A on two tasks
    code, _, err = _invoke("jobs", "compare", job_a, "no-such-job")
    assert code == 1 and "no-such-job" in err
