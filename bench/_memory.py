"""Child process: iterate a job's trajectories with `Job.iter_trajectories` and report peak RSS growth.

`python -m bench._memory BASE_URL API_KEY JOB_ID` prints `{"count": N, "growth_mb": M, "seconds": S}`.
Growth is the peak resident memory during the iteration minus the resident memory before it (the
peak is reset first through /proc/self/clear_refs), so imports and the pooled client are not counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


async def _run(base_url: str, api_key: str, job_id: str) -> dict[str, float]:
    os.environ["HUD_BASE_URL"] = base_url
    from hud.job import load_job

    job = await load_job(job_id, api_key=api_key)
    before = status_kb("VmRSS")
    # "5" resets VmHWM to the current RSS (Linux >= 4.0), so the peak below is this loop's own.
    Path("/proc/self/clear_refs").write_text("5")  # noqa: ASYNC240 - a tiny procfs write, before timing
    start = time.perf_counter()
    count = 0
    async for _ in job.iter_trajectories():
        count += 1
    seconds = time.perf_counter() - start
    return {"count": count, "growth_mb": max(0, status_kb("VmHWM") - before) / 1024, "seconds": seconds}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_run(*sys.argv[1:4]))))
