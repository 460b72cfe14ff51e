"""Client-chosen ids on create (an extension): the same create again is a replay, other content a 409;
and an environment's steps read a page at a time."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Api, detail
from .test_import import rows


async def test_a_job_created_with_an_id_keeps_it_and_a_repeat_is_a_replay(api: Api) -> None:
    job = await api.job("eval", id="run-2025.01:a_b-1", metadata={"a": 1, "b": [1.5]}, gym_id="g")
    assert job["id"] == "run-2025.01:a_b-1"
    await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "running"})
    # Key order aside, the same content: the job as it is now, nothing created.
    again = await api.job("eval", id="run-2025.01:a_b-1", metadata={"b": [1.5], "a": 1}, gym_id="g")
    assert again == {**job, "status": "running"}
    assert rows(api)["jobs"] == 1


@pytest.mark.parametrize(
    "other",
    [
        {"name": "renamed"},
        {"metadata": {"a": 1.0, "b": [1.5]}},
        {"metadata": None},
        {"gym_id": None},
        {"evalset_id": "e"},
    ],
)
async def test_a_job_id_with_other_content_is_a_409(api: Api, other: dict[str, object]) -> None:
    await api.job("eval", id="fixed", metadata={"a": 1, "b": [1.5]}, gym_id="g")
    body = {"name": "eval", "id": "fixed", "metadata": {"a": 1, "b": [1.5]}, "gym_id": "g", **other}
    assert "exists with other fields" in detail(await api.request("POST", "/v2/jobs", json=body), 409)
    assert rows(api)["jobs"] == 1


async def test_an_id_of_another_account_is_a_409_whatever_the_content(api: Api) -> None:
    await api.job("eval", id="shared", who="bob")
    env = await api.ok("POST", "/v2/create_environment", json={"gym_id": "g", "id": "env-shared"}, who="bob")
    assert env["id"] == "env-shared"
    assert "taken" in detail(await api.request("POST", "/v2/jobs", json={"name": "eval", "id": "shared"}), 409)
    taken = await api.request("POST", "/v2/create_environment", json={"gym_id": "g", "id": "env-shared"})
    assert "taken" in detail(taken, 409)
    detail(await api.request("GET", "/v2/jobs/shared"), 404)


async def test_an_environment_created_with_an_id_keeps_it_and_a_repeat_is_a_replay(api: Api) -> None:
    job = await api.job()
    body = {"id": "env-1", "run_id": job["id"], "gym_id": "g", "task_id": "t", "metadata": {"k": [1]}}
    first = await api.ok("POST", "/v2/create_environment", json=body)
    assert first == {"id": "env-1", "metadata": {"k": [1]}}
    await api.ok("POST", "/v2/environments/env-1/steps", json={"steps": [{"observation_text": "kept"}]})
    assert await api.ok("POST", "/v2/create_environment", json=body) == first
    assert rows(api)["environments"] == 1
    for change in ({"task_id": "t2"}, {"run_id": None}, {"gym_id": "g2"}, {"metadata": None}):
        detail(await api.request("POST", "/v2/create_environment", json={**body, **change}), 409)
    page = await api.ok("GET", "/v2/environments/env-1/steps")
    assert page["step_count"] == 1 and page["steps"][0]["observation_text"] == "kept"


@pytest.mark.parametrize("bad", ["", "a/b", "-lead", "x" * 129, "has space", "é", "a\nb", 7])
async def test_ids_that_cannot_stay_the_same_in_a_url_are_refused(api: Api, bad: object) -> None:
    detail(await api.request("POST", "/v2/jobs", json={"name": "j", "id": bad}), 422)
    detail(await api.request("POST", "/v2/create_environment", json={"gym_id": "g", "id": bad}), 422)
    assert rows(api)["jobs"] == 0


@given(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z"))
# One app for every example: an id drawn twice is a replay of the same create, which answers it too.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_any_id_of_the_pattern_round_trips_through_urls(api: Api, job_id: str) -> None:
    response = await api.request("POST", "/v2/jobs", json={"name": "j", "id": job_id})
    assert response.status_code == 200 and response.json()["id"] == job_id
    assert (await api.ok("GET", f"/v2/jobs/{job_id}"))["id"] == job_id


async def test_steps_are_read_a_page_at_a_time_and_per_account(api: Api) -> None:
    job = await api.job()
    env_id = await api.env(job["id"])
    texts = [f"s{i}" for i in range(7)]
    await api.ok("POST", f"/v2/environments/{env_id}/steps", json={"steps": [{"observation_text": t} for t in texts]})
    seen: list[str] = []
    offset = 0
    while True:
        page = await api.ok("GET", f"/v2/environments/{env_id}/steps", params={"offset": offset, "limit": 3})
        assert page["step_count"] == 7 and page["offset"] == offset and page["id"] == env_id
        seen += [s["observation_text"] for s in page["steps"]]
        offset += len(page["steps"])
        if offset >= page["step_count"]:
            break
    assert seen == texts
    assert (await api.ok("GET", f"/v2/environments/{env_id}/steps", params={"offset": 99}))["steps"] == []
    detail(await api.request("GET", f"/v2/environments/{env_id}/steps", who="bob"), 404)
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"cursor": "x"}):
        detail(await api.request("GET", f"/v2/environments/{env_id}/steps", params=params), 422)
