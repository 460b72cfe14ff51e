"""Progress drawn on a terminal: the runner's line (`RunProgress`), and `is_terminal` for the CLI's too.

Drawn only when the stream is a terminal (unless asked for): piped or redirected output stays
exactly what the program prints, so scripts and log files never see `\\r` redraws.
"""

from __future__ import annotations

import collections
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["RunProgress", "RunStats", "is_terminal"]

_EVERY_S = 0.1  # redraw at most ten times a second: drawing must never slow the run down
_BAR = 20


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is an open terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


@dataclass
class RunStats:
    """What a run has done so far (the runner updates it; `RunProgress` draws it).

    Attributes:
        total: Attempts to run (tasks x repeats still missing).
        done: Attempts finished: counted, or given up after their retries.
        counted: Finished attempts that count in scores.
        successes: Counted attempts that succeeded.
        errors: Attempts that ended in error, by error kind (every try, retried ones included).
        given_up: Attempts still missing after their retries.
        limit: The concurrency now allowed (adaptive).
        maximum: The largest concurrency allowed (`max_concurrent`).
    """

    total: int
    maximum: int
    done: int = 0
    counted: int = 0
    successes: int = 0
    given_up: int = 0
    limit: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)

    def describe(self) -> str:
        """One line: done/total, success rate so far, errors by kind, concurrency."""
        rate = f"{self.successes / self.counted:.1%}" if self.counted else "-"
        parts = [f"{self.done:,}/{self.total:,}", f"success {rate}"]
        if self.errors:
            parts.append("errors " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.errors.items())))
        if self.given_up:
            parts.append(f"missing {self.given_up:,}")
        parts.append(f"concurrency {self.limit}/{self.maximum}")
        return " · ".join(parts)


class RunProgress:
    """The runner's progress line on stderr, redrawn at most ten times a second.

    Args:
        label: Shown first (the job's name).
        stats: What to draw; read at each redraw.
        stream: Where to draw; stderr by default.
        enabled: True to draw whatever the stream, False never; None (default) when it is a terminal.
    """

    def __init__(
        self, label: str, stats: RunStats, *, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.label = label
        self.stats = stats
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self._start = time.monotonic()
        self._drawn_at: float | None = None

    def tick(self) -> None:
        """Redraws when due (always the first time)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self._drawn_at is None or now - self._drawn_at >= _EVERY_S:
            self._drawn_at = now
            self._draw(self._line())

    def finish(self) -> None:
        """Draws the final line and ends it, so that it stays on screen as the run's summary."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self._start
        self._draw(f"{self._line()} · {elapsed:.1f} s")
        self.stream.write("\n")
        self.stream.flush()

    def _line(self) -> str:
        stats = self.stats
        filled = int(_BAR * stats.done / stats.total) if stats.total else _BAR
        return f"{self.label} [{'#' * filled:<{_BAR}}] {stats.describe()}"

    def _draw(self, text: str) -> None:
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            width = 0
        if width > 1 and len(text) >= width:
            text = text[: width - 2] + "…"
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
