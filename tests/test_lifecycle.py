"""Task identity and a crash-safe lifecycle, through the SDK: what a trajectory knows, why it ended,
step timings, the environment's context manager, heartbeats and the final status."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from _payloads import BASE_URL, job_payload

import hud
from hud import errors
from hud.job import create_job, job, load_job


class RateLimited(Exception):
    """A provider's rate-limit error, declared as infrastructure."""


async def _trajectory(job_id: str, env_id: str) -> hud.Trajectory:
    return next(t for t in await (await load_job(job_id)).load_trajectories() if t.id == env_id)


async def test_a_trajectory_knows_its_task_gym_metadata_and_times(embedded: Path) -> None:
    created = await create_job("identity")
    before = datetime.now(UTC)
    env = await hud.gym.make("my-gym", job=created, task_id="task-7", metadata={"seed": 3})
    closed = await env.close(reward=0.5)
    after = datetime.now(UTC)
    read = await _trajectory(created.id, env.id)
    assert read.model_dump(exclude={"trajectory"}) == closed.model_dump(exclude={"step_count"})
    assert closed.step_count == len(read.trajectory) == 0
    assert (read.task_id, read.gym_id, read.metadata, read.error_kind) == ("task-7", "my-gym", {"seed": 3}, None)
    assert read.created_at is not None and read.closed_at is not None
    assert before - timedelta(seconds=1) <= read.created_at <= read.closed_at <= after + timedelta(seconds=1)
    assert read.duration == (read.closed_at - read.created_at).total_seconds()


@pytest.mark.parametrize(
    ("raise_", "kind", "message"),
    [
        (lambda: ValueError("bad move"), "agent", "ValueError: bad move"),
        (lambda: TimeoutError(), "timeout", "timed out after"),
        (lambda: ValueError("nul \x00 and \ud800 inside"), "agent", "ValueError: nul \ufffd and ? inside"),
        (lambda: RateLimited("429"), "infrastructure", "RateLimited: 429"),
        (lambda: errors.APIConnectionError("no route"), "infrastructure", "APIConnectionError: no route"),
    ],
    ids=["agent", "timeout-error", "nul-in-message", "declared-infra", "sdk-error"],
)
async def test_the_context_manager_records_why_the_block_ended(
    embedded: Path, raise_: object, kind: str, message: str
) -> None:
    created = await create_job("kinds")
    env = await hud.gym.make("g", job=created, task_id="t", infra_errors=(RateLimited,))
    exc = raise_()  # type: ignore[operator]
    with pytest.raises(type(exc)) as caught:
        async with env:
            raise exc
    assert caught.value is exc  # the block's own exception, unchanged
    read = await _trajectory(created.id, env.id)
    assert read.error_kind == kind and read.error is not None and message in read.error


async def test_an_asyncio_timeout_around_the_block_is_a_timeout(embedded: Path) -> None:
    created = await create_job("timeout")
    env = await hud.gym.make("g", job=created)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05), env:
            await asyncio.sleep(10)
    await asyncio.sleep(0.05)  # the close goes once the timeout has settled
    for _ in range(100):
        read = await _trajectory(created.id, env.id)
        if read.error_kind is not None:
            break
        await asyncio.sleep(0.01)
    assert read.error_kind == "timeout" and read.error is not None and read.error.startswith("timed out after")


async def test_a_cancelled_block_is_cancelled(embedded: Path) -> None:
    created = await create_job("cancel")
    started = asyncio.Event()
    made: list[hud.gym.Environment] = []

    async def run() -> None:
        async with await hud.gym.make("g", job=created) as env:
            made.append(env)
            started.set()
            await asyncio.sleep(10)

    task = asyncio.ensure_future(run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        trajectories = await (await load_job(created.id)).load_trajectories()
        if trajectories:
            break
        await asyncio.sleep(0.01)
    assert [(t.id, t.error_kind) for t in trajectories] == [(made[0].id, "cancelled")]


async def test_a_failing_close_never_hides_the_agents_exception(
    embedded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    created = await create_job("hidden")
    env = await hud.gym.make("g", job=created)
    other = hud.gym.Environment(
        id=env.id, job_id=created.id, gym_id="g", task_id=None, metadata=None, settings=hud.get_settings()
    )
    await other.close(reward=1.0)  # closed behind the context manager's back: its close gets a 409
    agent_error = KeyError("the agent's own")
    with pytest.raises(KeyError) as caught:
        async with env:
            raise agent_error
    assert caught.value is agent_error
    assert (await _trajectory(created.id, env.id)).reward == 1.0  # the first close stands


async def test_an_unreachable_server_on_close_is_logged_not_raised(
    remote: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    remote.post(f"{BASE_URL}/v2/create_environment").respond(200, json={"id": "e1", "metadata": None})
    close = remote.post(f"{BASE_URL}/v2/environments/e1/close").mock(side_effect=httpx.ConnectError("down"))
    agent_error = RuntimeError("the agent's own")
    with pytest.raises(RuntimeError) as caught:
        async with await hud.gym.make("g"):
            raise agent_error
    assert caught.value is agent_error and close.call_count == 3  # HUD_MAX_RETRIES=2 in `remote`
    assert any("could not close environment e1" in r.getMessage() for r in caplog.records)


async def test_a_steps_start_defaults_to_the_previous_steps_end(embedded: Path) -> None:
    created = await create_job("timings")
    made = datetime.now(UTC)
    env = await hud.gym.make("g", job=created)
    first = await env.record_step(observation_text="1")
    await asyncio.sleep(0.02)
    second = await env.record_step(observation_text="2")
    explicit = datetime(2026, 1, 1, tzinfo=UTC)
    third = await env.record_step(observation_text="3", start_timestamp=explicit)
    await env.close()
    assert first.start_timestamp is not None and made - timedelta(
        seconds=1
    ) <= first.start_timestamp <= made + timedelta(seconds=1)
    assert second.start_timestamp == first.end_timestamp
    assert second.end_timestamp is not None and second.end_timestamp - second.start_timestamp >= timedelta(seconds=0.02)
    assert third.start_timestamp == explicit
    stored = (await _trajectory(created.id, env.id)).trajectory
    assert [s.start_timestamp for s in stored] == [first.start_timestamp, second.start_timestamp, explicit]


async def test_a_job_sends_heartbeats_while_it_runs(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_HEARTBEAT_INTERVAL", "0.05")
    hud.get_settings.cache_clear()
    seen: list[datetime | None] = []

    @job("beating")
    async def run() -> str:
        active = hud.current_job()
        assert active is not None
        for _ in range(4):
            await asyncio.sleep(0.06)
            seen.append((await load_job(active.id)).heartbeat_at)
        return active.id

    job_id = await run()
    beats = [b for b in seen if b is not None]
    assert len(set(beats)) >= 2  # renewed while running, not once
    assert (await load_job(job_id)).status == "completed"


async def test_heartbeats_stop_silently_on_a_server_without_them(
    remote: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HUD_HEARTBEAT_INTERVAL", "0.01")
    hud.get_settings.cache_clear()
    remote.post(f"{BASE_URL}/v2/jobs").respond(200, json=job_payload("j1"))
    remote.patch(f"{BASE_URL}/v2/jobs/j1").respond(200, json=job_payload("j1", status="completed"))
    beats = remote.routes["heartbeat"]  # the fixture's server answers heartbeats 404, as the platform does
    caplog.set_level(logging.DEBUG, "hud")

    @job("platform")
    async def run() -> int:
        await asyncio.sleep(0.2)
        return 7

    assert await run() == 7
    assert beats.call_count == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_failed_final_status_keeps_the_calls_return_value(
    remote: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("hud._constants.FINAL_STATUS_MAX_RETRIES", 3)
    monkeypatch.setattr("hud._running.FINAL_STATUS_MAX_RETRIES", 3)
    remote.post(f"{BASE_URL}/v2/jobs").respond(200, json=job_payload("j1"))
    remote.post(f"{BASE_URL}/v2/jobs/j1/heartbeat").respond(200, json=job_payload("j1", status="running"))
    statuses: list[str] = []

    def patch(request: httpx.Request) -> httpx.Response:
        status = str(httpx.Response(200, content=request.content).json()["status"])
        statuses.append(status)
        if status == "running":
            return httpx.Response(200, json=job_payload("j1", status="running"))
        return httpx.Response(503, json={"detail": "down for a moment"})

    remote.patch(f"{BASE_URL}/v2/jobs/j1").mock(side_effect=patch)

    @job("keeps")
    async def run() -> str:
        return "the result"

    assert await run() == "the result"
    # Retried longer than an ordinary call (HUD_MAX_RETRIES=2 here): 1 + 3 attempts at `completed`.
    assert statuses == ["running"] + ["completed"] * 4
    assert any("could not set job j1 to 'completed'" in r.getMessage() for r in caplog.records)


async def test_cancelling_a_job_closes_its_open_environments_as_cancelled(embedded: Path) -> None:
    created = await create_job("to-cancel")
    env = await hud.gym.make("g", job=created, task_id="t")
    await env.record_step(observation_text="kept")
    listed = [e async for e in created.iter_environments()]
    assert [(e.id, e.state, e.step_count, e.task_id) for e in listed] == [(env.id, "open", 1, "t")]
    await created.update(status="cancelled")
    read = await _trajectory(created.id, env.id)
    assert read.error_kind == "cancelled" and [s.observation_text for s in read.trajectory] == ["kept"]
    assert [e.state async for e in created.iter_environments()] == ["closed"]
    assert [e async for e in created.iter_environments(state="open")] == []
    with pytest.raises(errors.ConflictError):
        await env.record_step(observation_text="too late")


async def test_a_job_whose_exception_text_the_server_would_refuse_still_ends_failed(embedded: Path) -> None:
    @job("nul-error")
    async def run() -> None:
        raise ValueError("before \x00 after")

    with pytest.raises(ValueError):
        await run()
    (ended,) = [j async for j in hud.job.iter_jobs(name="nul-error")]
    assert ended.status == "failed" and ended.error == "ValueError: before \ufffd after"
