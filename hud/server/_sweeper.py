"""Sweeps for crashed jobs: persists what reads already see when a running job's lease runs out.

At most every `interval` seconds, once a request has been answered, the app looks for running jobs
past their lease (one indexed read) and, only when there are some, crashes them (one write). It
runs at the end of a request (`SweepAfterRequests`), not in the background: the embedded default has
no loop of its own, nothing is left running when an app goes away, and every worker process sweeps
on its own (the updates are conditional, so concurrent sweeps do nothing twice). A listing of one job's trajectories or
environments crashes that job first, so it shows its closed environments at once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hud.server._operations import leases
from hud.server._transactions import Transactions

__all__ = ["SweepAfterRequests", "Sweeper"]

logger = logging.getLogger("hud.server")


class Sweeper:
    """Starts lease sweeps on one database, and crashes single jobs on demand."""

    def __init__(self, transactions: Transactions, lease: float) -> None:
        self.lease = lease
        self.interval = min(5.0, lease / 4)
        self._tx = transactions
        self._next = 0.0

    def due(self) -> bool:
        """Whether a sweep is due (then the next is `interval` away)."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True

    async def sweep(self) -> None:
        """Crashes the running jobs past their lease; a failed sweep is logged, not raised."""
        try:
            # Looked for with a read: the writer is only asked when a job did crash.
            found = await self._tx.read(lambda conn: leases.expired_jobs(conn, self.lease))
            if not found:
                return
            crashed = await self._tx.write(lambda conn: leases.sweep(conn, found, self.lease))
        except Exception:
            logger.exception("the sweep for crashed jobs failed; the next request retries it")
            self._next = 0.0
            return
        if crashed:
            logger.info("marked %d job(s) crashed: no heartbeat for more than %g s", crashed, self.lease)

    async def crash(self, account: str, job_id: str) -> None:
        """Persists one job's crash now (its lease ran out when it was read)."""
        await self._tx.write(lambda conn: leases.crash_job(conn, account, job_id, self.lease))


class SweepAfterRequests:
    """ASGI wrapper: after an HTTP request has been answered, sweeps when one is due."""

    def __init__(self, app: Any, sweeper: Sweeper) -> None:
        self.app = app
        self.sweeper = sweeper

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http" and self.sweeper.due():
            await self.sweeper.sweep()
