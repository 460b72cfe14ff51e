"""`hud.sync`: jobs recorded in the embedded store reach a live `hud server` with their ids, times and
order, exactly once; later syncs add only what is new, and a sync of unchanged data copies nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import respx
from _servers import live_server
from _stores import embedded_client, server_client, snapshot

import hud
from hud.errors import ConfigurationError
from hud.job import Job, create_job
from hud.server import create_key, dispose

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("embedded")]


def _step(i: int) -> dict[str, Any]:
    return {"observation_text": f"obs {i} ✓", "actions": [{"type": "click", "x": i, "nested": {"k": [1.5, None]}}]}


async def finished_job(n: int = 4) -> Job:
    """A completed job: rewards, an agent error, an infrastructure error, no steps, metadata, task ids."""
    job = await create_job("finished", gym_id="g", evalset_id="e", metadata={"agent": "v2", "n": n})
    await job.update(status="running")
    for i in range(n):
        env = await hud.gym.make("gym", job=job, task_id=f"t-{i % 2}", metadata={"i": i})
        for k in range(i):
            await env.record_step(**_step(k))
        if i == 1:
            await env.close(error="ValueError: boom")
        elif i == 2:
            await env.close(error="rate limited", error_kind="infrastructure", logs="retry later")
        else:
            await env.close(reward=i / n)
    await job.update(status="completed")
    return job


async def running_job(home: Path) -> tuple[Job, list[hud.gym.Environment]]:
    """A running job with a recent heartbeat: one closed environment and two open ones with steps."""
    job = await create_job("running", metadata={"agent": "v3"})
    await job.update(status="running")
    async with embedded_client(home) as client:
        assert (await client.post(f"/v2/jobs/{job.id}/heartbeat")).status_code == 200
    done = await hud.gym.make("gym", job=job, task_id="done")
    await done.record_step(**_step(0))
    await done.close(reward=1.0)
    envs = [await hud.gym.make("gym", job=job, task_id=f"open-{i}") for i in range(2)]
    for env in envs:
        await env.record_step(**_step(1))
    return job, envs


async def same_stores(home: Path, base_url: str, key: str) -> list[dict[str, Any]]:
    """Asserts the target holds exactly what the source does, object by object; returns the source's."""
    async with embedded_client(home) as source, server_client(base_url, key) as target:
        expected = await snapshot(source)
        assert await snapshot(target) == expected
    return expected


async def test_a_sync_copies_everything_once_and_a_second_copies_nothing(
    embedded: Path, target: tuple[str, str]
) -> None:
    base_url, key = target
    finished = await finished_job()
    running, _ = await running_job(embedded)
    report = await hud.sync(base_url, to_api_key=key)
    assert report.ok, report.text()
    counts = {k: (c["copied"], c["skipped"]) for k, c in report.model_dump().items() if isinstance(c, dict)}
    assert counts == {
        "jobs": (2, 0),
        "environments": (7, 0),
        "trajectories": (5, 0),
        "steps": (0 + 1 + 2 + 3 + 1 + 2, 0),
    }
    stores = await same_stores(embedded, base_url, key)
    assert [s["job"]["id"] for s in stores] == [running.id, finished.id]
    assert stores[0]["job"]["status"] == "running" and stores[0]["job"]["heartbeat_at"] is not None

    again = await hud.sync(base_url, to_api_key=key)
    assert again.ok and again.copied_nothing and again.requests == 0
    assert (again.environments.skipped, again.trajectories.skipped, again.steps.skipped) == (7, 5, 9)
    assert "nothing to copy: the target is up to date" in again.text()


async def test_a_later_sync_adds_only_what_is_new(embedded: Path, target: tuple[str, str]) -> None:
    base_url, key = target
    job, (first, second) = await running_job(embedded)
    assert (await hud.sync(base_url, to_api_key=key, job_ids=[job.id])).ok
    await first.record_step(**_step(2))
    await first.record_step(**_step(3))
    await first.close(reward=0.25, logs="done")
    await second.record_step(**_step(4))
    third = await hud.gym.make("gym", job=job, task_id="late")
    await third.close(reward=0.0)
    await job.update(status="completed")

    report = await hud.sync(base_url, to_api_key=key, job_ids=[job.id])
    assert report.ok, report.text()
    assert (report.jobs.copied, report.environments.copied, report.trajectories.copied, report.steps.copied) == (
        1,
        1,
        2,
        3,
    )
    assert (report.environments.skipped, report.trajectories.skipped, report.steps.skipped) == (3, 1, 3)
    stores = await same_stores(embedded, base_url, key)
    assert stores[0]["job"]["status"] == "completed"
    assert [t["task_id"] for t in stores[0]["trajectories"]] == ["done", "open-0", "late"]


async def test_what_the_target_changed_is_reported_and_never_overwritten(
    embedded: Path, target: tuple[str, str]
) -> None:
    base_url, key = target
    job, (env, _) = await running_job(embedded)
    other = await finished_job(2)
    assert (await hud.sync(base_url, to_api_key=key)).ok
    # The team cancels the job on the server; the laptop goes on recording.
    async with server_client(base_url, key) as client:
        assert (await client.patch(f"/v2/jobs/{job.id}", json={"status": "cancelled"})).status_code == 200
    await env.record_step(**_step(9))
    await job.update(status="completed")
    newer = await finished_job(1)

    report = await hud.sync(base_url, to_api_key=key)
    assert not report.ok
    assert [(p.kind, p.id) for p in report.problems] == [("job", job.id)]
    assert "cancelled at the target and completed at the source" in report.problems[0].detail
    assert f"not copied: job {job.id}" in report.text()
    async with server_client(base_url, key) as client:
        assert (await client.get(f"/v2/jobs/{job.id}")).json()["status"] == "cancelled"
    # The other jobs went through.
    async with embedded_client(embedded) as source, server_client(base_url, key) as client:
        ids = [other.id, newer.id]
        assert await snapshot(client, ids) == await snapshot(source, ids)


async def test_a_dry_run_counts_and_copies_nothing(embedded: Path, target: tuple[str, str]) -> None:
    base_url, key = target
    await finished_job(3)
    report = await hud.sync(base_url, to_api_key=key, dry_run=True)
    assert report.dry_run and report.ok and report.requests == 0
    assert (report.jobs.copied, report.environments.copied, report.trajectories.copied, report.steps.copied) == (
        1,
        3,
        3,
        3,
    )
    assert "would copy" in report.text()
    async with server_client(base_url, key) as client:
        assert (await client.get("/v2/jobs")).json()["items"] == []


async def test_only_the_jobs_named_are_copied_and_an_unknown_one_is_a_problem(
    embedded: Path, target: tuple[str, str]
) -> None:
    base_url, key = target
    wanted, _unwanted = await finished_job(1), await finished_job(1)
    report = await hud.sync(base_url, to_api_key=key, job_ids=[wanted.id, "no-such-job", wanted.id])
    assert [(p.kind, p.id) for p in report.problems] == [("job", "no-such-job")]
    async with server_client(base_url, key) as client:
        assert [j["id"] for j in (await client.get("/v2/jobs")).json()["items"]] == [wanted.id]


async def test_a_target_with_a_small_body_limit_gets_smaller_batches(embedded: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    with live_server(url, max_body_bytes=64 * 1024) as base_url:
        key = create_key(url, "small")
        job = await create_job("big")
        for i in range(6):
            env = await hud.gym.make("gym", job=job)
            for k in range(40):
                await env.record_step(observation_text=f"{i}-{k} " + "x" * 1000)
            await env.close(reward=1.0)
        # One step larger than the whole limit: that environment cannot be copied, the others can.
        huge = await hud.gym.make("gym", job=job, task_id="huge")
        await huge.record_step(observation_text="y" * 100_000)
        report = await hud.sync(base_url, to_api_key=key)
        assert [(p.kind, p.id) for p in report.problems] == [("steps", huge.id)]
        assert "over 65536 bytes" in report.problems[0].detail
        assert report.requests >= 4 and report.steps.copied == 240
        async with server_client(base_url, key) as client:
            copied = (await client.get(f"/v2/jobs/{job.id}/trajectories")).json()
            assert len(copied) == 6 and all(len(t["trajectory"]) == 40 for t in copied)
    dispose(url)


async def test_a_running_copy_reads_running_while_syncs_bring_heartbeats(embedded: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    lease = 3.0

    with live_server(url, extra=["--job-lease", str(lease)]) as base_url:
        key = create_key(url, "lease")
        job, _ = await running_job(embedded)
        assert (await hud.sync(base_url, to_api_key=key)).ok
        async with server_client(base_url, key) as client:
            assert (await client.get(f"/v2/jobs/{job.id}")).json()["status"] == "running"
            await asyncio.sleep(lease + 1)
            # No sync brought news for longer than the lease: it reads crashed, and nothing was closed.
            assert (await client.get(f"/v2/jobs/{job.id}")).json()["status"] == "crashed"
            async with embedded_client(embedded) as source:
                assert (await source.post(f"/v2/jobs/{job.id}/heartbeat")).status_code == 200
            assert (await hud.sync(base_url, to_api_key=key)).ok
            assert (await client.get(f"/v2/jobs/{job.id}")).json()["status"] == "running"
            states = [e["state"] for e in (await client.get(f"/v2/jobs/{job.id}/environments")).json()["items"]]
            assert states == ["closed", "open", "open"]
    dispose(url)


async def test_a_target_without_the_import_extension_is_said_so(embedded: Path) -> None:
    await finished_job(1)
    with respx.mock(base_url="http://platform.test", assert_all_called=False) as router:
        router.get(path__regex=r"^/v2/jobs/[^/]+$").respond(404, json={"detail": "no such job"})
        router.post("/v2/import").respond(404, json={"detail": "no such path"})
        with pytest.raises(ConfigurationError, match=r"cannot import \(POST /v2/import answered 404"):
            await hud.sync("http://platform.test", to_api_key="k")
