"""hud.gym environments against the embedded server: linking, steps, close, context manager."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import hud
from hud import errors
from hud.job import create_job, load_job
from hud.trajectory import TrajectorySummary


async def test_steps_and_outcome_reach_the_trajectory(embedded: Path) -> None:
    target = await create_job("steps")
    env = await hud.gym.make("gym", job=target, task_id="t-1", metadata={"seed": 3})
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    await env.record_step(observation_text="hello", actions=[{"type": "type", "text": "hi"}], start_timestamp=t0)
    await env.record_step(observation_url="https://example.invalid/s.png")
    closed = await env.close(reward=0.5, logs="ok", error=None)

    (stored,) = await target.load_trajectories()
    # close() returns the summary: the trajectory's outcome and step count, not its steps.
    assert isinstance(closed, TrajectorySummary)
    assert (closed.id, closed.reward, closed.logs, closed.error, closed.step_count) == (env.id, 0.5, "ok", None, 2)
    assert (closed.task_id, closed.gym_id, closed.metadata) == ("t-1", "gym", {"seed": 3})
    assert (stored.id, stored.reward, stored.logs, stored.error) == (env.id, 0.5, "ok", None)
    assert [s.observation_text for s in stored.trajectory] == ["hello", None]
    assert stored.trajectory[0].actions == [{"type": "type", "text": "hi"}]
    assert stored.trajectory[0].start_timestamp == t0
    assert stored.trajectory[1].observation_url == "https://example.invalid/s.png"
    assert env.metadata == {"seed": 3}


async def test_an_explicit_job_id_wins_over_the_active_job(embedded: Path) -> None:
    other = await create_job("other")

    @hud.job.job("active")
    async def run() -> str:
        env = await hud.gym.make("gym", job=other.id)
        await env.close()
        return env.id

    env_id = await run()

    assert [t.id for t in await other.load_trajectories()] == [env_id]


async def test_without_any_job_the_environment_is_unlinked(embedded: Path) -> None:
    env = await hud.gym.make("gym")

    assert env.job_id is None
    trajectory = await env.close(reward=1)
    assert trajectory.reward == 1.0


async def test_the_context_manager_closes_and_records_the_error(embedded: Path) -> None:
    target = await create_job("cm")

    with pytest.raises(RuntimeError):
        async with await hud.gym.make("gym", job=target) as env:
            await env.record_step(observation_text="before the crash")
            raise RuntimeError("agent crashed")

    (stored,) = await target.load_trajectories()
    assert stored.error == "RuntimeError: agent crashed"
    assert [s.observation_text for s in stored.trajectory] == ["before the crash"]


async def test_closing_twice_and_recording_after_close_are_conflicts(embedded: Path) -> None:
    env = await hud.gym.make("gym")
    await env.close()

    with pytest.raises(errors.ConflictError):
        await env.close()
    with pytest.raises(errors.ConflictError):
        await env.record_step(observation_text="late")


async def test_a_second_handle_closing_a_closed_environment_gets_the_servers_conflict(embedded: Path) -> None:
    env = await hud.gym.make("gym")
    twin = hud.gym.Environment(
        id=env.id, job_id=None, gym_id="gym", task_id=None, metadata=None, settings=hud.get_settings()
    )
    await env.close()

    with pytest.raises(errors.ConflictError) as caught:
        await twin.close()
    assert caught.value.status_code == 409


async def test_an_unknown_job_is_not_found(embedded: Path) -> None:
    with pytest.raises(errors.NotFoundError):
        await hud.gym.make("gym", job="no-such-job")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reward": float("nan")}, "reward must be finite"),
        ({"reward": float("inf")}, "reward must be finite"),
        ({"reward": "1"}, "reward must be a number"),
        ({"logs": 3}, "logs must be a string"),
    ],
)
async def test_bad_close_arguments_are_refused_and_leave_the_environment_open(
    embedded: Path, kwargs: dict[str, object], message: str
) -> None:
    env = await hud.gym.make("gym")

    with pytest.raises(errors.InvalidInputError, match=message):
        await env.close(**kwargs)  # type: ignore[arg-type]

    assert not env.closed
    assert (await env.close(reward=1.0)).reward == 1.0


async def test_bad_steps_are_refused(embedded: Path) -> None:
    env = await hud.gym.make("gym")

    with pytest.raises(errors.InvalidInputError, match="actions must be a list of dicts"):
        await env.record_step(actions=["click"])  # type: ignore[list-item]
    with pytest.raises(errors.InvalidInputError, match="observation_text must be a string"):
        await env.record_step(observation_text=5)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidInputError, match="gym must not be empty"):
        await hud.gym.make("")
    await env.close()


async def test_the_raw_generated_client_sees_the_same_data(embedded: Path) -> None:
    from hud_api.api.jobs import get_job

    created = await create_job("raw")
    async with hud.client() as client:
        answer = await get_job.asyncio(created.id, client=client)

    assert answer.name == "raw"  # the success model itself: errors raise (tests/test_call_errors.py)
    assert (await load_job(created.id)).id == created.id
