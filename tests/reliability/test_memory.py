"""Bounded memory (issue 11, finding 1): a live `hud server` stays under 300 MB resident under each case.

Peak RSS is read from /proc (VmHWM, reset before each case); the cases are those of
`bench/_server_memory.py`, which prints the same figures for people (`python -m bench._server_memory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import hud
from bench._server_memory import (
    MB,
    Server,
    close_env,
    dashboard_page,
    expired_keys_count,
    fill_env,
    idempotency_row_bytes,
    peak_mb,
    reset_peak,
    seed_expired_keys,
    server,
)
from hud import errors
from hud.server import create_app, dispose

pytestmark = pytest.mark.live

#: The bound of the issue: resident memory of the server process under each case.
LIMIT_MB = 300
STEP_PREFIX = b'{"observation_url":null,"observation_text":"'


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    """A server holding one job with one closed-to-be environment of 300 steps of 1 MB."""
    workdir = tmp_path_factory.mktemp("memory")
    with server(workdir / "large.db", workdir / "server.log") as s:
        job_id, env_id = fill_env(s.base_url, 300)
        yield s, job_id, env_id
    dispose(f"sqlite:///{workdir / 'large.db'}")


def _streamed(base_url: str, path: str, params: dict[str, str | int] | None = None) -> tuple[int, int, bytes, bytes]:
    """Reads an answer as it arrives: (bytes, steps seen, its first 64 bytes, its last 64 bytes)."""
    size = count = 0
    head, tail = b"", b""
    with httpx.Client(base_url=base_url, timeout=600) as client, client.stream("GET", path, params=params) as response:
        assert response.status_code == 200, response.read()[:500]
        for chunk in response.iter_raw():
            window = tail + chunk  # a step prefix may straddle two chunks
            count += window.count(STEP_PREFIX) - tail.count(STEP_PREFIX)
            size += len(chunk)
            head = (head + chunk)[:64] if len(head) < 64 else head
            tail = window[-64:]
    return size, count, head, tail


def test_closing_answers_a_summary_and_stays_bounded(large: tuple[Server, str, str]) -> None:
    s, _job_id, env_id = large
    reset_peak(s.pid)
    answer = close_env(s.base_url, env_id)
    assert peak_mb(s.pid) < LIMIT_MB
    assert answer < 1024  # the summary, not 300 MB of steps


@pytest.mark.parametrize("case", ["get", "listing", "listing paged"])
def test_large_trajectory_answers_are_streamed_within_bounds(large: tuple[Server, str, str], case: str) -> None:
    s, job_id, env_id = large
    with contextlib.suppress(httpx.HTTPStatusError):
        close_env(s.base_url, env_id)  # the module's first test may have closed it already
    reset_peak(s.pid)
    if case == "get":
        size, steps, head, tail = _streamed(s.base_url, f"/v2/trajectories/{env_id}")
        assert head.startswith(b'{"id":') and tail.endswith(b"]}")
    elif case == "listing":
        size, steps, head, tail = _streamed(s.base_url, f"/v2/jobs/{job_id}/trajectories")
        assert head.startswith(b'[{"id":') and tail.endswith(b"]}]")
    else:
        size, steps, head, tail = _streamed(s.base_url, f"/v2/jobs/{job_id}/trajectories", {"limit": 1000})
        assert head.startswith(b'[{"id":') and tail.endswith(b"]}]")
    assert peak_mb(s.pid) < LIMIT_MB
    # The whole trajectory arrived: every step, in a valid frame.
    assert steps == 300 and size > 300 * MB


def test_the_dashboard_pages_steps_by_bytes_and_clips_text(large: tuple[Server, str, str]) -> None:
    s, _job_id, env_id = large
    with contextlib.suppress(httpx.HTTPStatusError):
        close_env(s.base_url, env_id)  # when this test runs alone
    reset_peak(s.pid)
    size = dashboard_page(s.base_url, env_id)
    assert peak_mb(s.pid) < LIMIT_MB
    assert size < 2 * MB  # 95 MiB before: 100 steps of 1 MB, whole
    html = httpx.get(f"{s.base_url}/ui/trajectories/{env_id}", timeout=60).text
    assert "more characters not shown" in html
    assert 'rel="next"' in html  # the rest of the steps is a page away


def test_an_idempotency_row_stays_small_and_replays_the_same_answer(tmp_path: Path) -> None:
    with server(tmp_path / "row.db", tmp_path / "server.log") as s:
        _job_id, env_id = fill_env(s.base_url, 10)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        with httpx.Client(base_url=s.base_url, timeout=120) as client:
            first = client.post(
                f"/v2/environments/{env_id}/close", json={"reward": 1.0, "logs": "L" * 100_000}, headers=key
            )
            again = client.post(
                f"/v2/environments/{env_id}/close", json={"reward": 1.0, "logs": "L" * 100_000}, headers=key
            )
            assert first.status_code == again.status_code == 200
            assert again.headers["idempotency-replayed"] == "true" and again.content == first.content
            # A large answer of a job (1 MB of metadata) is kept by reference too, and replayed whole.
            body = {"name": "big", "metadata": {"blob": "m" * 1_000_000}}
            made = client.post("/v2/jobs", json=body, headers={"Idempotency-Key": "job-key"})
            replay = client.post("/v2/jobs", json=body, headers={"Idempotency-Key": "job-key"})
            assert replay.headers["idempotency-replayed"] == "true" and replay.content == made.content
    # 10 MB of steps and 100 KB of logs, 1 MB of metadata: every row is a few hundred bytes.
    assert idempotency_row_bytes(tmp_path / "row.db") < 1024
    dispose(f"sqlite:///{tmp_path / 'row.db'}")


def _expired_now(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as conn:
        query = "SELECT count(*) FROM idempotency_keys WHERE created_at < ?"
        return int(conn.execute(query, (time.time() - 86400,)).fetchone()[0])


def test_expired_idempotency_rows_go_in_small_batches_between_writes(tmp_path: Path) -> None:
    database, log = tmp_path / "keys.db", tmp_path / "server.log"
    with server(database, log):  # creates the schema
        pass
    total = 1_000_000
    seed_expired_keys(database, total)
    with server(database, log) as s, httpx.Client(base_url=s.base_url, timeout=120) as client:
        reset_peak(s.pid)
        first = client.post("/v2/jobs", json={"name": "first"}, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert first.status_code == 200
        # The first idempotent write answered without deleting 1M rows in its transaction ...
        seen = [_expired_now(database)]
        assert seen[0] > 0
        # ... and writes sent meanwhile are answered while the purge goes on, batch after batch.
        deadline = time.monotonic() + 600  # a guard against a purge that never ends, not a timing check
        while seen[-1] > 0 and time.monotonic() < deadline:
            assert client.post("/v2/jobs", json={"name": "meanwhile"}).status_code == 200
            seen.append(_expired_now(database))
        assert seen[-1] == 0, "the purge did not finish"
        between = {n for n in seen if 0 < n < total}
        assert len(between) >= 3, seen  # several states between all and none: small batches, writes in between
        assert peak_mb(s.pid) < LIMIT_MB
    assert expired_keys_count(database) == 0


# -- the limits themselves, both sides ---------------------------------------------------------------


async def test_the_sdk_refuses_a_step_over_the_limit_before_sending(embedded: Path) -> None:
    from hud._wire import MAX_STEP_BYTES

    env = await hud.gym.make("gym")
    with pytest.raises(errors.InvalidInputError, match=f"limit is {MAX_STEP_BYTES}"):
        await env.record_step(observation_text="x" * (MAX_STEP_BYTES + 1))
    await env.record_step(observation_text="fits")
    assert (await env.close()).step_count == 1  # the refused step never reached the server


async def test_the_server_refuses_a_large_step_and_a_full_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hud._wire import MAX_STEP_BYTES

    url = f"sqlite:///{tmp_path / 'limits.db'}"
    # A small environment limit, so that filling one costs a few steps, not 512 MiB.
    monkeypatch.setattr("hud.server._operations.environments.MAX_ENVIRONMENT_BYTES", 3000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(url, auth=False)), base_url="http://localhost"
    ) as c:
        env = (await c.post("/v2/create_environment", json={"gym_id": "g"})).json()["id"]
        big = await c.post(
            f"/v2/environments/{env}/steps", json={"steps": [{"observation_text": "x" * (MAX_STEP_BYTES + 1)}]}
        )
        assert big.status_code == 422 and f"limit is {MAX_STEP_BYTES}" in big.json()["detail"]
        ok = await c.post(f"/v2/environments/{env}/steps", json={"steps": [{"observation_text": "y" * 2000}]})
        assert ok.status_code == 200
        full = await c.post(f"/v2/environments/{env}/steps", json={"steps": [{"observation_text": "z" * 2000}]})
        assert full.status_code == 409 and "new environment" in full.json()["detail"]
        closed = (await c.post(f"/v2/environments/{env}/close")).json()
        assert closed["step_count"] == 1  # the refused steps left nothing behind
    dispose(url)


def test_expired_keys_figure_is_printed(tmp_path: Path) -> None:
    # The bench's own driver of this case runs (its figures are for people; see bench/_server_memory.py).
    database, log = tmp_path / "keys.db", tmp_path / "server.log"
    with server(database, log):
        pass
    seed_expired_keys(database, 1000)
    with server(database, log) as s:
        from bench._server_memory import expired_keys

        first, others = asyncio.run(expired_keys(s.base_url, behind=3))
        assert first > 0 and len(others) == 3
