"""`async with job(name, metadata=...) as j:`: the decorator's lifecycle, for a block (embedded server)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

import hud
from hud.job import Job, current_job, job, load_job


async def test_a_block_runs_as_a_new_job_that_completes(embedded: Path) -> None:
    async with job("block", metadata={"model": "m-1"}) as j:
        assert isinstance(j, Job)
        assert current_job() is j
        assert (await load_job(j.id)).status == "running"
        env = await hud.gym.make("gym", task_id="t-1")  # linked to the block's job
        await env.close(reward=1.0)
    assert current_job() is None
    loaded = await load_job(j.id)
    assert (loaded.name, loaded.metadata, loaded.status) == ("block", {"model": "m-1"}, "completed")
    assert [(t.id, t.task_id) for t in await loaded.load_trajectories()] == [(env.id, "t-1")]


async def test_an_exception_fails_the_job_and_propagates_unchanged(embedded: Path) -> None:
    error = ValueError("the agent broke")
    with pytest.raises(ValueError) as raised:
        async with job("block") as j:
            raise error
    assert raised.value is error
    loaded = await load_job(j.id)
    assert (loaded.status, loaded.error) == ("failed", "ValueError: the agent broke")


async def test_a_cancelled_block_cancels_the_job_and_its_open_environments(embedded: Path) -> None:
    entered = asyncio.Event()
    seen: list[tuple[Job, str]] = []

    async def block() -> None:
        async with job("block") as j:
            env = await hud.gym.make("gym")
            seen.append((j, env.id))
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(block())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [(j, env_id)] = seen
    loaded = await load_job(j.id)
    assert loaded.status == "cancelled"
    assert [(t.id, t.error_kind) for t in await loaded.load_trajectories()] == [(env_id, "cancelled")]


async def test_one_job_object_runs_concurrent_and_nested_blocks_each_as_its_own_job(embedded: Path) -> None:
    spec = job("shared")
    inner_ids: list[str] = []

    async def block(task_id: str) -> str:
        async with spec as j:
            await asyncio.sleep(0.01)  # the blocks overlap
            env = await hud.gym.make("gym", task_id=task_id)
            await env.close(reward=0.0)
            assert current_job() is j
            if task_id == "a":
                async with spec as inner:  # nested: the innermost is active, the outer again after
                    assert current_job() is inner and inner.id != j.id
                    inner_ids.append(inner.id)
                assert current_job() is j
            return j.id

    ids = await asyncio.gather(block("a"), block("b"), block("c"))
    assert len({*ids, *inner_ids}) == 4
    for job_id, task_id in zip(ids, "abc", strict=True):
        loaded = await load_job(job_id)
        assert loaded.status == "completed"
        assert [t.task_id for t in await loaded.load_trajectories()] == [task_id]
    assert (await load_job(inner_ids[0])).status == "completed"


async def test_the_same_object_still_decorates(embedded: Path) -> None:
    spec = job("both")

    @spec
    async def run(x: int) -> int:
        active = current_job()
        assert active is not None
        return x * 2

    assert await run(21) == 42
    async with spec as j:
        pass
    assert (await load_job(j.id)).status == "completed"


async def test_a_block_holds_its_job_with_heartbeats(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_HEARTBEAT_INTERVAL", "0.05")
    hud.get_settings.cache_clear()
    beats: list[datetime | None] = []
    async with job("beating") as j:
        for _ in range(4):
            await asyncio.sleep(0.06)
            beats.append((await load_job(j.id)).heartbeat_at)
    assert len({b for b in beats if b is not None}) >= 2


async def test_exit_without_enter_is_an_error(embedded: Path) -> None:
    with pytest.raises(RuntimeError, match="without its __aenter__"):
        await job("x").__aexit__(None, None, None)
