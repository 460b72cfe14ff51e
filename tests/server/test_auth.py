"""API keys: 401 for missing, malformed, unknown and revoked keys; 404 across accounts."""

from __future__ import annotations

import uuid

import pytest

from hud.server import create_key, list_keys, revoke_key

from .conftest import Api, detail

OPERATIONS = [
    ("POST", "/v2/jobs", {"name": "x"}),
    ("GET", "/v2/jobs", None),
    ("GET", "/v2/jobs/{job}", None),
    ("PATCH", "/v2/jobs/{job}", {"status": "running"}),
    ("GET", "/v2/jobs/{job}/trajectories", None),
    ("GET", "/v2/trajectories/{traj}", None),
    ("POST", "/v2/create_environment", {"gym_id": "g"}),
    ("POST", "/v2/environments/{env}/steps", {"steps": [{}]}),
    ("POST", "/v2/environments/{env}/close", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "missing"),
        ("Basic dXNlcjpwYXNz", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer a b", "malformed"),
        ("hud_abc", "malformed"),
        ("Bearer hud_not_a_real_key", "unknown"),
    ],
)
async def test_every_operation_needs_a_valid_key(
    api: Api, method: str, path: str, body: object, header: str | None, expected: str
) -> None:
    ids = {"job": str(uuid.uuid4()), "traj": str(uuid.uuid4()), "env": str(uuid.uuid4())}
    headers = {"Authorization": header} if header is not None else {}
    response = await api.client.request(method, path.format(**ids), json=body, headers=headers)
    assert expected in detail(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_auth_is_checked_before_the_body(api: Api) -> None:
    response = await api.client.post("/v2/jobs", content=b"{", headers={"Authorization": "Bearer hud_nope"})
    detail(response, 401)


async def test_revoked_key_is_refused(api: Api) -> None:
    key = create_key(api.database_url, "carol")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await api.client.get("/v2/jobs", headers=headers)).status_code == 200
    info = revoke_key(api.database_url, key)
    assert (info.account, info.revoked) == ("carol", True)
    assert "revoked" in detail(await api.client.get("/v2/jobs", headers=headers), 401)


async def test_revoke_by_id_keeps_other_keys_of_the_account(api: Api) -> None:
    first, second = create_key(api.database_url, "dave"), create_key(api.database_url, "dave")
    created = await api.client.post("/v2/jobs", json={"name": "shared"}, headers={"Authorization": f"Bearer {first}"})
    job_id = created.json()["id"]
    key_ids = [k.id for k in list_keys(api.database_url, "dave")]
    assert len(key_ids) == 2
    revoke_key(api.database_url, key_ids[0])
    detail(await api.client.get(f"/v2/jobs/{job_id}", headers={"Authorization": f"Bearer {first}"}), 401)
    # Objects belong to the account, so the other key still sees them.
    got = await api.client.get(f"/v2/jobs/{job_id}", headers={"Authorization": f"Bearer {second}"})
    assert got.status_code == 200 and got.json()["name"] == "shared"
    assert [k.revoked for k in list_keys(api.database_url, "dave")] == [True, False]


def test_revoke_unknown_key_raises(api: Api) -> None:
    with pytest.raises(LookupError):
        revoke_key(api.database_url, "key_0000")
    with pytest.raises(LookupError):
        revoke_key(api.database_url, "hud_unknown")


def test_create_key_refuses_bad_accounts(api: Api) -> None:
    for account in ("", "a" * 257, "a\x00b"):
        with pytest.raises(ValueError, match="account"):
            create_key(api.database_url, account)


async def test_other_account_gets_404_for_everything(api: Api) -> None:
    job = await api.job("alice's", metadata={"secret": 1})
    open_env = await api.env(job["id"])
    closed = await api.trajectory(job["id"], reward=1.0)
    ids = {"job": job["id"], "traj": closed["id"], "env": open_env}
    for method, path, body in OPERATIONS:
        if "{" not in path:
            continue
        response = await api.request(method, path.format(**ids), json=body, who="bob")
        assert "secret" not in detail(response, 404)
    # A job id of another account is not a valid run_id either.
    response = await api.request("POST", "/v2/create_environment", json={"run_id": job["id"], "gym_id": "g"}, who="bob")
    detail(response, 404)
    assert (await api.ok("GET", "/v2/jobs", who="bob"))["items"] == []
    # Nothing of bob's attempts changed alice's objects.
    assert await api.ok("GET", f"/v2/jobs/{job['id']}") == job
    assert await api.ok("GET", f"/v2/jobs/{job['id']}/trajectories") == [closed]
    await api.ok("POST", f"/v2/environments/{open_env}/close")
