"""What keeps a running job honest when its process stops: heartbeats, SIGTERM, pending closes.

- `Heartbeat`: while a job runs, its lease is renewed every `HUD_HEARTBEAT_INTERVAL` seconds in the
  background; if the process dies, the server's lease runs out and calls the job `crashed`. Against
  a server without the endpoint (the platform), heartbeats stop after the first 404, silently.
- `TerminateAsCancel`: SIGTERM (what `docker stop`, Kubernetes and `timeout` send) cancels the
  running jobs like Ctrl-C does; once they are marked `cancelled`, the process ends by SIGTERM, as
  it would have without the handler.
- `PendingCloses`: environments left by a cancellation are closed just after it settles (to tell a
  timeout from a cancellation); the job waits for those closes before its final status.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import Any

from hud.errors import HudError, InvalidRequestError, NotFoundError

__all__ = ["Heartbeat", "PendingCloses", "TerminateAsCancel", "active_job", "keep", "pending_closes"]

logger = logging.getLogger("hud")


class Heartbeat:
    """Calls `beat()` now and then every `interval` seconds, until stopped.

    Args:
        beat: One heartbeat request (raising `HudError` when it fails).
        interval: Seconds between heartbeats.
        what: Named in the debug log when a heartbeat fails.
    """

    def __init__(self, beat: Callable[[], Awaitable[Any]], interval: float, what: str) -> None:
        self._beat = beat
        self._interval = interval
        self._what = what
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts beating in the background (the first heartbeat goes at once)."""
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stops beating; waits for a heartbeat in flight to end."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._beat()
            except (NotFoundError, InvalidRequestError) as exc:
                if isinstance(exc, NotFoundError) or exc.status_code == 405:
                    # The server has no heartbeats (the platform): the job holds no lease there.
                    return
                logger.debug("hud: heartbeat of %s refused (%s)", self._what, exc)
            except HudError as exc:
                # Missing one is harmless: the lease is several intervals long.
                logger.debug("hud: heartbeat of %s failed (%s); next in %g s", self._what, exc, self._interval)
            except Exception:
                # Heartbeats must never break the job they hold: without them its lease runs out.
                logger.exception("hud: heartbeats of %s stopped", self._what)
                return
            await asyncio.sleep(self._interval)


class PendingCloses:
    """Closes of environments still running for one job (see `pending_closes`)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, task: asyncio.Task[Any]) -> None:
        """Keeps `task` until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Waits for every close added so far (their failures were logged by themselves)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


# The Job of the innermost job block running in this context (`hud.job.current_job()`), None outside
# one. A ContextVar, not a global: asyncio tasks (gather, create_task, TaskGroup) and asyncio.to_thread
# copy the context they start in, so whatever a block spawns sees its Job, and concurrent blocks never
# see each other's. Typed Any: the Job model lives in hud.job, which imports this module.
active_job: contextvars.ContextVar[Any] = contextvars.ContextVar("hud_current_job", default=None)
# The closes of the innermost job running in this context (None outside one): set by `@job`.
pending_closes: contextvars.ContextVar[PendingCloses | None] = contextvars.ContextVar(
    "hud_pending_closes", default=None
)
# Closes outside any job: kept here only so that they are not garbage-collected while running.
_orphans = PendingCloses()


def keep(task: asyncio.Task[Any]) -> None:
    """Tracks a close started in the background: the current job waits for it, else nobody does."""
    (pending_closes.get() or _orphans).add(task)


class TerminateAsCancel:
    """While jobs run, SIGTERM cancels them; the last to finish ends the process by SIGTERM.

    Only installed in the main thread and when SIGTERM has its default disposition (a handler the
    program set itself is left alone).
    """

    _lock = threading.Lock()
    _tasks: set[asyncio.Task[Any]] = set()  # noqa: RUF012 - one registry per process, on purpose
    _terminated = False

    @classmethod
    @contextlib.contextmanager
    def guard(cls) -> Iterator[None]:
        """Registers the current task for the block's duration."""
        task = asyncio.current_task()
        if task is None or threading.current_thread() is not threading.main_thread():
            yield
            return
        with cls._lock:
            if not cls._tasks:
                if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                    task = None
                else:
                    signal.signal(signal.SIGTERM, cls._on_sigterm)
            if task is not None:
                cls._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                cls._leave(task)

    @classmethod
    def _leave(cls, task: asyncio.Task[Any]) -> None:
        with cls._lock:
            cls._tasks.discard(task)
            if cls._tasks:
                return
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            terminated, cls._terminated = cls._terminated, False
        if terminated:
            logger.warning("hud: SIGTERM: the job was marked cancelled; the process ends now")
            os.kill(os.getpid(), signal.SIGTERM)

    @classmethod
    def _on_sigterm(cls, _signum: int, _frame: FrameType | None) -> None:
        # A signal handler runs between bytecodes of the main thread: hand the work to the loop.
        with cls._lock:
            cls._terminated = True
            tasks = list(cls._tasks)
        for task in tasks:
            task.get_loop().call_soon_threadsafe(task.cancel)
