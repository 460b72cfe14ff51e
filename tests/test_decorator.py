"""@job semantics against the real server, embedded in-process (no mocks); a server that fails only
after the call ran is answered by respx."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from _payloads import job_payload

import hud
from hud._wire import MAX_ERROR_LENGTH
from hud.job import Job, current_job, job, load_job


async def _make_env(gym: str = "gym") -> str:
    env = await hud.gym.make(gym)
    await env.close(reward=1.0)
    return env.id


async def _job_of_trajectories(target: Job) -> set[str]:
    return {t.id for t in await (await load_job(target.id)).load_trajectories()}


async def test_each_call_creates_one_job_and_completes_it(embedded: Path) -> None:
    seen: list[Job] = []

    @job("eval", metadata={"agent": "v2"})
    async def run() -> str:
        active = current_job()
        assert active is not None
        seen.append(active)
        assert (await load_job(active.id)).status == "running"
        return await _make_env()

    env_id = await run()
    env_id_2 = await run()

    first, second = seen
    assert first.id != second.id
    assert (first.name, first.metadata) == ("eval", {"agent": "v2"})
    assert (await load_job(first.id)).status == "completed"
    assert await _job_of_trajectories(first) == {env_id}
    assert await _job_of_trajectories(second) == {env_id_2}
    assert current_job() is None


async def test_environments_in_gather_create_task_taskgroup_and_to_thread_are_linked(embedded: Path) -> None:
    def in_thread() -> tuple[str | None, str]:
        active = current_job()
        return (active.id if active else None), asyncio.run(_make_env("thread-gym"))

    @job("spawner")
    async def run() -> tuple[Job, set[str], str | None]:
        ids = set(await asyncio.gather(*(_make_env() for _ in range(3))))
        ids.add(await asyncio.create_task(_make_env()))
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_make_env()) for _ in range(2)]
        ids.update(t.result() for t in tasks)
        seen_in_thread, thread_env = await asyncio.to_thread(in_thread)
        ids.add(thread_env)
        active = current_job()
        assert active is not None
        return active, ids, seen_in_thread

    active, ids, seen_in_thread = await run()

    assert seen_in_thread == active.id
    assert len(ids) == 7
    assert await _job_of_trajectories(active) == ids


async def test_concurrent_calls_never_see_each_others_job(embedded: Path) -> None:
    @job("concurrent")
    async def run(n: int) -> tuple[str, set[str]]:
        active = current_job()
        assert active is not None
        ids = set()
        for _ in range(3):
            await asyncio.sleep(0)  # interleave with the other calls
            ids.add(await _make_env(f"gym-{n}"))
            assert current_job() is active
        return active.id, ids

    results = await asyncio.gather(*(run(n) for n in range(8)))

    assert len({job_id for job_id, _ in results}) == 8
    for job_id, ids in results:
        loaded = await load_job(job_id)
        assert await _job_of_trajectories(loaded) == ids


async def test_a_nested_call_links_to_the_innermost_job(embedded: Path) -> None:
    @job("inner")
    async def inner() -> tuple[Job, str]:
        active = current_job()
        assert active is not None
        return active, await _make_env()

    @job("outer")
    async def outer() -> tuple[Job, Job, str, str]:
        mine = current_job()
        assert mine is not None
        inner_job, inner_env = await inner()
        assert current_job() is mine  # restored after the nested call
        return mine, inner_job, inner_env, await _make_env()

    outer_job, inner_job, inner_env, outer_env = await outer()

    assert await _job_of_trajectories(inner_job) == {inner_env}
    assert await _job_of_trajectories(outer_job) == {outer_env}


@pytest.mark.parametrize(
    ("boom", "recorded"),
    [
        (KeyError("missing thing"), "KeyError: 'missing thing'"),
        # Cut to what a job's error holds (openapi.yaml: 65536 characters), not refused for its size.
        (ValueError("x" * 1_000_000), ("ValueError: " + "x" * 1_000_000)[:MAX_ERROR_LENGTH]),
    ],
    ids=["short-message", "huge-message"],
)
async def test_an_exception_fails_the_job_and_is_reraised_unchanged(
    embedded: Path, boom: Exception, recorded: str
) -> None:
    seen: list[Job] = []

    @job("failing")
    async def run() -> None:
        active = current_job()
        assert active is not None
        seen.append(active)
        raise boom

    with pytest.raises(type(boom)) as caught:
        await run()

    assert caught.value is boom
    failed = await load_job(seen[0].id)
    assert failed.status == "failed"
    assert failed.error == recorded


async def test_cancellation_marks_the_job_cancelled(embedded: Path) -> None:
    started = asyncio.Event()
    seen: list[Job] = []

    @job("cancelled")
    async def run() -> None:
        active = current_job()
        assert active is not None
        seen.append(active)
        started.set()
        await asyncio.sleep(3600)

    await _cancel_once_started(run, started)

    assert (await load_job(seen[0].id)).status == "cancelled"


async def _cancel_once_started(run: Callable[[], Awaitable[None]], started: asyncio.Event) -> None:
    """Runs `run()` in a task, cancels it once `started` is set, and expects the cancellation back."""
    task = asyncio.create_task(run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_decorating_a_sync_function_fails_at_decoration_time() -> None:
    with pytest.raises(TypeError, match="decorates async functions"):

        @job("sync")
        def run() -> None:  # pragma: no cover - never called
            pass


def test_bad_name_or_metadata_fail_at_decoration_time() -> None:
    with pytest.raises(hud.errors.InvalidInputError, match="name must not be empty"):
        job("")
    with pytest.raises(hud.errors.InvalidInputError, match="JSON-serialisable"):
        job("x", metadata={"a": {1, 2}})


async def test_the_decorated_function_keeps_its_name_and_arguments(embedded: Path) -> None:
    @job("args")
    async def add(a: int, *, b: int) -> int:
        """Adds."""
        return a + b

    assert add.__name__ == "add"
    assert add.__doc__ == "Adds."
    assert await add(2, b=3) == 5


# The final status update meets a server that went down, or answers errors, after the call ran.
_FINAL_UPDATE_FAILURES = {
    "server-down": httpx.ConnectError("connection refused"),
    "500": httpx.Response(500, json={"detail": "the database is gone"}),
    "404": httpx.Response(404, json={"detail": "no job j-1 in this account"}),
    "401": httpx.Response(401, json={"detail": "revoked key"}),
}


def _fails_after_running(remote: respx.MockRouter, failure: Any) -> respx.Route:
    """Creating the job, setting it running and its heartbeats work; every later update of it fails."""
    remote.post("/v2/jobs").respond(200, json=job_payload("j-1"))
    remote.post("/v2/jobs/j-1/heartbeat").respond(200, json=job_payload("j-1", status="running"))
    update = remote.patch("/v2/jobs/j-1")
    answers = iter([httpx.Response(200, json=job_payload("j-1", status="running"))])

    def answer(_request: httpx.Request) -> httpx.Response:
        reply = next(answers, failure)
        if isinstance(reply, Exception):
            raise reply
        return reply

    update.side_effect = answer
    return update


def _final_statuses(update: respx.Route) -> list[str]:
    return [json.loads(call.request.content)["status"] for call in update.calls[1:]]


def _reported(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.name == "hud" and r.levelno == logging.ERROR and "j-1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("failure", list(_FINAL_UPDATE_FAILURES.values()), ids=list(_FINAL_UPDATE_FAILURES))
async def test_a_failing_final_update_never_replaces_the_calls_exception(
    remote: respx.MockRouter, failure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    update = _fails_after_running(remote, failure)
    boom = KeyError("the agent's own error")

    @job("eval")
    async def run() -> None:
        raise boom

    with pytest.raises(KeyError) as caught:
        await run()

    assert caught.value is boom
    assert set(_final_statuses(update)) == {"failed"}  # it was tried (and retried when worth it)
    assert _reported(caplog)
    assert current_job() is None


@pytest.mark.parametrize("failure", list(_FINAL_UPDATE_FAILURES.values()), ids=list(_FINAL_UPDATE_FAILURES))
async def test_a_failing_final_update_never_replaces_the_calls_result(
    remote: respx.MockRouter, failure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    update = _fails_after_running(remote, failure)
    result = {"score": 0.75}

    @job("eval")
    async def run() -> dict[str, float]:
        return result

    assert await run() is result
    assert set(_final_statuses(update)) == {"completed"}
    assert _reported(caplog)


async def test_a_failing_final_update_never_replaces_the_cancellation(
    remote: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    update = _fails_after_running(remote, httpx.ConnectError("connection refused"))
    started = asyncio.Event()

    @job("eval")
    async def run() -> None:
        started.set()
        await asyncio.sleep(3600)

    await _cancel_once_started(run, started)
    assert set(_final_statuses(update)) == {"cancelled"}
    assert _reported(caplog)
