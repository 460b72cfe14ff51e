"""`Job.update(metadata=..., merge=True)` and `Job.refresh()` through the SDK (embedded server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hud.errors import InvalidInputError, InvalidRequestError
from hud.job import create_job, load_job


async def test_merge_sets_keys_and_keeps_the_others_where_replace_drops_them(embedded: Path) -> None:
    job = await create_job("merge", metadata={"model": "m", "seed": 1})
    merged = await job.update(metadata={"score": 0.5}, merge=True)
    assert merged.metadata == {"model": "m", "seed": 1, "score": 0.5}
    assert job.metadata == {"model": "m", "seed": 1}  # a snapshot, unchanged
    replaced = await job.update(metadata={"score": 0.7})
    assert replaced.metadata == {"score": 0.7}
    assert (await load_job(job.id)).metadata == {"score": 0.7}


async def test_concurrent_merges_through_the_sdk_lose_no_key(embedded: Path) -> None:
    job = await create_job("merge")
    await asyncio.gather(*(job.update(metadata={f"k{i}": i}, merge=True) for i in range(30)))
    assert (await load_job(job.id)).metadata == {f"k{i}": i for i in range(30)}


async def test_merge_needs_metadata_and_the_merged_result_must_fit(embedded: Path) -> None:
    job = await create_job("merge", metadata={"big": "x" * 600_000})
    with pytest.raises(InvalidInputError, match="needs metadata"):
        await job.update(merge=True, status="running")
    with pytest.raises(InvalidRequestError, match="merged metadata"):
        await job.update(metadata={"more": "y" * 600_000}, merge=True)
    assert set((await load_job(job.id)).metadata or {}) == {"big"}


async def test_refresh_reads_the_job_as_it_is_now(embedded: Path) -> None:
    job = await create_job("refresh")
    await job.update(status="running", metadata={"a": 1})
    fresh = await job.refresh()
    assert (fresh.id, fresh.status, fresh.metadata) == (job.id, "running", {"a": 1})
    assert job.status == "created"
