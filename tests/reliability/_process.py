"""A `hud server` subprocess the tests can kill -9 and restart, with its output kept in a file."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _servers import free_port

__all__ = ["ServerProcess"]


class ServerProcess:
    """`python -m hud._cli server` on a free loopback port (the same port across restarts).

    Args:
        database_url: Its `--db` ("" for none).
        log_path: Where its stdout and stderr go (appended to across restarts).
        workers: `--workers`.
        host: `--host`, or None to leave the server's default.
        log_level: `--log-level`.
        extra: More command-line options.
        file_limit: The server's open-file limit (RLIMIT_NOFILE, soft and hard), or None to inherit it.
    """

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        workers: int = 1,
        host: str | None = "127.0.0.1",
        log_level: str = "warning",
        extra: list[str] | None = None,
        file_limit: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.workers = workers
        self.host = host
        self.log_level = log_level
        self.extra = extra or []
        self.file_limit = file_limit
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0, env: dict[str, str] | None = None) -> str:
        """Starts the server and waits until `GET /v2/health` answers 200; returns its base URL.

        Args:
            timeout: Seconds to wait for health.
            env: The server's environment (default: this process's).
        """
        command = [sys.executable, "-m", "hud._cli", "server", "--port", str(self.port)]
        if self.database_url:  # "": the server finds its database itself (--db-file in extra, HUD_SERVER_*)
            command += ["--db", self.database_url]
        command += ["--workers", str(self.workers), "--log-level", self.log_level]
        if self.host is not None:
            command += ["--host", self.host]
        command += self.extra
        with self.log_path.open("ab") as log:
            # A session of its own: kill() reaches uvicorn's worker processes too.
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env=env,
                preexec_fn=None if self.file_limit is None else self._limit_files,
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"hud server exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if client.get("/v2/health").status_code == 200:
                        return self.base_url
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"hud server not healthy after {timeout} s:\n{self.log()}")
                time.sleep(0.05)

    def _limit_files(self) -> None:
        assert self.file_limit is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.file_limit, self.file_limit))

    def kill(self) -> None:
        """SIGKILL to the server and its workers: no shutdown code runs."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL after 10 s."""
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""
