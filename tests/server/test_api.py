"""Every operation of openapi.yaml over raw HTTP, in-process: the happy paths and their states."""

from __future__ import annotations

import importlib.metadata
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import yaml

from hud.server import create_app

from .conftest import LOCAL, Api, detail

REPO_SPEC = (Path(__file__).resolve().parents[2] / "openapi.yaml").read_bytes()


async def test_create_and_get_job(api: Api) -> None:
    job = await api.job("eval", metadata={"agent": "v2", "nested": {"a": [1, 2.5, None]}}, gym_id="g", evalset_id="e")
    assert set(job) == {
        "id",
        "name",
        "metadata",
        "created_at",
        "status",
        "error",
        "heartbeat_at",
        "gym_id",
        "evalset_id",
    }
    assert job["error"] is None and job["heartbeat_at"] is None
    assert (job["gym_id"], job["evalset_id"]) == ("g", "e")
    assert job["name"] == "eval"
    assert job["metadata"] == {"agent": "v2", "nested": {"a": [1, 2.5, None]}}
    assert job["status"] == "created"
    created = datetime.fromisoformat(job["created_at"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    assert await api.ok("GET", f"/v2/jobs/{job['id']}") == job


async def test_job_metadata_defaults_to_null(api: Api) -> None:
    job = await api.job("bare")
    assert job["metadata"] is None
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}"))["metadata"] is None


async def test_update_job_status_and_metadata(api: Api) -> None:
    job = await api.job("j", metadata={"a": 1})
    updated = await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "running"})
    assert updated == {**job, "status": "running"}
    updated = await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"metadata": {"b": 2}})
    assert updated == {**job, "status": "running", "metadata": {"b": 2}}
    # Free string, not an enum: an unknown status round-trips.
    updated = await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "paused-by-ops", "metadata": None})
    assert (updated["status"], updated["metadata"]) == ("paused-by-ops", None)
    assert await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={}) == updated
    assert await api.ok("GET", f"/v2/jobs/{job['id']}") == updated


async def test_update_job_error(api: Api) -> None:
    job = await api.job()
    failed = await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "failed", "error": "boom"})
    assert (failed["status"], failed["error"]) == ("failed", "boom")
    assert (await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"status": "running"}))["error"] == "boom"
    cleared = await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"error": None})
    assert cleared == {**job, "status": "running", "error": None}
    assert (await api.ok("PATCH", f"/v2/jobs/{job['id']}", json={"error": "e" * 65536}))["error"] == "e" * 65536
    detail(await api.request("PATCH", f"/v2/jobs/{job['id']}", json={"error": "e" * 65537}), 422)
    detail(await api.request("PATCH", f"/v2/jobs/{job['id']}", json={"error": 1}), 422)


async def test_update_missing_job_is_404(api: Api) -> None:
    detail(await api.request("PATCH", f"/v2/jobs/{uuid.uuid4()}", json={"status": "x"}), 404)


async def test_get_missing_job_is_404(api: Api) -> None:
    assert "no job" in detail(await api.request("GET", f"/v2/jobs/{uuid.uuid4()}"), 404)


async def test_environment_lifecycle_leaves_trajectory_on_job(api: Api) -> None:
    job = await api.job()
    env = await api.ok(
        "POST",
        "/v2/create_environment",
        json={"run_id": job["id"], "gym_id": "g", "task_id": "t", "metadata": {"k": 1}},
    )
    assert set(env) == {"id", "metadata"} and env["metadata"] == {"k": 1}
    # An open environment has no trajectory yet.
    assert await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories") == []
    detail(await api.request("GET", f"/v2/trajectories/{env['id']}"), 404)

    steps = [
        {"observation_text": "s1", "actions": [{"type": "click", "x": 1}], "start_timestamp": "2025-01-01T00:00:00Z"},
        {"observation_url": "https://x/1.png", "end_timestamp": "2025-01-01T00:00:01.5+02:00"},
    ]
    appended = await api.ok("POST", f"/v2/environments/{env['id']}/steps", json={"steps": steps})
    assert appended == {"id": env["id"], "step_count": 2}
    appended = await api.ok("POST", f"/v2/environments/{env['id']}/steps", json={"steps": [{"observation_text": "s3"}]})
    assert appended == {"id": env["id"], "step_count": 3}

    summary = await api.ok(
        "POST", f"/v2/environments/{env['id']}/close", json={"reward": 0.5, "logs": "log", "error": None}
    )
    # The close answers the summary: everything but the steps, and how many there are.
    assert summary == {
        "id": env["id"],
        "reward": 0.5,
        "logs": "log",
        "error": None,
        "step_count": 3,
        "task_id": "t",
        "gym_id": "g",
        "metadata": {"k": 1},
        "created_at": summary["created_at"],
        "closed_at": summary["closed_at"],
        "error_kind": None,
    }
    assert summary["created_at"] <= summary["closed_at"]
    trajectory = await api.ok("GET", f"/v2/trajectories/{env['id']}")
    assert trajectory["id"] == env["id"]
    assert (trajectory["reward"], trajectory["logs"], trajectory["error"]) == (0.5, "log", None)
    assert [s["observation_text"] for s in trajectory["trajectory"]] == ["s1", None, "s3"]
    assert trajectory["trajectory"][0] == {
        "observation_url": None,
        "observation_text": "s1",
        "actions": [{"type": "click", "x": 1}],
        "start_timestamp": "2025-01-01T00:00:00Z",
        "end_timestamp": None,
    }
    assert trajectory["trajectory"][2]["actions"] == []
    assert await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories") == [trajectory]


async def test_close_without_body_and_integer_reward(api: Api) -> None:
    job = await api.job()
    env_id = await api.env(job["id"])
    response = await api.request("POST", f"/v2/environments/{env_id}/close")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {k: answer[k] for k in ("id", "reward", "logs", "error", "step_count", "error_kind")} == {
        "id": env_id,
        "reward": None,
        "logs": None,
        "error": None,
        "step_count": 0,
        "error_kind": None,
    }
    assert (await api.trajectory(job["id"], reward=1))["reward"] == 1.0


async def test_close_twice_is_409_and_keeps_first_outcome(api: Api) -> None:
    job = await api.job()
    env_id = await api.env(job["id"])
    await api.ok("POST", f"/v2/environments/{env_id}/close", json={"reward": 1.0})
    first = await api.ok("GET", f"/v2/trajectories/{env_id}")
    assert "closed" in detail(await api.request("POST", f"/v2/environments/{env_id}/close", json={"reward": 0}), 409)
    assert await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories") == [first]
    assert first["reward"] == 1.0


async def test_append_to_closed_environment_is_409(api: Api) -> None:
    env_id = await api.env(None)
    await api.ok("POST", f"/v2/environments/{env_id}/close")
    response = await api.request("POST", f"/v2/environments/{env_id}/steps", json={"steps": [{}]})
    detail(response, 409)
    assert (await api.ok("GET", f"/v2/trajectories/{env_id}"))["trajectory"] == []


async def test_environment_without_job(api: Api) -> None:
    for body in ({"gym_id": "g"}, {"gym_id": "g", "run_id": None}):
        env = await api.ok("POST", "/v2/create_environment", json=body)
        closed = await api.ok("POST", f"/v2/environments/{env['id']}/close", json={"reward": 0.0})
        assert closed["id"] == env["id"]
        stored = await api.ok("GET", f"/v2/trajectories/{env['id']}")
        assert (stored["id"], stored["reward"], stored["trajectory"]) == (env["id"], 0.0, [])


async def test_environment_with_unknown_job_is_404(api: Api) -> None:
    response = await api.request("POST", "/v2/create_environment", json={"run_id": str(uuid.uuid4()), "gym_id": "g"})
    assert "run_id" in detail(response, 404)


async def test_missing_environment_is_404(api: Api) -> None:
    missing = str(uuid.uuid4())
    detail(await api.request("POST", f"/v2/environments/{missing}/close"), 404)
    detail(await api.request("POST", f"/v2/environments/{missing}/steps", json={"steps": [{}]}), 404)
    detail(await api.request("GET", f"/v2/trajectories/{missing}"), 404)
    detail(await api.request("GET", f"/v2/jobs/{missing}/trajectories"), 404)


async def test_trajectories_are_listed_in_closing_order(api: Api) -> None:
    job = await api.job()
    first, second, third = [await api.env(job["id"]) for _ in range(3)]
    for env_id in (second, third, first):
        await api.ok("POST", f"/v2/environments/{env_id}/close")
    listed = await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories")
    assert [t["id"] for t in listed] == [second, third, first]


async def test_trajectories_of_one_job_only(api: Api) -> None:
    job_a, job_b = await api.job("a"), await api.job("b")
    ta = await api.trajectory(job_a["id"], reward=1.0)
    tb = await api.trajectory(job_b["id"], reward=0.0)
    assert await api.ok("GET", f"/v2/jobs/{job_a['id']}/trajectories") == [ta]
    assert await api.ok("GET", f"/v2/jobs/{job_b['id']}/trajectories") == [tb]


async def test_health_needs_no_key(api: Api) -> None:
    response = await api.client.get("/v2/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": importlib.metadata.version("hud")}


async def test_openapi_yaml_is_served_without_key(api: Api) -> None:
    response = await api.client.get("/openapi.yaml")
    assert response.status_code == 200
    # A byte copy of the repository's spec (codegen.sh writes it into the generated package).
    assert response.content == REPO_SPEC
    spec = yaml.safe_load(response.content)
    assert spec["info"]["title"] == "HUD Jobs API"
    assert "/v2/create_environment" in spec["paths"]


async def test_unknown_path_and_method_answer_json(api: Api) -> None:
    assert "no such path" in detail(await api.request("GET", "/v2/nope"), 404)
    response = await api.request("DELETE", "/v2/jobs")
    detail(response, 405)
    assert {"GET", "POST"} <= set(response.headers["allow"].replace(" ", "").split(","))
    response = await api.request("PUT", "/v2/jobs/x")
    assert {"GET", "PATCH"} <= set(response.headers["allow"].replace(" ", "").split(","))


async def test_auth_disabled_acts_as_local_account(db_url: str) -> None:
    app = create_app(db_url, auth=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
        for headers in ({}, {"Authorization": "Bearer whatever"}, {"Authorization": "garbage"}):
            response = await client.post("/v2/jobs", json={"name": "n"}, headers=headers)
            assert response.status_code == 200, response.text
        listed = (await client.get("/v2/jobs")).json()["items"]
        assert len(listed) == 3
