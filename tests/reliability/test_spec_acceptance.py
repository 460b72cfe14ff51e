"""openapi.yaml says exactly what the server accepts: what the spec allows is accepted, what the server
refuses the spec forbids.

Before: schemathesis (`--checks all`) found 162 schema-valid requests refused: strings with NUL (which
the server refuses, but the spec allowed), an Idempotency-Key drawn twice with different bodies (422,
which the contract does not allow a schema-valid request), and opaque cursors such as `cursor=0` (400).
tests/server/test_contract.py runs every schemathesis check against a live server; these pin the cases.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hud.server import create_app, create_key, dispose

SPEC: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
CURSOR = SPEC["components"]["parameters"]["Cursor"]["schema"]
IDEMPOTENCY_KEY = SPEC["components"]["parameters"]["IdempotencyKey"]["schema"]


def _text(schema: dict[str, Any]) -> dict[str, Any]:
    """The string branch of a field's schema (itself, or its `anyOf` member of type string)."""
    if schema.get("type") == "string":
        return schema
    return next(s for s in schema["anyOf"] if s.get("type") == "string")


def _allows(schema: dict[str, Any], value: str) -> bool:
    """Whether a string schema (length and pattern, what these schemas state) allows `value`."""
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        return False
    return re.search(schema.get("pattern", ""), value) is not None


def _param(path: str, method: str, name: str) -> dict[str, Any]:
    return next(p["schema"] for p in SPEC["paths"][path][method]["parameters"] if p.get("name") == name)


# Every text field whose NUL the server refuses (PostgreSQL text cannot hold it).
TEXT_FIELDS = {
    "JobCreate.name": SCHEMAS["JobCreate"]["properties"]["name"],
    "JobCreate.gym_id": SCHEMAS["JobCreate"]["properties"]["gym_id"],
    "JobCreate.evalset_id": SCHEMAS["JobCreate"]["properties"]["evalset_id"],
    "Status": SCHEMAS["Status"],
    "JobUpdate.error": SCHEMAS["JobUpdate"]["properties"]["error"],
    "Id": SCHEMAS["Id"],
    "EnvironmentCreate.gym_id": SCHEMAS["EnvironmentCreate"]["properties"]["gym_id"],
    "EnvironmentCreate.task_id": SCHEMAS["EnvironmentCreate"]["properties"]["task_id"],
    "EnvironmentClose.logs": SCHEMAS["EnvironmentClose"]["properties"]["logs"],
    "EnvironmentClose.error": SCHEMAS["EnvironmentClose"]["properties"]["error"],
    "TrajectoryStep.observation_url": SCHEMAS["TrajectoryStep"]["properties"]["observation_url"],
    "TrajectoryStep.observation_text": SCHEMAS["TrajectoryStep"]["properties"]["observation_text"],
    "listJobs?status": _param("/v2/jobs", "get", "status"),
    "listJobs?name": _param("/v2/jobs", "get", "name"),
}


@pytest.mark.parametrize("field", sorted(TEXT_FIELDS))
def test_the_spec_forbids_nul_where_the_server_refuses_it(field: str) -> None:
    schema = _text(TEXT_FIELDS[field])
    assert _allows(schema, "plain text")
    assert not _allows(schema, "nul\x00inside")


def _schema_valid(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """Strings a string schema allows (of printable ASCII when it states no pattern)."""
    if "pattern" in schema:
        return st.from_regex(re.compile(schema["pattern"]), fullmatch=True).filter(lambda v: _allows(schema, v))
    return st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=schema["maxLength"])


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def ok(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = await self.client.request(method, path, **kwargs)
        assert answer.status_code == 200, (path, kwargs, answer.text)
        return answer


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    url = f"sqlite:///{tmp_path / 'spec.db'}"
    key = create_key(url, "acct")
    transport = httpx.ASGITransport(app=create_app(url))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hud.test", headers=headers) as client:
        yield Api(client)
    dispose(url)


async def test_cursor_zero_is_a_position(api: Api) -> None:
    job = (await api.ok("POST", "/v2/jobs", json={"name": "paged"})).json()["id"]
    for _ in range(3):
        env = (await api.ok("POST", "/v2/create_environment", json={"gym_id": "g", "run_id": job})).json()["id"]
        await api.ok("POST", f"/v2/environments/{env}/close", json={"reward": 1.0})
    assert (await api.ok("GET", "/v2/jobs", params={"cursor": "0"})).json()["items"] == []  # before the first
    everything = (await api.ok("GET", f"/v2/jobs/{job}/trajectories", params={"cursor": "0"})).json()
    assert len(everything) == 3  # after position 0: from the start


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(cursor=_schema_valid(CURSOR))
async def test_every_cursor_the_spec_allows_is_accepted(cursor: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('cursors') / 'c.db'}"
    key = create_key(url, "acct")
    transport = httpx.ASGITransport(app=create_app(url))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hud.test", headers=headers) as client:
        job = (await client.post("/v2/jobs", json={"name": "j"})).json()["id"]
        for path in ("/v2/jobs", f"/v2/jobs/{job}/trajectories"):
            assert _allows(CURSOR, cursor)
            answer = await client.get(path, params={"cursor": cursor, "limit": 5})
            assert answer.status_code == 200, (path, cursor, answer.text)
    dispose(url)


@pytest.mark.parametrize("cursor", ["abc", "-1", "01", "1" * 20, "eyJhIjogMX0"])
async def test_cursors_the_spec_forbids_are_refused(api: Api, cursor: str) -> None:
    assert not _allows(CURSOR, cursor)
    answer = await api.client.get("/v2/jobs", params={"cursor": cursor})
    assert answer.status_code == 400 and "cursor" in answer.json()["detail"]


async def test_a_key_drawn_twice_with_another_body_is_a_conflict(api: Api) -> None:
    headers = {"Idempotency-Key": "0"}  # what schemathesis draws first
    assert _allows(IDEMPOTENCY_KEY, "0")
    await api.ok("POST", "/v2/jobs", json={"name": "a"}, headers=headers)
    again = await api.client.post("/v2/jobs", json={"name": "b"}, headers=headers)
    # 409 without Idempotency-In-Flight: a schema-valid request the contract lets the server decline
    # (the key is taken), and one the SDK never retries.
    assert again.status_code == 409 and "idempotency-in-flight" not in again.headers
    assert (await api.ok("GET", "/v2/jobs")).json()["items"][0]["name"] == "a"


@pytest.mark.parametrize("key", ["has space", "tab\there", "é-accent", ""])
async def test_idempotency_keys_the_spec_forbids_are_refused(api: Api, key: str) -> None:
    assert not _allows(IDEMPOTENCY_KEY, key)
    headers = {"Idempotency-Key": key.encode()}  # raw bytes: a header may carry any
    answer = await api.client.post("/v2/jobs", json={"name": "x"}, headers=headers)
    assert answer.status_code == 422 and "Idempotency-Key" in answer.json()["detail"]
    assert _allows(IDEMPOTENCY_KEY, str(uuid.uuid4()))
