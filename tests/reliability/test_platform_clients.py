"""Requests exactly as the platform's own clients send them are accepted by a live `hud server`.

hud-python 0.2.10's `RemoteClient.create(gym_id=None, job_id=..., task_id=None, metadata=None)`
POSTs `{"run_id": ..., "metadata": {}, "gym_id": null, "task_id": null}` (its `request_data`); the
hud-python 0.2.10 client itself was also run against `hud server` by hand (see the report of the
branch that added this file).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from hud.server import create_key, dispose
from hud.server._tables import environments

from ._process import ServerProcess

pytestmark = pytest.mark.live


def test_create_environment_with_a_null_gym_as_hud_python_0_2_sends_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    key = create_key(url, "acct")
    server = ServerProcess(url, tmp_path / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}) as client:
            job = client.post("/v2/jobs", json={"name": "0.2 client"}).json()
            # RemoteClient.create's request_data, key for key.
            body = {"run_id": job["id"], "metadata": {}, "gym_id": None, "task_id": None}
            created = client.post("/v2/create_environment", json=body)
            assert created.status_code == 200, created.text
            assert created.json()["metadata"] == {}
            # The platform's clients close without a body; the trajectory is then on the job.
            assert client.post(f"/v2/environments/{created.json()['id']}/close").status_code == 200
            listed = client.get(f"/v2/jobs/{job['id']}/trajectories").json()
            assert [t["id"] for t in listed] == [created.json()["id"]]
            # The field stays required (the spec says so): leaving it out is still a 422 that names it.
            missing = client.post("/v2/create_environment", json={"run_id": job["id"]})
            assert missing.status_code == 422 and "gym_id" in missing.json()["detail"]
    finally:
        server.stop()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.select(environments.c.gym_id)).scalars().all()
    finally:
        engine.dispose()
        dispose(url)
    from hud.server._tables import NO_GYM

    assert stored == [NO_GYM]
