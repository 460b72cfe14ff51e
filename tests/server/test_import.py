"""POST /v2/import: records copied from another store keep their ids and times, and importing is idempotent:
the same batch again writes nothing, other content is a conflict that writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hud.server._db import get_engine
from hud.server._tables import environments, jobs, steps, trajectories

from .conftest import Api, detail

CREATED = "2025-01-31T12:00:00.123456+00:00"
CLOSED = "2025-01-31T12:05:00.654321+00:00"


def job_record(job_id: str = "job-1", **fields: Any) -> dict[str, Any]:
    return {"id": job_id, "name": "offline", "created_at": CREATED, "status": "completed", **fields}


def env_record(env_id: str, job_id: str = "job-1", **fields: Any) -> dict[str, Any]:
    return {"id": env_id, "job_id": job_id, "gym_id": "gym", "task_id": "t-1", "created_at": CREATED, **fields}


def step(i: int) -> dict[str, Any]:
    return {
        "observation_url": None,
        "observation_text": f"step {i}",
        "actions": [{"click": i}],
        "start_timestamp": CREATED,
        "end_timestamp": None,
    }


def close_record(env_id: str, step_count: int, **fields: Any) -> dict[str, Any]:
    return {"env_id": env_id, "closed_at": CLOSED, "step_count": step_count, "reward": 0.5, **fields}


async def imported(api: Api, who: str = "alice", **batch: Any) -> dict[str, Any]:
    result: dict[str, Any] = await api.ok("POST", "/v2/import", json=batch, who=who)
    return result


def counts(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {k: (v["written"], v["unchanged"]) for k, v in result.items() if k != "conflicts"}


def rows(api: Api) -> dict[str, int]:
    with get_engine(api.database_url).connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (jobs, environments, steps, trajectories)
        }


def full_batch() -> dict[str, Any]:
    return {
        "jobs": [job_record(metadata={"agent": "v2"}, gym_id="g", evalset_id="e", error=None)],
        "environments": [env_record("env-a", metadata={"k": 1}), env_record("env-b", task_id=None)],
        "steps": [
            {"env_id": "env-a", "position": 0, "steps": [step(0), step(1)]},
            {"env_id": "env-a", "position": 2, "steps": [step(2)]},
        ],
        "closes": [close_record("env-a", 3, error="boom", error_kind="timeout", logs="log")],
    }


async def test_a_batch_is_written_with_its_ids_and_times_and_again_is_unchanged(api: Api) -> None:
    result = await imported(api, **full_batch())
    assert counts(result) == {"jobs": (1, 0), "environments": (2, 0), "steps": (3, 0), "closes": (1, 0)}
    assert result["conflicts"] == []
    job = await api.ok("GET", "/v2/jobs/job-1")
    assert job == {
        "id": "job-1", "name": "offline", "metadata": {"agent": "v2"}, "created_at": CREATED, "status": "completed",
        "error": None, "heartbeat_at": None, "gym_id": "g", "evalset_id": "e",
    }  # fmt: skip
    [trajectory] = await api.ok("GET", "/v2/jobs/job-1/trajectories")
    assert trajectory == {
        "id": "env-a", "reward": 0.5, "logs": "log", "error": "boom", "trajectory": [step(0), step(1), step(2)],
        "task_id": "t-1", "gym_id": "gym", "metadata": {"k": 1}, "created_at": CREATED, "closed_at": CLOSED,
        "error_kind": "timeout",
    }  # fmt: skip
    listed = (await api.ok("GET", "/v2/jobs/job-1/environments"))["items"]
    assert [(e["id"], e["state"], e["step_count"], e["created_at"]) for e in listed] == [
        ("env-a", "closed", 3, CREATED),
        ("env-b", "open", 0, CREATED),
    ]
    before = rows(api)
    again = await imported(api, **full_batch())
    assert counts(again) == {"jobs": (0, 1), "environments": (0, 2), "steps": (0, 3), "closes": (0, 1)}
    assert again["conflicts"] == [] and rows(api) == before


async def test_steps_already_here_are_compared_and_only_the_new_ones_appended(api: Api) -> None:
    await imported(api, jobs=[job_record()], environments=[env_record("env-a")])
    await imported(api, steps=[{"env_id": "env-a", "position": 0, "steps": [step(i) for i in range(5)]}])
    result = await imported(api, steps=[{"env_id": "env-a", "position": 3, "steps": [step(i) for i in range(3, 8)]}])
    assert counts(result)["steps"] == (3, 2)
    page = await api.ok("GET", "/v2/environments/env-a/steps", params={"limit": 1000})
    assert page["step_count"] == 8 and page["steps"] == [step(i) for i in range(8)]
    # Other content at a position already here, or a gap, is a conflict and writes nothing.
    other = await imported(api, steps=[{"env_id": "env-a", "position": 7, "steps": [step(70), step(8)]}])
    gap = await imported(api, steps=[{"env_id": "env-a", "position": 9, "steps": [step(9)]}])
    assert [c["kind"] for c in other["conflicts"] + gap["conflicts"]] == ["steps", "steps"]
    assert "other content" in other["conflicts"][0]["detail"] and "8 steps here" in gap["conflicts"][0]["detail"]
    assert (await api.ok("GET", "/v2/environments/env-a/steps", params={"offset": 7}))["steps"] == [step(7)]


async def test_a_close_needs_every_step_and_an_outcome_once_written_stays(api: Api) -> None:
    await imported(api, jobs=[job_record()], environments=[env_record("env-a")])
    early = await imported(api, closes=[close_record("env-a", 2)])
    assert early["conflicts"] == [
        {"kind": "close", "id": "env-a", "detail": "the environment has 0 of its 2 steps here: send the others first"}
    ]
    # Steps and close in one batch: steps go first, whatever the order of the body's keys.
    done = await imported(
        api, closes=[close_record("env-a", 2)], steps=[{"env_id": "env-a", "position": 0, "steps": [step(0), step(1)]}]
    )
    assert counts(done)["closes"] == (1, 0) and done["conflicts"] == []
    other = await imported(api, closes=[close_record("env-a", 2, reward=1.0)])
    assert other["conflicts"][0]["kind"] == "close" and "another outcome" in other["conflicts"][0]["detail"]
    late = await imported(api, steps=[{"env_id": "env-a", "position": 2, "steps": [step(2)]}])
    assert "closed here" in late["conflicts"][0]["detail"]
    [trajectory] = await api.ok("GET", "/v2/jobs/job-1/trajectories")
    assert trajectory["reward"] == 0.5 and len(trajectory["trajectory"]) == 2


async def test_a_conflicting_record_skips_the_later_records_of_its_environment(api: Api) -> None:
    await imported(api, jobs=[job_record()], environments=[env_record("env-a")])
    result = await imported(
        api,
        environments=[env_record("env-a", gym_id="another"), env_record("env-c")],
        steps=[
            {"env_id": "env-a", "position": 0, "steps": [step(0)]},
            {"env_id": "env-c", "position": 0, "steps": [step(0)]},
        ],
        closes=[close_record("env-a", 1), close_record("env-c", 1)],
    )
    assert [(c["kind"], c["id"]) for c in result["conflicts"]] == [("environment", "env-a")]
    assert counts(result) == {"jobs": (0, 0), "environments": (1, 0), "steps": (1, 0), "closes": (1, 0)}
    assert (await api.ok("GET", "/v2/environments/env-a/steps"))["step_count"] == 0


async def test_a_copy_follows_the_source_until_its_status_here_is_final(api: Api) -> None:
    await imported(api, jobs=[job_record(status="running", metadata={"v": 1})], environments=[env_record("env-a")])
    update = await imported(api, jobs=[job_record(status="cancelled", metadata={"v": 2}, error="stopped")])
    assert counts(update)["jobs"] == (1, 0)
    job = await api.ok("GET", "/v2/jobs/job-1")
    assert (job["status"], job["metadata"], job["error"]) == ("cancelled", {"v": 2}, "stopped")
    # Importing sets fields only: the open environment stays open (its close comes from the source).
    [env] = (await api.ok("GET", "/v2/jobs/job-1/environments"))["items"]
    assert env["state"] == "open"
    revert = await imported(api, jobs=[job_record(status="running")])
    assert "cancelled here and running at the source" in revert["conflicts"][0]["detail"]
    assert (await api.ok("GET", "/v2/jobs/job-1"))["status"] == "cancelled"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": "renamed"}, "another name"),
        ({"created_at": CLOSED}, "another name, gym, evalset or creation time"),
        ({"gym_id": "g2"}, "another name, gym"),
    ],
)
async def test_a_job_with_the_same_id_and_another_identity_is_a_conflict(
    api: Api, change: dict[str, Any], expected: str
) -> None:
    await imported(api, jobs=[job_record()])
    result = await imported(api, jobs=[job_record(**change)], environments=[env_record("env-x")])
    assert [c["kind"] for c in result["conflicts"]] == ["job"] and expected in result["conflicts"][0]["detail"]
    # The environments of a conflicting job in the same batch are not written.
    assert (await api.ok("GET", "/v2/jobs/job-1/environments"))["items"] == []


async def test_a_job_recorded_here_is_never_overwritten_by_an_import(api: Api) -> None:
    job = await api.job("native", id="native-1")
    same = job_record("native-1", name="native", created_at=job["created_at"], status="created")
    assert counts(await imported(api, jobs=[same]))["jobs"] == (0, 1)
    changed = await imported(api, jobs=[{**same, "status": "completed"}])
    assert "recorded here, not copied here" in changed["conflicts"][0]["detail"]
    assert (await api.ok("GET", "/v2/jobs/native-1"))["status"] == "created"


async def test_ids_of_another_account_are_conflicts_and_reveal_nothing(api: Api) -> None:
    await imported(api, who="bob", **full_batch())
    result = await imported(api, **full_batch())
    # The job's records after it are skipped with it.
    assert result["conflicts"] == [
        {"kind": "job", "id": "job-1", "detail": "the id is taken by a job of another account"}
    ]
    # Alone, an environment of another account is one too.
    alone = await imported(api, jobs=[job_record("job-2")], environments=[env_record("env-a", job_id="job-2")])
    assert alone["conflicts"] == [
        {"kind": "environment", "id": "env-a", "detail": "the id is taken by an environment of another account"}
    ]
    assert counts(result) == {"jobs": (0, 0), "environments": (0, 0), "steps": (0, 0), "closes": (0, 0)}
    detail(await api.request("GET", "/v2/jobs/job-1"), 404)
    detail(await api.request("GET", "/v2/environments/env-a/steps"), 404)


async def test_an_environment_needs_its_job_here(api: Api) -> None:
    result = await imported(api, environments=[env_record("env-a", job_id="nowhere")])
    assert result["conflicts"] == [
        {"kind": "environment", "id": "env-a", "detail": "its job 'nowhere' is not here: import the job first"}
    ]


@pytest.mark.parametrize(
    "batch",
    [
        {"jobs": [job_record("has/slash")]},
        {"jobs": [job_record(created_at="yesterday")]},
        {"environments": [env_record("e", created_at="2025-01-31")]},
        {"jobs": [job_record(created_at="2024-01-01T12:99:00Z")]},  # the shape of a time, not a time
        {"closes": [close_record("e", 0, closed_at="2024-02-30T00:00:00Z")]},
        {"steps": [{"env_id": "e", "position": -1, "steps": [step(0)]}]},
        {"steps": [{"env_id": "e", "position": 1.5, "steps": [step(0)]}]},
        {"steps": [{"env_id": "e", "position": True, "steps": [step(0)]}]},
        {"steps": [{"env_id": "e", "position": 0, "steps": []}]},
        {"closes": [close_record("e", 0, error_kind="oops")]},
        {"jobs": [job_record(heartbeat_age=-1)]},
        {"jobs": [job_record(heartbeat_at="0001-01-01T00:00:00+23:59")]},
        {"jobs": [job_record(heartbeat_at="9999-12-31T23:59:59-23:59")]},
        {"unknown": []},
    ],
)
async def test_invalid_records_answer_422_and_nothing_is_written(api: Api, batch: dict[str, Any]) -> None:
    detail(await api.request("POST", "/v2/import", json=batch), 422)
    assert rows(api) == {"jobs": 0, "environments": 0, "steps": 0, "trajectories": 0}


async def test_times_are_stored_as_given_a_leap_second_included(api: Api) -> None:
    times = ["2016-12-31T23:59:60Z", "2025-01-31t12:00:00.1234567z", "2025-01-31 12:00:00-23:59"]
    jobs = [job_record(f"job-{i}", created_at=created) for i, created in enumerate(times)]
    assert counts(await imported(api, jobs=jobs))["jobs"] == (3, 0)
    assert [(await api.ok("GET", f"/v2/jobs/job-{i}"))["created_at"] for i in range(3)] == times


async def test_a_whole_number_position_written_as_a_float_is_accepted(api: Api) -> None:
    await imported(api, jobs=[job_record()], environments=[env_record("env-a")])
    result = await imported(api, steps=[{"env_id": "env-a", "position": 0.0, "steps": [step(0)]}])
    assert counts(result)["steps"] == (1, 0)


async def test_a_heartbeat_travels_exactly(api: Api) -> None:
    beat = "2025-01-31T12:04:59.999999+00:00"
    await imported(api, jobs=[job_record(status="completed", heartbeat_at=beat)])
    assert (await api.ok("GET", "/v2/jobs/job-1"))["heartbeat_at"] == beat
    assert counts(await imported(api, jobs=[job_record(status="completed", heartbeat_at=beat)]))["jobs"] == (0, 1)


async def test_an_environment_without_a_gym_is_imported_and_reads_back_without_one(api: Api) -> None:
    # The platform's 0.2 client creates environments with "gym_id": null; hud sync copies them.
    batch = {
        "jobs": [job_record()],
        "environments": [env_record("env-0", gym_id=None)],
        "steps": [{"env_id": "env-0", "position": 0, "steps": [step(0)]}],
        "closes": [close_record("env-0", 1)],
    }
    assert counts(await imported(api, **batch))["environments"] == (1, 0)
    assert counts(await imported(api, **batch)) == {
        "jobs": (0, 1), "environments": (0, 1), "steps": (0, 1), "closes": (0, 1)
    }  # fmt: skip
    [trajectory] = await api.ok("GET", "/v2/jobs/job-1/trajectories")
    assert trajectory["gym_id"] is None
    [info] = (await api.ok("GET", "/v2/jobs/job-1/environments"))["items"]
    assert info["gym_id"] is None


async def test_an_imported_close_records_sizes_and_duration_as_a_close_here_does(api: Api) -> None:
    await imported(api, **full_batch())
    with get_engine(api.database_url).connect() as conn:
        env = conn.execute(
            sa.select(environments.c.step_bytes, environments.c.max_step_bytes).where(environments.c.id == "env-a")
        ).one()
        row = conn.execute(
            sa.select(trajectories.c.size_bytes, trajectories.c.max_step_bytes, trajectories.c.duration).where(
                trajectories.c.id == "env-a"
            )
        ).one()
        stored = [len(d.encode()) for (d,) in conn.execute(sa.select(steps.c.data).where(steps.c.env_id == "env-a"))]
    assert tuple(env) == (sum(stored), max(stored))
    assert tuple(row) == (sum(stored) + len("log") + len("boom"), max(stored), 300.530865)
    summary = await api.ok("GET", "/v2/jobs/job-1/summary")
    assert summary["duration_median"] == 300.530865


async def test_imported_steps_past_the_environment_limits_are_a_conflict(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hud.server._operations import imports

    monkeypatch.setattr(imports, "MAX_ENVIRONMENT_STEPS", 2)
    batch = {
        "jobs": [job_record()],
        "environments": [env_record("env-a")],
        "steps": [{"env_id": "env-a", "position": 0, "steps": [step(0), step(1), step(2)]}],
    }
    result = await imported(api, **batch)
    assert counts(result)["steps"] == (0, 0)
    [conflict] = result["conflicts"]
    assert conflict["id"] == "env-a" and "limits" in conflict["detail"]
    assert rows(api)["steps"] == 0
