"""A one-line progress counter on stderr for long commands; silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from hud._progress import is_terminal

__all__ = ["Progress", "is_terminal"]

_EVERY_S = 0.1  # redraw at most ten times a second: drawing must not slow the download down


class Progress:
    """Counts items on one stderr line (`label: 1,234 (5,000/s)`), erased when done.

    Only when the stream is a terminal: piped or redirected output stays exactly what the command
    prints, so scripts never see the counter.

    Args:
        label: What is being counted.
        total: The number expected, when known: a bar is drawn.
        stream: Where to draw; stderr by default.
        enabled: Force drawing on or off; by default, whether `stream` is a terminal.
    """

    def __init__(
        self, label: str, *, total: int | None = None, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled and is_terminal(self.stream)
        self.count = 0
        self.detail = ""
        self._start = time.monotonic()
        self._drawn_at: float | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self.enabled and self._drawn_at is not None:
            self.stream.write("\r\x1b[K")  # erase the line: the command's own output follows clean
            self.stream.flush()

    def advance(self, n: int = 1) -> None:
        """Count `n` more; redraws when due (always the first time)."""
        self.update(self.count + n)

    def update(self, count: int, *, total: int | None = None, detail: str = "") -> None:
        """Set the count, and the total and a trailing detail (`12.3 MB sent`); redraws when due."""
        self.count = count
        self.total = total if total is not None else self.total
        self.detail = detail
        if not self.enabled:
            return
        now = time.monotonic()
        if self._drawn_at is None or now - self._drawn_at >= _EVERY_S:
            self._drawn_at = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = f"{self.count / elapsed:,.0f}/s" if elapsed > 0.5 else ""
        if self.total:
            done = min(self.count / self.total, 1.0)
            bar = "#" * int(done * 30)
            text = f"{self.label} [{bar:<30}] {self.count:,}/{self.total:,} {rate}"
        else:
            text = f"{self.label}: {self.count:,} {rate}"
        if self.detail:
            text = f"{text.rstrip()}, {self.detail}"
        self.stream.write("\r\x1b[K" + text.rstrip())
        self.stream.flush()
