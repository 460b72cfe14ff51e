"""`PATCH /v2/jobs/{id}` with `metadata_merge`: keys set, the others kept, atomically (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from hud._wire import MAX_METADATA_BYTES

from .conftest import Api, detail


async def test_a_merge_sets_its_keys_and_keeps_the_others(api: Api) -> None:
    job = await api.job(metadata={"model": "m", "params": {"t": 0.1, "k": 5}})
    path = f"/v2/jobs/{job['id']}"
    merged = await api.ok("PATCH", path, json={"metadata_merge": {"score": 0.8, "params": {"t": 0.2}}})
    # Shallow: a key given replaces that key's whole value.
    assert merged["metadata"] == {"model": "m", "params": {"t": 0.2}, "score": 0.8}
    assert (await api.ok("GET", path))["metadata"] == merged["metadata"]
    with_status = await api.ok("PATCH", path, json={"status": "running", "metadata_merge": {}})
    assert (with_status["status"], with_status["metadata"]) == ("running", merged["metadata"])


async def test_a_merge_into_a_job_without_metadata_sets_the_keys(api: Api) -> None:
    job = await api.job()
    merged = await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"metadata_merge": {"a": [1, 2]}})
    assert merged["metadata"] == {"a": [1, 2]}


async def test_refused_merges_change_nothing(api: Api) -> None:
    job = await api.job(metadata={"a": 1})
    path = f"/v2/jobs/{job['id']}"
    detail(await api.request("PATCH", path, json={"metadata": {"b": 2}, "metadata_merge": {"c": 3}}), 422)
    detail(await api.request("PATCH", path, json={"metadata_merge": None}), 422)
    detail(await api.request("PATCH", path, json={"metadata_merge": [1]}), 422)
    half = "x" * (MAX_METADATA_BYTES // 2)
    assert (await api.ok("PATCH", path, json={"metadata_merge": {"big": half}}))["metadata"]["big"] == half
    too_big = detail(await api.request("PATCH", path, json={"metadata_merge": {"other": half}}), 422)
    assert "merged metadata" in too_big
    assert (await api.ok("GET", path))["metadata"] == {"a": 1, "big": half}
    detail(await api.request("PATCH", "/v2/jobs/no-such-job", json={"metadata_merge": {"a": 1}}), 404)
    detail(await api.request("PATCH", path, who="bob", json={"metadata_merge": {"a": 2}}), 404)


async def test_concurrent_merges_of_different_keys_all_keep_theirs(api: Api) -> None:
    job = await api.job(metadata={"base": True})
    path = f"/v2/jobs/{job['id']}"
    n = 40
    await asyncio.gather(*(api.ok("PATCH", path, json={"metadata_merge": {f"k{i}": i}}) for i in range(n)))
    assert (await api.ok("GET", path))["metadata"] == {"base": True, **{f"k{i}": i for i in range(n)}}
