"""`run_job(resume=...)` against the embedded server: only what is missing runs, into the same job."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

import hud
from hud.errors import InvalidInputError, JobBusyError
from hud.gym import Environment
from hud.job import Job, Task, create_job, load_job, run_job
from hud.trajectory import Trajectory


class RateLimited(Exception):
    pass


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hud._attempts.RUN_BACKOFF_BASE", 0.001)


async def _state(job_id: str) -> tuple[Job, list[Trajectory], int]:
    """The job now, its trajectories, and how many environments it has (open or closed)."""
    job = await load_job(job_id)
    return job, await job.load_trajectories(), len([e async for e in job.iter_environments()])


def _counted(trajectories: list[Trajectory]) -> collections.Counter[str]:
    return collections.Counter(t.task_id or "" for t in trajectories if t.counts)


async def test_resume_runs_only_the_missing_attempts_into_the_same_job(embedded: Path) -> None:
    tasks = ["a", "b", "c"]
    failing = {"b"}
    calls: collections.Counter[str] = collections.Counter()

    async def agent(env: Environment, task: Task) -> float:
        calls[task.id] += 1
        if task.id in failing:
            raise RateLimited("provider down")
        return 1.0

    first = await run_job("eval", tasks, agent, gym_id="gym", repeats=2, retries=1, infra_errors=(RateLimited,))
    assert first.status == "failed"
    _, before, _ = await _state(first.id)
    assert _counted(before) == {"a": 2, "c": 2}
    assert calls == {"a": 2, "c": 2, "b": 2 * 2}

    failing.clear()
    calls.clear()
    statuses: list[str] = []

    async def watching(env: Environment, task: Task) -> float:
        statuses.append((await load_job(first.id)).status)
        return await agent(env, task)

    resumed = await run_job("eval", tasks, watching, gym_id="gym", repeats=2, resume=first.id)
    assert (resumed.id, resumed.status, resumed.error) == (first.id, "completed", None)
    assert calls == {"b": 2} and statuses == ["running", "running"]
    _, after, _ = await _state(first.id)
    assert _counted(after) == {"a": 2, "b": 2, "c": 2}
    assert {t.id for t in before} < {t.id for t in after}  # nothing of the first run lost, nothing twice
    assert len(after) == len(before) + 2


async def test_a_second_resume_runs_nothing_and_writes_nothing(embedded: Path) -> None:
    called = 0

    async def agent(env: Environment, task: Task) -> float:
        nonlocal called
        called += 1
        return 0.0

    job = await run_job("eval", ["a", "b"], agent, gym_id="gym", repeats=3)
    assert called == 6
    before = await _state(job.id)
    again = await run_job("eval", ["a", "b"], agent, gym_id="gym", repeats=3, resume=job)
    assert called == 6
    assert again.status == "completed"
    assert await _state(job.id) == before  # same status, heartbeat, trajectories and environments


async def test_resume_with_more_repeats_or_more_tasks_adds_just_those(embedded: Path) -> None:
    async def agent(env: Environment, task: Task) -> float:
        return 1.0

    job = await run_job("eval", ["a"], agent, gym_id="gym", repeats=1)
    resumed = await run_job("eval", ["a", "b"], agent, gym_id="gym", repeats=3, resume=job.id)
    assert resumed.status == "completed"
    _, trajectories, environments = await _state(job.id)
    assert _counted(trajectories) == {"a": 3, "b": 3} and environments == 6


async def test_resume_reruns_what_does_not_count_and_leaves_other_tasks_alone(embedded: Path) -> None:
    job = await create_job("eval")
    for task_id, kind in [("a", None), ("a", "cancelled"), ("a", "crashed"), ("a", "agent"), ("z", None)]:
        env = await hud.gym.make("gym", job=job, task_id=task_id)
        await env.close(reward=1.0, error=kind and "failed", error_kind=kind)
    ran: list[str] = []

    async def agent(env: Environment, task: Task) -> float:
        ran.append(task.id)
        return 1.0

    resumed = await run_job("eval", ["a"], agent, gym_id="gym", repeats=3, resume=job.id)
    assert ran == ["a"]  # a: 2 count (success, agent failure); cancelled and crashed do not
    _, trajectories, _ = await _state(resumed.id)
    assert _counted(trajectories) == {"a": 3, "z": 1}


async def test_resume_refuses_another_setup_and_keeps_the_jobs_name(
    embedded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def agent(env: Environment, task: Task) -> float:
        return 1.0

    job = await run_job("eval", ["a"], agent, gym_id="gym", metadata={"model": "m1"}, repeats=2)
    with pytest.raises(InvalidInputError, match=r"differs from job .* on 'model'"):
        await run_job("eval", ["a"], agent, gym_id="gym", metadata={"model": "m2"}, repeats=3, resume=job.id)
    with pytest.raises(InvalidInputError, match="resume must be a Job"):
        await run_job("eval", ["a"], agent, gym_id="gym", resume=42)  # type: ignore[arg-type]
    assert _counted((await _state(job.id))[1]) == {"a": 2}
    # The same setup with a new key: the key is merged in, then the missing attempt runs.
    resumed = await run_job(
        "eval", ["a"], agent, gym_id="gym", metadata={"model": "m1", "note": "resumed"}, repeats=3, resume=job.id
    )
    assert resumed.metadata == {"model": "m1", "note": "resumed"}
    assert _counted((await _state(job.id))[1]) == {"a": 3}
    renamed = await run_job("other", ["a"], agent, gym_id="gym", repeats=4, resume=job.id)
    assert (renamed.name, _counted((await _state(job.id))[1])) == ("eval", {"a": 4})
    assert any("named 'eval' (not 'other')" in r.getMessage() for r in caplog.records)


async def test_resume_of_a_running_job_without_a_lease_is_refused(embedded: Path) -> None:
    job = await create_job("eval")
    await job.update(status="running")  # as a platform client or a person would: no heartbeats

    async def agent(env: Environment, task: Task) -> float:
        return 1.0

    with pytest.raises(JobBusyError, match=f"hud jobs set-status {job.id} crashed"):
        await run_job("eval", ["a"], agent, gym_id="gym", resume=job.id)
    assert (await _state(job.id))[1:] == ([], 0)
