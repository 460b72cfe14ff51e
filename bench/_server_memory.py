"""The server's peak resident memory under the large-answer cases of issue 11 (finding 1).

`python -m bench._server_memory [--workdir DIR]` starts a real `hud server` (`--no-auth`, SQLite) for
each case and prints, per case, the server's peak RSS (VmHWM from /proc, reset before the case
through /proc/PID/clear_refs) and the size of what it answered or stored:

- `close`: closing an environment of 300 steps of 1 MB (with an Idempotency-Key, as the SDK does).
- `get`: `GET /v2/trajectories/{id}` of that environment.
- `listing`: `GET /v2/jobs/{id}/trajectories` unpaged (streamed), and paged with `limit=1000`.
- `idempotency row`: the stored replay of closing a 10 MB trajectory.
- `dashboard`: `/ui/trajectories/{id}` of the 300 MB trajectory.
- `expired keys`: 1,000,000 expired idempotency rows; the first idempotent write after start and 20
  writes sent right behind it (their latency is printed, for people; tests never check time).

The same functions drive `tests/reliability/test_memory.py`, which checks the RSS bounds.
Only the standard library, httpx and sqlite3: it measures any checkout's server (PYTHONPATH).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._servers import free_port

__all__ = [
    "MB",
    "Server",
    "close_env",
    "dashboard_page",
    "expired_keys",
    "fill_env",
    "get_trajectory",
    "idempotency_row_bytes",
    "listing",
    "peak_mb",
    "reset_peak",
    "seed_expired_keys",
    "server",
]

MB = 1_000_000
STEP_TEXT = 1 * MB


@dataclass
class Server:
    """A running `hud server --no-auth` on SQLite."""

    pid: int
    base_url: str
    database: Path


@contextlib.contextmanager
def server(database: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Runs `python -m hud._cli server --no-auth` (one worker: the process whose RSS is read)."""
    port = free_port()
    command = [sys.executable, "-m", "hud._cli", "server", "--no-auth", "--port", str(port)]
    command += ["--db", f"sqlite:///{database}", "--log-level", "warning"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"hud server exited with {process.returncode}: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base_url + "/v2/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("hud server did not become healthy")
            time.sleep(0.05)
        yield Server(process.pid, base_url, database)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> None:
    """Resets the process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_mb(pid: int) -> float:
    """The process's peak RSS since the last `reset_peak`, in MB (10^6 bytes)."""
    return _status_kb(pid, "VmHWM") * 1024 / MB


def fill_env(base_url: str, steps: int, *, job_name: str = "memory") -> tuple[str, str]:
    """A job and an open environment of `steps` steps of 1 MB of text each: (job_id, env_id)."""
    with httpx.Client(base_url=base_url, timeout=300) as client:
        job = client.post("/v2/jobs", json={"name": job_name}).json()
        env = client.post("/v2/create_environment", json={"run_id": job["id"], "gym_id": "g"}).json()
        batch = 10
        for start in range(0, steps, batch):
            body = {
                "steps": [{"observation_text": f"{i:07d}" + "x" * (STEP_TEXT - 7)} for i in range(start, start + batch)]
            }
            response = client.post(f"/v2/environments/{env['id']}/steps", json=body)
            response.raise_for_status()
    return job["id"], env["id"]


def close_env(base_url: str, env_id: str) -> int:
    """Closes with an Idempotency-Key, as the SDK does; the answer's size in bytes."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with httpx.Client(base_url=base_url, timeout=300) as client:
        response = client.post(f"/v2/environments/{env_id}/close", json={"reward": 1.0}, headers=headers)
        response.raise_for_status()
        return len(response.content)


def _stream_size(base_url: str, path: str, params: dict[str, str | int] | None = None) -> int:
    size = 0
    with httpx.Client(base_url=base_url, timeout=300) as client, client.stream("GET", path, params=params) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    return size


def get_trajectory(base_url: str, env_id: str) -> int:
    """`GET /v2/trajectories/{id}`, read as it arrives; its size in bytes."""
    return _stream_size(base_url, f"/v2/trajectories/{env_id}")


def listing(base_url: str, job_id: str, limit: int | None = None) -> int:
    """`GET /v2/jobs/{id}/trajectories` (every page when `limit`), read as it arrives; bytes in all."""
    if limit is None:
        return _stream_size(base_url, f"/v2/jobs/{job_id}/trajectories")
    total, cursor = 0, None
    with httpx.Client(base_url=base_url, timeout=300) as client:
        while True:
            params: dict[str, str | int] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            with client.stream("GET", f"/v2/jobs/{job_id}/trajectories", params=params) as response:
                response.raise_for_status()
                for chunk in response.iter_raw():
                    total += len(chunk)
                cursor = response.headers.get("x-next-cursor")
            if not cursor:
                return total


def dashboard_page(base_url: str, env_id: str) -> int:
    """The first dashboard page of the trajectory; its size in bytes."""
    return _stream_size(base_url, f"/ui/trajectories/{env_id}")


def idempotency_row_bytes(database: Path) -> int:
    """The largest stored idempotency row (every column), in bytes."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(idempotency_keys)")]
        total = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in columns)
        (largest,) = conn.execute(f"SELECT max({total}) FROM idempotency_keys").fetchone()
        return int(largest or 0)


def seed_expired_keys(database: Path, count: int) -> None:
    """Adds `count` idempotency rows that expired two days ago (the schema must exist)."""
    old = time.time() - 2 * 24 * 3600
    with contextlib.closing(sqlite3.connect(database)) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(idempotency_keys)")}
        extra = {"status_code": "200", "body": "'{}'"}
        names = ["account", "key", "request_hash", "created_at", *[c for c in extra if c in columns]]
        values = ["'local'", "'expired-' || n", "'x'", str(old), *[extra[c] for c in extra if c in columns]]
        conn.execute(
            f"WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < {int(count)}) "
            f"INSERT INTO idempotency_keys ({', '.join(names)}) SELECT {', '.join(values)} FROM n"
        )
        conn.commit()


def expired_keys_count(database: Path) -> int:
    """Idempotency rows older than a day."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM idempotency_keys WHERE created_at < ?", (time.time() - 86400,)
        ).fetchone()
        return int(n)


async def expired_keys(base_url: str, behind: int = 20) -> tuple[float, list[float]]:
    """The first idempotent write after start and `behind` writes sent right after it: their seconds."""
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:

        async def write(key: bool) -> float:
            start = time.perf_counter()
            headers = {"Idempotency-Key": str(uuid.uuid4())} if key else {}
            response = await client.post("/v2/jobs", json={"name": "after start"}, headers=headers)
            response.raise_for_status()
            return time.perf_counter() - start

        first = asyncio.create_task(write(True))
        await asyncio.sleep(0.005)  # the first is on its way before the others queue behind it
        others = await asyncio.gather(*(write(False) for _ in range(behind)))
        return await first, list(others)


class _Rows(list[tuple[str, str, str]]):
    """Printed as they come: a case that fails still leaves the figures before it."""

    def append(self, row: tuple[str, str, str]) -> None:
        if not self:
            print(f"{'case':<20}  peak RSS  detail", flush=True)
        super().append(row)
        print(f"{row[0]:<20}  {row[1]:>8}  {row[2]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="Keep databases and logs here.")
    parser.add_argument("--steps", type=int, default=300, help="Steps of 1 MB in the large trajectory.")
    parser.add_argument("--expired", type=int, default=1_000_000, help="Expired idempotency rows.")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hud-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = _Rows()
    log = workdir / "server.log"
    database = workdir / "large.db"
    with server(database, log) as s:
        job_id, env_id = fill_env(s.base_url, args.steps)
        ingest = _status_kb(s.pid, "VmRSS") * 1024 / MB
        rows.append(("after appending", f"{ingest:.0f} MB", f"{args.steps} steps of 1 MB"))
        cases: list[tuple[str, Callable[[], int]]] = [
            ("close", lambda: close_env(s.base_url, env_id)),
            ("get trajectory", lambda: get_trajectory(s.base_url, env_id)),
            ("listing, unpaged", lambda: listing(s.base_url, job_id)),
            ("listing, limit=1000", lambda: listing(s.base_url, job_id, 1000)),
            ("dashboard page", lambda: dashboard_page(s.base_url, env_id)),
        ]
        for label, run in cases:
            reset_peak(s.pid)
            size = run()
            rows.append((label, f"{peak_mb(s.pid):.0f} MB", f"answer {size / 2**20:.1f} MiB"))
    small = workdir / "row.db"
    with server(small, log) as s:
        _job, env_id = fill_env(s.base_url, 10)
        close_env(s.base_url, env_id)
        rows.append(("idempotency row", "", f"{idempotency_row_bytes(small):,} bytes for a 10 MB trajectory"))
    keys = workdir / "keys.db"
    with server(keys, log) as s:  # creates the schema
        pass
    seed_expired_keys(keys, args.expired)
    with server(keys, log) as s:
        reset_peak(s.pid)
        first, others = asyncio.run(expired_keys(s.base_url))
        rows.append(
            (
                "expired keys",
                f"{peak_mb(s.pid):.0f} MB",
                f"first idempotent write {first:.2f} s; 20 behind it: max {max(others):.2f} s "
                f"({args.expired:,} expired rows; {expired_keys_count(keys):,} left right after)",
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
