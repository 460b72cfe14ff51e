"""Bad input answers its documented 4xx with a `detail` string, never a 500."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hud.server import create_app

from .conftest import LOCAL, Api, detail

JSON = {"Content-Type": "application/json"}


async def post_raw(api: Api, path: str, raw: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return await api.request("POST", path, content=raw, headers=headers or JSON)


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"name": "x",}', b"\xff\xfe\x00", b"name=x", b'{"name": "x"} trailing'],
    ids=["truncated", "trailing-comma", "not-utf8", "form", "trailing-data"],
)
async def test_invalid_json_is_400(api: Api, raw: bytes) -> None:
    assert "JSON" in detail(await post_raw(api, "/v2/jobs", raw), 400)


async def test_a_body_that_is_not_declared_json_is_415(api: Api) -> None:
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}):
        response = await post_raw(api, "/v2/jobs", b'{"name": "x"}', headers)
        assert "Content-Type: application/json" in detail(response, 415)
    untyped = await api.request("POST", "/v2/jobs", content=b'{"name": "x"}')
    assert "none was sent" in detail(untyped, 415)
    # An empty body needs no type (a close without an outcome); a JSON subtype is JSON.
    env = (await api.ok("POST", "/v2/create_environment", json={"gym_id": "g"}))["id"]
    assert (await api.request("POST", f"/v2/environments/{env}/close", content=b"")).status_code == 200
    response = await post_raw(api, "/v2/jobs", b'{"name": "x"}', {"Content-Type": "application/vnd.hud+json"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 257},
        {"name": 5},
        {"name": None},
        {"name": "x", "unknown": 1},
        {"name": "x", "metadata": []},
        {"name": "x", "metadata": "text"},
        {"name": "x", "gym_id": ""},
        {"name": "x", "gym_id": "g" * 129},
        {"name": "nul\x00"},
        ["name"],
        "name",
        None,
        0,
    ],
)
async def test_job_schema_violations_are_422(api: Api, body: Any) -> None:
    detail(await post_raw(api, "/v2/jobs", json.dumps(body).encode()), 422)


async def test_empty_body_is_400(api: Api) -> None:
    assert "empty" in detail(await post_raw(api, "/v2/jobs", b""), 400)


async def test_name_of_256_characters_is_accepted(api: Api) -> None:
    assert (await api.job("x" * 256))["name"] == "x" * 256


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400"])
async def test_non_finite_reward_is_422(api: Api, literal: bytes) -> None:
    env_id = await api.env(None)
    response = await post_raw(api, f"/v2/environments/{env_id}/close", b'{"reward": ' + literal + b"}")
    assert "finite" in detail(response, 422)
    # Refused before anything happened: the environment is still open.
    await api.ok("POST", f"/v2/environments/{env_id}/close", json={"reward": 1.0})


async def test_non_finite_number_in_metadata_is_422(api: Api) -> None:
    detail(await post_raw(api, "/v2/jobs", b'{"name": "x", "metadata": {"a": [NaN]}}'), 422)


@pytest.mark.parametrize("reward", [True, "1.0", [1]])
async def test_reward_of_wrong_type_is_422(api: Api, reward: Any) -> None:
    env_id = await api.env(None)
    detail(await api.request("POST", f"/v2/environments/{env_id}/close", json={"reward": reward}), 422)


async def test_metadata_nested_too_deep_is_422(api: Api) -> None:
    deep: Any = "leaf"
    for _ in range(64):
        deep = {"d": deep}
    assert "nested" in detail(await api.request("POST", "/v2/jobs", json={"name": "x", "metadata": deep}), 422)
    # Far beyond the recursion limit of the JSON parser: still a 422, not a crash.
    raw = b'{"name": "x", "metadata": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001
    detail(await post_raw(api, "/v2/jobs", raw), 422)
    shallow: Any = "leaf"
    for _ in range(60):
        shallow = {"d": shallow}
    assert (await api.job("ok", metadata=shallow))["metadata"] == shallow


async def test_lone_surrogate_is_422(api: Api) -> None:
    detail(await post_raw(api, "/v2/jobs", b'{"name": "\\ud800"}'), 422)
    detail(await post_raw(api, "/v2/jobs", b'{"name": "x", "metadata": {"\\udfff": 1}}'), 422)


@pytest.mark.parametrize(
    "body",
    [
        {"steps": []},
        {"steps": [{}] * 1001},
        {"steps": [{"actions": [1]}]},
        {"steps": [{"actions": {"a": 1}}]},
        {"steps": [{"start_timestamp": "yesterday"}]},
        {"steps": [{"start_timestamp": "2025-01-01T00:00:00"}]},
        {"steps": [{"extra": 1}]},
        {"steps": {}},
        {},
    ],
)
async def test_step_schema_violations_are_422(api: Api, body: Any) -> None:
    env_id = await api.env(None)
    detail(await api.request("POST", f"/v2/environments/{env_id}/steps", json=body), 422)
    assert (await api.ok("POST", f"/v2/environments/{env_id}/close"))["step_count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"gym_id": ""},
        {"gym_id": "g", "run_id": ""},
        {"gym_id": "g", "run_id": "r" * 129},
        {"gym_id": "g", "run_id": 5},
        {"gym_id": "g", "task_id": ""},
        {"gym_id": "g", "other": None},
    ],
)
async def test_environment_schema_violations_are_422(api: Api, body: Any) -> None:
    detail(await api.request("POST", "/v2/create_environment", json=body), 422)


@pytest.mark.parametrize("body", [{"status": ""}, {"status": "s" * 65}, {"status": None}, {"status": 1}, {"x": 1}])
async def test_update_schema_violations_are_422(api: Api, body: Any) -> None:
    job = await api.job()
    detail(await api.request("PATCH", f"/v2/jobs/{job['id']}", json=body), 422)
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}"))["status"] == "created"


@pytest.mark.parametrize(
    "path",
    [
        "/v2/jobs/" + "j" * 129,
        "/v2/jobs/%00",
        "/v2/jobs/a%00b/trajectories",
        "/v2/trajectories/" + "t" * 129,
        "/v2/jobs/%FF%FE",
        "/v2/trajectories/%C3%28",
    ],
)
async def test_bad_ids_in_paths_are_400_or_404(api: Api, path: str) -> None:
    response = await api.request("GET", path)
    assert response.status_code in (400, 404), response.text
    detail(response, response.status_code)


@pytest.mark.parametrize("env_id", ["e" * 129, "%00"])
async def test_bad_environment_ids_are_400(api: Api, env_id: str) -> None:
    detail(await api.request("POST", f"/v2/environments/{env_id}/close"), 400)
    detail(await api.request("POST", f"/v2/environments/{env_id}/steps", json={"steps": [{}]}), 400)


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "limit=abc", "limit=1.5", "limit=", "status=", "name=", "name=" + "n" * 257]
)
async def test_bad_job_list_parameters_are_422(api: Api, query: str) -> None:
    detail(await api.request("GET", f"/v2/jobs?{query}"), 422)


@pytest.mark.parametrize("query", ["limit=0", "limit=10001", "limit=x"])
async def test_bad_trajectory_limit_is_422(api: Api, query: str) -> None:
    job = await api.job()
    detail(await api.request("GET", f"/v2/jobs/{job['id']}/trajectories?{query}"), 422)


@pytest.mark.parametrize("cursor", ["garbage", "e30", "W10", "WzEsMl0", "x" * 513, "%00", "W-1"])
async def test_malformed_cursors_are_400(api: Api, cursor: str) -> None:
    job = await api.job()
    assert "cursor" in detail(await api.request("GET", f"/v2/jobs?cursor={cursor}"), 400)
    detail(await api.request("GET", f"/v2/jobs/{job['id']}/trajectories?limit=1&cursor={cursor}"), 400)


async def test_body_over_limit_is_413(db_url: str) -> None:
    app = create_app(db_url, auth=False, max_body_bytes=1000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
        big = {"name": "x", "metadata": {"blob": "a" * 2000}}
        assert "1000" in detail(await client.post("/v2/jobs", json=big), 413)

        # No Content-Length (chunked): the streamed bytes are counted.
        async def chunks() -> Any:
            yield b'{"name": "x", "metadata": {"blob": "'
            for _ in range(20):
                yield b"a" * 100
            yield b'"}}'

        response = await client.post("/v2/jobs", content=chunks(), headers=JSON)
        assert "content-length" not in response.request.headers
        detail(response, 413)
        small = {"name": "x", "metadata": {"blob": "a" * 500}}
        assert (await client.post("/v2/jobs", json=small)).status_code == 200
        assert len((await client.get("/v2/jobs")).json()["items"]) == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(max_size=300),
    metadata=st.none() | st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)
def test_any_job_body_is_accepted_or_refused_cleanly(db_url: str, name: str, metadata: Any) -> None:
    import asyncio

    async def run() -> None:
        app = create_app(db_url, auth=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
            response = await client.post("/v2/jobs", json={"name": name, "metadata": metadata})
            valid = 1 <= len(name) <= 256 and "\x00" not in name
            if valid:
                assert response.status_code == 200, response.text
                job = response.json()
                assert (job["name"], job["metadata"]) == (name, metadata)
                got = await client.get(f"/v2/jobs/{job['id']}")
                assert got.json() == job
            else:
                detail(response, 422)

    asyncio.run(run())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job_id=st.text(min_size=1, max_size=200).filter(lambda s: "/" not in s and s not in (".", "..")))
def test_any_job_id_is_404_or_400(db_url: str, job_id: str) -> None:
    import asyncio

    async def run() -> None:
        app = create_app(db_url, auth=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
            response = await client.get("/v2/jobs/" + urllib.parse.quote(job_id, safe=""))
            assert response.status_code in (400, 404), response.text
            detail(response, response.status_code)

    asyncio.run(run())


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
async def test_non_finite_numbers_are_422_wherever_free_json_goes(api: Api, literal: bytes) -> None:
    # Python's json parses these (not JSON), and pydantic's free-form dicts would keep them.
    job = await api.job(metadata={"kept": 1})
    env_id = await api.env(job["id"])
    for method, path, raw in [
        ("POST", "/v2/jobs", b'{"name": "x", "metadata": {"a": {"b": [1, ' + literal + b"]}}}"),
        ("PATCH", f"/v2/jobs/{job['id']}", b'{"metadata": {"a": ' + literal + b"}}"),
        ("POST", "/v2/create_environment", b'{"gym_id": "g", "metadata": {"a": [' + literal + b"]}}"),
        ("POST", f"/v2/environments/{env_id}/steps", b'{"steps": [{"actions": [{"x": ' + literal + b"}]}]}"),
    ]:
        response = await api.request(method, path, content=raw, headers=JSON)
        assert "finite" in detail(response, 422), (method, path)
    # Nothing was written.
    assert [j["id"] for j in (await api.ok("GET", "/v2/jobs"))["items"]] == [job["id"]]
    assert (await api.ok("GET", f"/v2/jobs/{job['id']}"))["metadata"] == {"kept": 1}
    closed = await api.ok("POST", f"/v2/environments/{env_id}/close", json={})
    assert closed["step_count"] == 0
    assert [t["id"] for t in await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories")] == [env_id]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/jobs?limt=5"),
        ("GET", "/v2/jobs/{job}?x=1"),
        ("GET", "/v2/jobs/{job}/trajectories?status=done"),
        ("POST", "/v2/create_environment?dry_run=1"),
    ],
)
async def test_unknown_query_parameters_are_422(api: Api, method: str, path: str) -> None:
    job = await api.job()
    body = {"gym_id": "g"} if method == "POST" else None
    response = await api.request(method, path.format(job=job["id"]), json=body)
    assert "unknown query parameter" in detail(response, 422)
    assert len((await api.ok("GET", "/v2/jobs"))["items"]) == 1
