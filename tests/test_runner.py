"""`run_job` against the embedded server: outcomes, error kinds, retries, fatal errors, cancellation."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import pytest
from _faults import inject

import hud
from hud.errors import AuthenticationError, InvalidInputError
from hud.gym import Environment
from hud.job import Job, Task, load_job, run_job
from hud.trajectory import Trajectory


class RateLimited(Exception):
    """What a provider's SDK raises on a rate limit: declared as infrastructure."""


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-attempts after milliseconds: these tests count what is recorded, not how long the runner waits."""
    monkeypatch.setattr("hud._attempts.RUN_BACKOFF_BASE", 0.001)
    monkeypatch.setenv("HUD_MAX_RETRIES", "0")  # an injected error status reaches the runner at once
    hud.get_settings.cache_clear()


async def _trajectories(job: Job) -> list[Trajectory]:
    return await (await load_job(job.id)).load_trajectories()


def _counted_per_task(trajectories: list[Trajectory]) -> collections.Counter[str]:
    return collections.Counter(t.task_id or "" for t in trajectories if t.counts)


async def test_every_task_ends_with_exactly_repeats_counted_trajectories_whatever_fails(embedded: Path) -> None:
    tasks = [f"t{i}" for i in range(12)]
    repeats = 3
    calls: collections.Counter[str] = collections.Counter()

    async def agent(env: Environment, task: Task) -> float | None:
        calls[task.id] += 1
        n, i = calls[task.id], int(task.id[1:])
        await env.record_step(observation_text=f"call {n}")
        if i % 4 == 0 and n <= 2:
            raise RateLimited("429 from the provider")  # declared infrastructure: retried
        if i % 4 == 1 and n == 1:
            raise hud.errors.APIConnectionError("the gym went away")  # an SDK error: infrastructure
        if i % 4 == 2 and n == 2:
            raise ValueError("the agent's bug")  # counts, as a failure
        if i % 4 == 3 and n == 3:
            await asyncio.sleep(3600)  # past the per-attempt timeout: counts, as a failure
        return 1.0 if n % 2 else 0.25

    job = await run_job(
        "eval", tasks, agent, gym_id="gym", repeats=repeats, max_concurrent=5, timeout=0.5, infra_errors=(RateLimited,)
    )
    assert job.status == "completed"
    trajectories = await _trajectories(job)
    assert _counted_per_task(trajectories) == dict.fromkeys(tasks, repeats)
    kinds = collections.Counter(t.error_kind for t in trajectories)
    assert kinds == {None: 36 - 3 - 3, "infrastructure": 3 * 2 + 3, "agent": 3, "timeout": 3}
    assert {t.task_id for t in trajectories if t.error_kind == "infrastructure"} == {
        f"t{i}" for i in range(12) if i % 4 in (0, 1)
    }
    for t in trajectories:  # every try stays recorded with its steps, linked to its task and gym
        assert (t.gym_id, len(t.trajectory), t.closed_at is not None) == ("gym", 1, True)
    timeouts = [t for t in trajectories if t.error_kind == "timeout"]
    assert all(t.error is not None and t.error.startswith("timed out after") for t in timeouts)
    assert all(t.reward is None and t.counted_reward == 0.0 for t in timeouts)


async def test_an_environment_that_cannot_be_made_is_retried(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faults = inject(monkeypatch, "POST", "/v2/create_environment", [503, 503, 429])

    async def agent(env: Environment, task: Task) -> float:
        return 1.0

    job = await run_job("eval", ["a", "b"], agent, gym_id="gym", repeats=2, retries=3)
    assert faults.answered == [503, 503, 429]
    assert job.status == "completed"
    trajectories = await _trajectories(job)
    # Nothing was made for the refused creates, so nothing of them is recorded; each attempt still ran.
    assert _counted_per_task(trajectories) == {"a": 2, "b": 2}
    assert len(trajectories) == 4


async def test_attempts_still_failing_after_their_retries_leave_the_job_failed_saying_how_to_resume(
    embedded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def agent(env: Environment, task: Task) -> float:
        if task.id == "bad":
            raise RateLimited("quota exhausted")
        return 1.0

    job = await run_job("eval", ["ok", "bad"], agent, gym_id="gym", repeats=2, retries=2, infra_errors=(RateLimited,))
    assert job.status == "failed"
    assert job.error is not None
    assert job.error.startswith("2 attempt(s) still missing: infrastructure errors went on after 2 retries")
    assert "RateLimited: quota exhausted" in job.error and f"resume={job.id!r}" in job.error
    assert any("still missing" in r.getMessage() for r in caplog.records)
    trajectories = await _trajectories(job)
    assert _counted_per_task(trajectories) == {"ok": 2}
    assert sum(t.task_id == "bad" and t.error_kind == "infrastructure" for t in trajectories) == 2 * 3


async def test_the_agent_may_close_the_environment_itself(embedded: Path) -> None:
    async def agent(env: Environment, task: Task) -> float | None:
        if task.id == "closes":
            await env.close(reward=0.5, logs="closed by the agent")
            return 1.0  # ignored: the environment is closed already
        if task.id == "closes-then-raises":
            await env.close(reward=0.0)
            raise ValueError("after closing")
        return None

    job = await run_job("eval", ["closes", "closes-then-raises", "unscored"], agent, gym_id="gym")
    assert job.status == "completed"
    found = {t.task_id: (t.reward, t.logs, t.error_kind) for t in await _trajectories(job)}
    assert found == {
        "closes": (0.5, "closed by the agent", None),
        "closes-then-raises": (0.0, None, None),
        "unscored": (None, None, None),
    }


@pytest.mark.parametrize("bad", ["1.0", float("nan"), True])
async def test_a_reward_that_is_not_one_is_the_agents_error(embedded: Path, bad: object) -> None:
    async def agent(env: Environment, task: Task) -> float:
        return bad  # type: ignore[return-value]

    job = await run_job("eval", ["t"], agent, gym_id="gym")
    [trajectory] = await _trajectories(job)
    assert trajectory.error_kind == "agent" and trajectory.counts
    assert trajectory.error is not None and "not a reward" in trajectory.error


async def test_a_sync_agent_stops_the_run_at_once(embedded: Path) -> None:
    def agent(env: Environment, task: Task) -> float:
        return 1.0

    with pytest.raises(TypeError, match="must be an async function"):
        await run_job("eval", [f"t{i}" for i in range(50)], agent, gym_id="gym", max_concurrent=1)  # type: ignore[arg-type]
    [job] = [j async for j in hud.job.iter_jobs(name="eval")]
    assert job.status == "failed"
    [trajectory] = await job.load_trajectories()
    assert trajectory.error_kind == "agent"


async def test_environments_that_can_never_be_made_stop_the_run(
    embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject(monkeypatch, "POST", "/v2/create_environment", [401] * 1000)
    called = 0

    async def agent(env: Environment, task: Task) -> float:
        nonlocal called
        called += 1
        return 1.0

    with pytest.raises(AuthenticationError):
        await run_job("eval", [f"t{i}" for i in range(100)], agent, gym_id="gym", max_concurrent=4)
    [job] = [j async for j in hud.job.iter_jobs(name="eval")]
    assert job.status == "failed" and called == 0


async def test_cancelling_the_run_cancels_the_job_and_closes_its_environments(embedded: Path) -> None:
    started = asyncio.Event()
    env_ids: list[str] = []

    async def agent(env: Environment, task: Task) -> float:
        env_ids.append(env.id)
        if len(env_ids) == 3:
            started.set()
        await asyncio.sleep(3600)
        return 1.0

    run = asyncio.create_task(run_job("eval", ["a", "b", "c", "d"], agent, gym_id="gym", max_concurrent=3))
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    [job] = [j async for j in hud.job.iter_jobs(name="eval")]
    assert job.status == "cancelled"
    trajectories = await job.load_trajectories()
    assert sorted(t.id for t in trajectories) == sorted(env_ids)
    assert {t.error_kind for t in trajectories} == {"cancelled"}


async def test_a_cancelled_error_raised_by_the_agent_itself_is_one_cancelled_try(embedded: Path) -> None:
    calls: collections.Counter[str] = collections.Counter()

    async def agent(env: Environment, task: Task) -> float:
        calls[task.id] += 1
        if task.id == "odd" and calls[task.id] == 1:
            raise asyncio.CancelledError  # as code that misuses cancellation does; nothing cancelled the run
        return 1.0

    job = await run_job("eval", ["odd", "even"], agent, gym_id="gym", repeats=2, max_concurrent=1)
    assert job.status == "completed"
    trajectories = await _trajectories(job)
    assert _counted_per_task(trajectories) == {"odd": 2, "even": 2}
    assert [t.task_id for t in trajectories if t.error_kind == "cancelled"] == ["odd"]


async def test_tasks_as_task_dict_or_str_reach_the_agent_with_their_fields(embedded: Path) -> None:
    class Prompted(Task):
        prompt: str

    seen: dict[str, Task] = {}

    async def agent(env: Environment, task: Task) -> float:
        seen[task.id] = task
        assert env.task_id == task.id
        return 1.0

    tasks: list[Task | dict[str, object] | str] = [
        Prompted(id="typed", prompt="p", gym_id="other-gym"),
        {"id": "dict", "metadata": {"level": 2}, "answer": 42},
        "plain",
    ]
    job = await run_job("eval", tasks, agent, gym_id="gym", metadata={"model": "m"})
    assert isinstance(seen["typed"], Prompted) and seen["typed"].prompt == "p"
    assert seen["dict"].answer == 42  # type: ignore[attr-defined]  # extra fields are kept
    assert (job.name, job.metadata) == ("eval", {"model": "m"})
    found = {t.task_id: (t.gym_id, t.metadata) for t in await _trajectories(job)}
    assert found == {"typed": ("other-gym", None), "dict": ("gym", {"level": 2}), "plain": ("gym", None)}


@pytest.mark.parametrize(
    ("tasks", "kwargs", "message"),
    [
        (["a", "a"], {}, "appears twice"),
        ([], {}, "empty"),
        ("abc", {}, "iterable of tasks"),
        ([{"name": "no id"}], {}, r"tasks\[0\] is not a task"),
        ([3], {}, r"tasks\[0\] must be a Task"),
        (["a"], {"gym_id": None}, "has no gym"),
        (["a"], {"repeats": 0}, "repeats must be an int of at least 1"),
        (["a"], {"max_concurrent": 0}, "max_concurrent"),
        (["a"], {"retries": -1}, "retries"),
        (["a"], {"timeout": 0}, "timeout must be a positive number"),
        (["a"], {"timeout": float("inf")}, "timeout"),
        (["a"], {"infra_errors": [RateLimited]}, "infra_errors must be a tuple"),
        (["a"], {"metadata": {1: 2}}, "keys must be strings"),
        (["a/b" * 100], {}, r"tasks\[0\].id is 300 characters"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_created(
    embedded: Path, tasks: object, kwargs: dict[str, object], message: str
) -> None:
    async def agent(env: Environment, task: Task) -> float:
        return 1.0

    arguments: dict[str, object] = {"gym_id": "gym", **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        await run_job("eval", tasks, agent, **arguments)  # type: ignore[arg-type]
    assert [j async for j in hud.job.iter_jobs()] == []
