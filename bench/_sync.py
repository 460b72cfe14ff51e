"""`hud sync` against its baseline: the same trajectories replayed through the SDK, one request per object.

Both read the same job from the same embedded store and write it to the same `hud server`, in the same
run. The replay is what copying looks like without the import extension: per trajectory one
`hud.gym.make`, one `record_step` per step and one `close`, 32 environments at a time (the SDK allows
100 requests in flight). It runs first, so the sync writes into the larger database. Each side's
result is checked: every trajectory, with its steps, reached the server.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx

from bench._load import load_job as bulk_load_job
from bench._rows import Row, log, use_settings
from bench._servers import Served

__all__ = ["sync_row"]

#: Environments replayed at once.
REPLAY_CONCURRENCY = 32
#: The goal: syncing is at least this many times faster than the replay.
GOAL = 5.0


async def _source_pages(home: Path, job_id: str) -> Any:
    """The job's trajectories from the embedded store, a page at a time, as JSON values."""
    from hud.server import create_app

    app = create_app(f"sqlite:///{home / 'hud.db'}", auth=False)
    # A server without keys answers loopback names only.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        params = {"limit": "1000"}
        while True:
            response = (await client.get(f"/v2/jobs/{job_id}/trajectories", params=params)).raise_for_status()
            yield response.json()
            cursor = response.headers.get("X-Next-Cursor")
            if not cursor:
                return
            params["cursor"] = cursor


async def _replay(home: Path, job_id: str, served: Served, api_key: str) -> tuple[str, int]:
    """Replays the job through the SDK, one request per object; (the new job's id, requests sent)."""
    import hud
    from hud.job import create_job

    use_settings(served.base_url, api_key, home)
    target = await create_job("bench-replay", metadata={"bench": True})
    requests = 1
    limit = asyncio.Semaphore(REPLAY_CONCURRENCY)

    async def one(trajectory: dict[str, Any]) -> int:
        async with limit:
            env = await hud.gym.make(trajectory["gym_id"], job=target, task_id=trajectory["task_id"])
            for step in trajectory["trajectory"]:
                await env.record_step(observation_text=step["observation_text"], actions=step["actions"])
            await env.close(reward=trajectory["reward"], logs=trajectory["logs"], error=trajectory["error"])
            return 2 + len(trajectory["trajectory"])

    async for page in _source_pages(home, job_id):
        requests += sum(await asyncio.gather(*(one(t) for t in page)))
    await target.update(status="completed")
    await hud.aclose()
    return target.id, requests + 1


async def _sync(home: Path, job_id: str, served: Served, api_key: str) -> Any:
    import hud

    use_settings(None, None, home)  # the source is the embedded store, as after an offline run
    report = await hud.sync(served.base_url, to_api_key=api_key, job_ids=[job_id])
    await hud.aclose()
    return report


async def _count(served: Served, api_key: str, job_id: str) -> tuple[int, int]:
    """(trajectories, steps) of a job on the server, read directly."""
    async with httpx.AsyncClient(
        base_url=served.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
    ) as client:
        found = (await client.get(f"/v2/jobs/{job_id}/trajectories")).raise_for_status().json()
    return len(found), sum(len(t["trajectory"]) for t in found)


def sync_row(served: Served, api_key: str, workdir: Path, trajectories: int, steps: int) -> Row:
    """Times a replay, then a sync, of the same job of `trajectories` x `steps` to `served`."""
    home = workdir / "sync-source"
    log(f"sync: bulk-loading {trajectories:,} x {steps} steps into an embedded store, then replay vs sync")
    job_id = bulk_load_job(
        f"sqlite:///{home / 'hud.db'}", "local", trajectories_n=trajectories, steps_n=steps, with_environments=True
    )
    saved = {name: os.environ.get(name) for name in ("HUD_BASE_URL", "HUD_API_KEY", "HUD_HOME")}
    try:
        started = time.perf_counter()
        replayed, requests = asyncio.run(_replay(home, job_id, served, api_key))
        replay_s = time.perf_counter() - started
        started = time.perf_counter()
        report = asyncio.run(_sync(home, job_id, served, api_key))
        sync_s = time.perf_counter() - started
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    expected = (trajectories, trajectories * steps)
    checked = asyncio.run(_count(served, api_key, job_id)) == expected == asyncio.run(_count(served, api_key, replayed))
    ratio = replay_s / sync_s
    met = report.ok and checked and ratio >= GOAL
    return Row(
        f"sync vs replay through the SDK ({trajectories:,} x {steps} steps)",
        f"{sync_s:.2f} s sync, {report.requests} imports, {report.bytes_sent / 1e6:.1f} MB",
        f"{replay_s:.2f} s replay, {requests:,} requests",
        f"{ratio:.1f}x faster" + ("" if checked and report.ok else " (INCOMPLETE COPY)"),
        f">= {GOAL:g}x",
        met,
    )
