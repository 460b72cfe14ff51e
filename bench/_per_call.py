"""Per-call rows: one `load_job` / `create_job` against a raw `httpx.AsyncClient`, fresh and after a burst.

Fresh: neither side has made concurrent calls, each holds one connection. After a burst: before every
block of sequential calls the SDK makes `BURST` concurrent calls of the same kind (as any eval does
before reading its results), and so does a second raw client (same limits), whose figure shows what
httpx's own pool does after a burst. The baseline of both rows is the fresh raw client. Bursts are not
timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import httpx

from bench._rows import Row, ms, raw_client

__all__ = ["BURST", "per_call_rows"]

Call = Callable[[], Awaitable[object]]

BURST = 100
#: Sequential calls of each side between two bursts: a burst's idle connections are closed by the
#: server after its keep-alive timeout (uvicorn: 5 s), so the state is renewed well before that.
BLOCK = 50


class _Retries(logging.Handler):
    """Counts the SDK's retry warnings: a retried call is timed as one call, so the table says how many."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.reasons: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.reasons.add(str(record.args[1]) if isinstance(record.args, tuple) and len(record.args) > 1 else "")


@contextlib.contextmanager
def _retries() -> Iterator[_Retries]:
    handler = _Retries()
    logging.getLogger("hud").addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger("hud").removeHandler(handler)


def _sdk_cell(seconds: float, retries: _Retries) -> str:
    if not retries.count:
        return ms(seconds)
    return f"{ms(seconds)}, {retries.count} retried ({'; '.join(sorted(retries.reasons))[:200]})"


async def _interleaved(sides: dict[str, Call], calls: int, burst: Call | None) -> dict[str, float]:
    """Median seconds of one call of each side; sides take turns call by call, the first one rotating.

    Calls of a few milliseconds on a shared machine: a burst of noise hits every side alike, and the
    median of single calls ignores it. `burst`, when given, runs before every `BLOCK` calls.
    """
    for _ in range(10):
        for call in sides.values():
            await call()
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(calls):
        if burst is not None and i % BLOCK == 0:
            await burst()
        k = i % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            await sides[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(found) for name, found in times.items()}


def _calls(raw: httpx.AsyncClient, job_id: str) -> dict[str, tuple[Call, Call]]:
    """The SDK call and the same request by hand on `raw`, by row name."""
    from hud.job import Job, create_job, load_job

    async def sdk_load() -> None:
        await load_job(job_id)

    async def raw_load() -> None:
        response = await raw.get(f"/v2/jobs/{job_id}")
        Job.model_validate_json(response.raise_for_status().content)

    async def sdk_create() -> None:
        await create_job("bench-create", metadata={"agent": "bench"})

    async def raw_create() -> None:
        body = {"name": "bench-create", "metadata": {"agent": "bench"}}
        response = await raw.post("/v2/jobs", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        Job.model_validate_json(response.raise_for_status().content)

    return {"load_job": (sdk_load, raw_load), "create_job": (sdk_create, raw_create)}


async def _fresh(base_url: str, api_key: str, job_id: str, calls: int) -> list[Row]:
    rows = []
    async with raw_client(base_url, api_key) as raw:
        for name, (sdk, base) in _calls(raw, job_id).items():
            got = await _interleaved({"sdk": sdk, "raw": base}, calls, None)
            ratio = got["sdk"] / got["raw"]
            rows.append(
                Row(
                    f"{name} per call, fresh",
                    ms(got["sdk"]),
                    ms(got["raw"]),
                    f"{ratio:.3f}x",
                    "<= 1.10x",
                    ratio <= 1.10,
                )
            )
    return rows


async def _after_burst(base_url: str, api_key: str, job_id: str, calls: int) -> list[Row]:
    rows = []
    async with raw_client(base_url, api_key) as raw, raw_client(base_url, api_key) as bursting:
        fresh_calls = _calls(raw, job_id)
        bursting_calls = _calls(bursting, job_id)
        for name, (sdk, base) in fresh_calls.items():
            other = bursting_calls[name][1]

            async def burst(sdk: Call = sdk, other: Call = other) -> None:
                await asyncio.gather(*(sdk() for _ in range(BURST)))
                await asyncio.gather(*(other() for _ in range(BURST)))

            with _retries() as retries:
                got = await _interleaved({"sdk": sdk, "raw": base, "raw_burst": other}, calls, burst)
            ratio = got["sdk"] / got["raw"]
            raw_ratio = got["raw_burst"] / got["raw"]
            rows.append(
                Row(
                    f"{name} per call, after {BURST} concurrent calls",
                    _sdk_cell(got["sdk"], retries),
                    f"{ms(got['raw'])} fresh (raw after its own burst: {ms(got['raw_burst'])}, {raw_ratio:.3f}x)",
                    f"{ratio:.3f}x",
                    "<= 1.10x",
                    ratio <= 1.10,
                )
            )
    return rows


def per_call_rows(base_url: str, api_key: str, job_id: str, calls: int) -> list[Row]:
    """The four per-call rows; each state in its own event loop, so the SDK's pool starts empty."""
    fresh = asyncio.run(_fresh(base_url, api_key, job_id, calls))
    burst = asyncio.run(_after_burst(base_url, api_key, job_id, calls))
    return [fresh[0], burst[0], fresh[1], burst[1]]
