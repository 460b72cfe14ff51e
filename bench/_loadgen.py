"""Load generators for the server-throughput rows: a Python one (httpx), and `wrk` with `bench/_pairs.lua`.

Both send the same requests: POST /v2/create_environment for one job, then POST
/v2/environments/{id}/close with the id just answered, each with an Idempotency-Key (the SDK sends
one) and `Authorization: Bearer <key>`. A pair is a close answered 2xx; every non-2xx answer (and,
for wrk, every socket error) is counted as an error, never dropped.

The Python generator (asyncio loops over one pooled httpx client) is the one the throughput goal is set
with; on a 2-core machine it takes about a core itself and limits the do-nothing endpoint to a few
hundred pairs/s. `wrk` (C, one epoll thread) costs little CPU, so with it the server's own CPU
ceiling is what is measured; it runs too when it is on PATH.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["Generator", "Pairs", "choose"]

_SCRIPT = Path(__file__).with_name("_pairs.lua")
_SUMMARY = re.compile(
    r"^hud-bench creates=(\d+) closes=(\d+) errors=(\d+) socket_errors=(\d+) seconds=([0-9.]+)$", re.M
)


@dataclass(frozen=True)
class Pairs:
    """One timed run: environments created + closed per second, and the failed requests."""

    rate: float
    errors: int
    requests: int  # every request answered or failed in the timed part (creates, closes, errors)


@dataclass(frozen=True)
class Generator:
    """A load generator: `wrk` (path set) or the Python one (`wrk` None)."""

    wrk: str | None
    connections: int
    threads: int = 1
    reconnect_every: int = 0  # every Nth request asks for Connection: close (0: keep-alive only)

    @property
    def name(self) -> str:
        return "wrk" if self.wrk else "python"

    def describe(self, seconds: float) -> str:
        if self.wrk:
            version = subprocess.run([self.wrk, "--version"], capture_output=True, text=True, check=False)
            first = (version.stdout or version.stderr).split("Copyright")[0].strip() or "wrk"
            return (
                f"{first}, -t{self.threads} -c{self.connections} -d{_wrk_seconds(seconds)}s, "
                "script bench/_pairs.lua (create then close, Idempotency-Key per POST)"
            )
        return (
            f"Python: {self.connections} asyncio loops over one pooled httpx client (the SDK's HTTP "
            f"library), {seconds:g} s per run after a 1 s warm-up; on 2 cores it takes about one itself"
        )

    def run(self, base_url: str, api_key: str, job_id: str, seconds: float, *, script: Path = _SCRIPT) -> Pairs:
        """One run of `seconds` against `base_url` (wrk: with `script`, another checkout's for an older server)."""
        if self.wrk:
            return _wrk_run(self, base_url, api_key, job_id, seconds, script)
        return asyncio.run(_python_run(base_url, api_key, job_id, seconds, self.connections, self.reconnect_every))


def choose(kind: str, *, wrk_connections: int, python_connections: int) -> list[Generator]:
    """The generators of `kind`: auto (Python, and wrk too when on PATH), wrk (required) or python."""
    python = Generator(None, python_connections)
    if kind == "python":
        return [python]
    path = shutil.which("wrk")
    if kind == "wrk" and path is None:
        raise SystemExit("--generator wrk: wrk is not on PATH (Debian/Ubuntu: `source bench/setup.sh` installs it)")
    wrk = [Generator(path, wrk_connections)] if path else []
    return wrk if kind == "wrk" else [python, *wrk]


def _wrk_seconds(seconds: float) -> int:
    return max(1, round(seconds))  # wrk takes whole seconds


def _wrk_run(generator: Generator, base_url: str, api_key: str, job_id: str, seconds: float, script: Path) -> Pairs:
    assert generator.wrk is not None
    duration = _wrk_seconds(seconds)
    command = [generator.wrk, f"-t{generator.threads}", f"-c{generator.connections}", f"-d{duration}s"]
    command += ["--timeout", "10s", "-s", str(script), "-H", f"Authorization: Bearer {api_key}", base_url + "/"]
    command += ["--", job_id, uuid.uuid4().hex[:12], str(generator.reconnect_every)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    found = _SUMMARY.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    creates, closes, errors, socket_errors, elapsed = (int(x) if x.isdigit() else float(x) for x in found.groups())
    return Pairs(closes / elapsed, int(errors + socket_errors), int(creates + closes + errors + socket_errors))


async def _python_run(
    base_url: str, api_key: str, job_id: str, seconds: float, concurrency: int, reconnect_every: int
) -> Pairs:
    create = json.dumps({"gym_id": "bench-gym", "run_id": job_id}).encode()
    close = b'{"reward":1.0}'
    done = 0
    errors = 0
    requests = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    auth = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    sent = 0

    def headers() -> dict[str, str]:
        nonlocal sent
        sent += 1
        found = {"Idempotency-Key": str(uuid.uuid4())}
        if reconnect_every and sent % reconnect_every == 0:
            found["Connection"] = "close"  # as wrk does with the same argument: see _pairs.lua
        return found

    async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60.0, limits=limits) as client:

        async def loop(deadline: float, count: bool) -> None:
            nonlocal done, errors, requests
            while time.perf_counter() < deadline:
                response = await client.post("/v2/create_environment", content=create, headers=headers())
                requests += count
                if not response.is_success:
                    errors += count
                    continue
                env_id = json.loads(response.content)["id"]
                response = await client.post(f"/v2/environments/{env_id}/close", content=close, headers=headers())
                requests += count
                if not response.is_success:
                    errors += count
                elif count:
                    done += 1

        # Warm-up: open the connections and let the server's pools fill before counting.
        warm = time.perf_counter() + min(1.0, seconds)
        await asyncio.gather(*(loop(warm, False) for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(loop(start + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Pairs(done / elapsed, errors, requests)
