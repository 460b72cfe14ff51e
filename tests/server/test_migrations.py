"""Schema migrations: fresh databases, upgrades in place from v1, concurrent starts, newer schemas."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from hud.server import SchemaTooNewError, create_app, create_key, dispose
from hud.server._migrations import LATEST_VERSION, current_version, migrate
from hud.server._tables import metadata

from .conftest import LOCAL


def _columns(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}
    finally:
        engine.dispose()


def test_fresh_database_matches_schema_module(db_url: str) -> None:
    create_app(db_url)
    tables = _columns(db_url)
    for table in metadata.sorted_tables:
        assert tables[table.name] == {c.name for c in table.columns}, table.name
    assert LATEST_VERSION >= 3


def _v1_database(url: str) -> None:
    engine = create_engine(url)
    try:
        assert migrate(engine, target=1) == 0
        assert current_version(engine) == 1
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO jobs (id, account, name, status, metadata, created_at) "
                    "VALUES ('job-1', 'local', 'old job', 'completed', '{\"v\": 1}', '2024-01-01T00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO environments (id, account, job_id, gym_id, step_count, closed_at, created_at) "
                    "VALUES ('env-1', 'local', 'job-1', 'g', 1, '2024-01-01T00:00:01+00:00', "
                    "'2024-01-01T00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO trajectories (id, account, job_id, reward, step_count, created_at) "
                    "VALUES ('env-1', 'local', 'job-1', 0.75, 1, '2024-01-01T00:00:01+00:00')"
                )
            )
            step = {
                "observation_url": None,
                "observation_text": "old",
                "actions": [],
                "start_timestamp": None,
                "end_timestamp": None,
            }
            conn.execute(
                text("INSERT INTO steps (env_id, position, data) VALUES ('env-1', 0, :data)"),
                {"data": json.dumps(step)},
            )
    finally:
        engine.dispose()


async def test_v1_database_is_upgraded_in_place(db_url: str) -> None:
    _v1_database(db_url)
    assert "idempotency_keys" not in _columns(db_url)
    app = create_app(db_url, auth=False)
    assert "idempotency_keys" in _columns(db_url)
    engine = create_engine(db_url)
    try:
        assert current_version(engine) == LATEST_VERSION
        with engine.connect() as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("jobs")}
            columns = {c["name"] for c in inspect(conn).get_columns("jobs")}
        assert {"jobs_account_status_seq", "jobs_account_name_seq"} <= indexes
        assert "error" in columns
    finally:
        engine.dispose()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
        job = (await client.get("/v2/jobs/job-1")).json()
        assert (job["name"], job["status"], job["metadata"], job["error"]) == ("old job", "completed", {"v": 1}, None)
        # v3's column works on the upgraded row.
        patched = (await client.patch("/v2/jobs/job-1", json={"error": "late"})).json()
        assert patched["error"] == "late"
        # v4 measured the rows written before it (bytes of the stored step, as UTF-8).
        engine = create_engine(db_url)
        try:
            with engine.connect() as conn:
                step = conn.execute(text("SELECT data FROM steps")).scalar_one()
                sizes = conn.execute(text("SELECT size_bytes, max_step_bytes FROM trajectories")).one()
                env_sizes = conn.execute(text("SELECT step_bytes, max_step_bytes FROM environments")).one()
        finally:
            engine.dispose()
        assert tuple(sizes) == tuple(env_sizes) == (len(step.encode()), len(step.encode()))
        trajectories = (await client.get("/v2/jobs/job-1/trajectories")).json()
        assert [(t["id"], t["reward"], t["trajectory"][0]["observation_text"]) for t in trajectories] == [
            ("env-1", 0.75, "old")
        ]
        # v4: the trajectory takes its environment's identity and times; the old closing time stays.
        (old,) = trajectories
        assert (old["gym_id"], old["task_id"], old["error_kind"]) == ("g", None, None)
        assert old["created_at"] == "2024-01-01T00:00:00+00:00"
        assert old["closed_at"] == "2024-01-01T00:00:01+00:00"
        assert (await client.post("/v2/jobs/job-1/heartbeat")).json()["heartbeat_at"] is not None
        # The v2 feature works on the upgraded database.
        headers = {"Idempotency-Key": "k1"}
        first = await client.post("/v2/jobs", json={"name": "new"}, headers=headers)
        again = await client.post("/v2/jobs", json={"name": "new"}, headers=headers)
        assert first.json() == again.json()
        listed = (await client.get("/v2/jobs", params={"status": "completed"})).json()["items"]
        assert [j["id"] for j in listed] == ["job-1"]


def test_migrate_is_idempotent(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert migrate(engine) == 0
        assert migrate(engine) == LATEST_VERSION
        assert current_version(engine) == LATEST_VERSION
    finally:
        engine.dispose()


def test_newer_schema_is_refused(db_url: str) -> None:
    create_app(db_url)
    dispose(db_url)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": LATEST_VERSION + 1})
    finally:
        engine.dispose()
    with pytest.raises(SchemaTooNewError, match="upgrade hud"):
        create_app(db_url)


def _start(url: str) -> None:
    create_app(url)
    create_key(url, "p")
    dispose()


def test_concurrent_first_starts_on_one_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_start, args=(url,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    for process in processes:
        process.close()
    engine = create_engine(url)
    try:
        assert current_version(engine) == LATEST_VERSION
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM schema_version")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar() == 4
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_migrations(postgres_db: str) -> None:
    _v1_database(postgres_db)
    create_app(postgres_db)
    engine = create_engine(postgres_db)
    try:
        assert current_version(engine) == LATEST_VERSION
        assert migrate(engine) == LATEST_VERSION
    finally:
        engine.dispose()
    tables = _columns(postgres_db)
    for table in metadata.sorted_tables:
        assert tables[table.name] == {c.name for c in table.columns}, table.name


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:multiprocessing")
