"""Run a command with its stderr on a real pseudo-terminal, to see what it draws there.

Usage:
    code, out, terminal = run_with_terminal_stderr([sys.executable, "-m", "hud._cli", "jobs", "list"])
"""

from __future__ import annotations

import os
import pty
import subprocess

__all__ = ["run_with_terminal_stderr"]


def run_with_terminal_stderr(
    command: list[str], *, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, str, str]:
    """Runs `command` with stdout to a pipe and stderr to a pseudo-terminal; (code, stdout, terminal)."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        out, _ = process.communicate(timeout=timeout)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    return process.returncode, out.decode(), b"".join(chunks).decode("utf-8", "replace")
