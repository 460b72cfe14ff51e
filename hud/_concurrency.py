"""Adaptive concurrency for the runner: additive increase, multiplicative decrease (AIMD).

A rate-limited provider answers too many concurrent attempts with errors; retrying them at the same
concurrency only hits the limit again. `AdaptiveLimit` lets at most `limit` attempts run at once,
halves the limit when an attempt reports an overload (an infrastructure error) and raises it by one
for each attempt that succeeds, back up to the maximum, as TCP congestion control and Netflix's
concurrency-limits do.
"""

from __future__ import annotations

import asyncio
import collections

__all__ = ["AdaptiveLimit"]

#: The limit is multiplied by this on an overload.
DECREASE = 0.5


class AdaptiveLimit:
    """At most `limit` holders at once; the limit moves between 1 and `maximum` (AIMD).

    One overload lowers the limit once per *generation*: attempts that started before the last
    decrease report failures that decrease already answered, so a burst of errors from attempts that
    ran together halves the limit once, not once per attempt.

    Args:
        maximum: The largest (and first) limit.

    Example:
        >>> limit = AdaptiveLimit(8)
        >>> generation = await limit.acquire()  # doctest: +SKIP
        >>> limit.release(generation, overloaded=False)  # doctest: +SKIP
    """

    def __init__(self, maximum: int) -> None:
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self._generation = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> int:
        """Waits for a free place (first come, first served); returns the generation to release with."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self._generation
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Granted just as it was cancelled: hand the place on.
                self.in_flight -= 1
                self._wake()
            else:
                self._waiters.remove(waiter)
            raise
        return self._generation

    def release(self, generation: int, *, overloaded: bool | None) -> None:
        """Frees a place, adapting the limit to how the attempt went.

        Args:
            generation: What `acquire` returned.
            overloaded: True for an infrastructure error (decrease), False for an attempt that went
                through (increase), None for neither (the limit stays).
        """
        self.in_flight -= 1
        if overloaded:
            if generation >= self._generation:
                self._generation += 1
                self.limit = max(1, int(self.limit * DECREASE))
        elif overloaded is False and self.limit < self.maximum:
            self.limit += 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)
