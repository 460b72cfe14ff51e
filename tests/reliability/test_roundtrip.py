"""Property-based: names, metadata and ids round-trip exactly, SDK -> server -> SDK (embedded default)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hud
from hud import errors
from hud.job import create_job, iter_jobs, load_job

# Whatever the SDK accepts as a name: 1 to 256 characters, no NUL (surrogates are never generated).
names = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=256)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
metadata = st.none() | st.dictionaries(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8), json_values, max_size=5
)
# Ids as a caller might type them: anything the SDK lets through must come back as "not found".
ids = st.text(st.characters(exclude_characters="\x00/", exclude_categories=("Cs",)), min_size=1, max_size=128).filter(
    lambda s: s not in (".", "..")
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _run(coro: Any) -> Any:
    async def with_cleanup() -> Any:
        try:
            return await coro
        finally:
            await hud.aclose()

    return asyncio.run(with_cleanup())


@SETTINGS
@given(name=names, meta=metadata, gym_id=st.none() | ids)
def test_job_name_metadata_and_id_round_trip(
    embedded: Path, name: str, meta: dict[str, Any] | None, gym_id: str | None
) -> None:
    async def run() -> None:
        created = await create_job(name, metadata=meta, gym_id=gym_id)
        assert (created.name, created.metadata) == (name, meta)
        loaded = await load_job(created.id)
        assert (loaded.id, loaded.name, loaded.metadata) == (created.id, name, meta)
        # The name also travels as a query parameter.
        assert created.id in [j.id async for j in iter_jobs(name=name)]

    _run(run())


@SETTINGS
@given(meta=metadata, task_id=st.none() | ids)
def test_environment_metadata_round_trips_and_its_id_is_its_trajectory(
    embedded: Path, meta: dict[str, Any] | None, task_id: str | None
) -> None:
    async def run() -> None:
        job = await create_job("envs")
        env = await hud.gym.make("gym", job=job, task_id=task_id, metadata=meta)
        assert env.metadata == meta
        closed = await env.close(reward=0.5)
        assert [t.id for t in await job.load_trajectories()] == [env.id] == [closed.id]

    _run(run())


@SETTINGS
@given(job_id=ids)
def test_any_id_the_sdk_sends_comes_back_not_found_and_named(embedded: Path, job_id: str) -> None:
    async def run() -> None:
        try:
            await load_job(job_id)
        except errors.NotFoundError as exc:
            assert repr(job_id) in exc.detail
        else:
            raise AssertionError("no job has that id")

    _run(run())
