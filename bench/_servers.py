"""Server subprocesses on loopback for the benchmarks: `hud server`, and the do-nothing endpoint."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["Served", "cpu_seconds", "free_port", "hud_server", "noop_server", "postgres_database", "rss_mb", "serve"]


@dataclass(frozen=True)
class Served:
    base_url: str
    pid: int


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(command: list[str], port: int, *, cwd: Path | None = None) -> Iterator[Served]:
    """Runs `command` (in `cwd`), a server listening on `port`, until it answers; stops it on exit."""
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=cwd)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{command[:4]} exited with {process.returncode}:\n{log.read().decode()}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(base_url + "/v2/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[:4]} not healthy after 60 s")
                time.sleep(0.05)
            yield Served(base_url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def hud_server(database_url: str, *, workers: int = 1) -> Iterator[Served]:
    """`hud server` on a free loopback port, with API keys required."""
    port = free_port()
    command = [sys.executable, "-m", "hud._cli", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", database_url, "--workers", str(workers), "--log-level", "warning"]
    with serve(command, port) as served:
        yield served


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server of `admin_url`, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"hud_bench_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from hud.server import dispose

        dispose(url)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def noop_server() -> Iterator[Served]:
    """The do-nothing ASGI endpoint (`bench._noop`) under uvicorn, on a free loopback port."""
    port = free_port()
    with serve([sys.executable, "-m", "bench._noop", str(port)], port) as served:
        yield served


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid`, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its live descendants so far (Linux /proc)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            # Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            pending += _children(current)
    return total
