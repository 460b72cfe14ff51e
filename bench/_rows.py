"""The table `python -m bench` prints: its rows, and the helpers every benchmark module formats them with."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hud._pool import LIMITS

__all__ = ["Row", "alternate", "log", "ms", "raw_client", "table", "use_settings"]


@dataclass
class Row:
    what: str
    sdk: str
    baseline: str
    result: str
    goal: str
    met: bool | None


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def raw_client(base_url: str, api_key: str) -> httpx.AsyncClient:
    """The baseline: a plain pooled `httpx.AsyncClient` with the SDK's connection limits (`hud._pool.LIMITS`)."""
    return httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60.0, limits=LIMITS
    )


def table(rows: list[Row]) -> str:
    lines = ["| what | SDK | baseline | ratio / value | goal | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        met = "n/a" if row.met is None else ("yes" if row.met else "NO")
        lines.append(f"| {row.what} | {row.sdk} | {row.baseline} | {row.result} | {row.goal} | {met} |")
    return "\n".join(lines)


async def alternate(
    sdk: Callable[[], Awaitable[Any]], raw: Callable[[], Awaitable[Any]], rounds: int
) -> tuple[float, float]:
    """Median seconds of `sdk()` and of `raw()`, alternating which goes first, after one warm-up each."""
    await sdk()
    await raw()
    times: dict[str, list[float]] = {"sdk": [], "raw": []}
    for i in range(rounds):
        order = [("sdk", sdk), ("raw", raw)] if i % 2 == 0 else [("raw", raw), ("sdk", sdk)]
        for name, fn in order:
            start = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["sdk"]), statistics.median(times["raw"])


def use_settings(base_url: str | None, api_key: str | None, home: Path) -> None:
    """Point the SDK's settings at a server, or at the embedded default when both are None."""
    from hud.settings import get_settings

    for name, value in (("HUD_BASE_URL", base_url), ("HUD_API_KEY", api_key)):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    os.environ["HUD_HOME"] = str(home)
    get_settings.cache_clear()
