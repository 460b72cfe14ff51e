"""Connections cannot exhaust `hud server`: idle and slow ones are closed, headers are bounded, and a
process near its open-file limit still answers. Real sockets against a live server.

Before: 3,000 connections that never sent a byte stayed open; slowloris connections were never closed;
a 64 MiB request header was accepted; under a 1,024 file limit, 1,100 idle connections made
`/v2/health` fail. The timeouts are shortened through `HUD_SERVER_*` where a test waits for them;
the file-limit test runs with the defaults.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hud.server import dispose

from ._process import ServerProcess

pytestmark = pytest.mark.live


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def _server(
    tmp_path: Path, *, file_limit: int | None = None, extra: list[str] | None = None
) -> Iterator[ServerProcess]:
    url = f"sqlite:///{tmp_path / 'connections.db'}"
    server = ServerProcess(url, tmp_path / "server.log", extra=["--no-auth", *(extra or [])], file_limit=file_limit)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        dispose(url)


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed `sock` within `seconds`, and what it sent before closing."""
    sock.settimeout(0.2)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def _health(server: ServerProcess, timeout: float = 5.0) -> int:
    with httpx.Client(base_url=server.base_url, timeout=timeout) as client:
        return client.get("/v2/health").status_code


def test_connections_that_send_nothing_are_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_SERVER_IDLE_TIMEOUT", "1")
    with _server(tmp_path) as server:
        silent = [_connect(server) for _ in range(200)]
        started = time.monotonic()
        closed = [_closed_within(sock, 6)[0] for sock in silent]
        assert all(closed) and time.monotonic() - started < 8
        # A kept-alive connection that goes quiet after an answer is closed the same way.
        kept = _connect(server)
        kept.sendall(b"GET /v2/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        is_closed, received = _closed_within(kept, 6)
        assert is_closed and received.startswith(b"HTTP/1.1 200")
        for sock in [*silent, kept]:
            sock.close()


def test_slowloris_connections_are_answered_408_and_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_SERVER_HEADER_TIMEOUT", "2")
    with _server(tmp_path) as server:
        slow = [_connect(server) for _ in range(20)]
        for sock in slow:
            sock.sendall(b"GET /v2/health HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()
        ended: list[bytes] = []
        # A header byte every 0.25 s: each is activity, but the headers never complete.
        while time.monotonic() - started < 10 and len(ended) < len(slow):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")
            time.sleep(0.25)
            for sock in list(slow):
                sock.settimeout(0.01)
                with contextlib.suppress(TimeoutError):
                    answer = sock.recv(65536)
                    ended.append(answer)
                    slow.remove(sock)
                    sock.close()
        assert len(ended) == 20 and time.monotonic() - started < 6
        assert all(answer.startswith(b"HTTP/1.1 408") or answer == b"" for answer in ended)
        assert any(answer.startswith(b"HTTP/1.1 408") for answer in ended)
        assert _health(server) == 200


def test_request_headers_are_bounded(tmp_path: Path) -> None:
    with _server(tmp_path) as server:
        assert server.process is not None
        before = _rss_mib(server.process.pid)
        # 100 KiB of header in one complete request: 431, and the connection is closed.
        big = _connect(server)
        big.sendall(b"GET /v2/health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        is_closed, received = _closed_within(big, 5)
        assert is_closed and received.startswith(b"HTTP/1.1 431"), received[:200]
        # 64 MiB of one header that never ends: refused long before it is all sent.
        huge = _connect(server)
        huge.sendall(b"GET /v2/health HTTP/1.1\r\nHost: localhost\r\nX-Huge: ")
        sent = 0
        with contextlib.suppress(OSError):
            while sent < 64 * 1024 * 1024:
                huge.sendall(b"a" * (1 << 20))
                sent += 1 << 20
        assert sent < 32 * 1024 * 1024, "the server kept reading"
        assert _rss_mib(server.process.pid) - before < 32
        assert _health(server) == 200
        for sock in (big, huge):
            sock.close()


def test_a_stalled_body_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_SERVER_STALL_TIMEOUT", "1")
    with _server(tmp_path) as server:
        stalled = _connect(server)
        head = b"POST /v2/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        stalled.sendall(head + b'Content-Length: 100\r\n\r\n{"name": "')
        is_closed, _ = _closed_within(stalled, 6)
        assert is_closed
        stalled.close()
        assert _health(server) == 200


def test_requests_beyond_the_concurrency_limit_answer_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_SERVER_MAX_CONCURRENT_REQUESTS", "2")
    with _server(tmp_path) as server:
        # Two requests in progress: their bodies are still arriving.
        busy = [_connect(server) for _ in range(2)]
        try:
            head = b"POST /v2/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            for sock in busy:
                sock.sendall(head + b'Content-Length: 13\r\n\r\n{"name')
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                # Once the server has read both heads (at once on an idle machine), a third is refused.
                deadline = time.monotonic() + 15
                refused = client.get("/v2/jobs")
                while refused.status_code == 200 and time.monotonic() < deadline:
                    time.sleep(0.05)
                    refused = client.get("/v2/jobs")
                assert refused.status_code == 503, refused.text
                assert refused.headers["Retry-After"] == "1" and "busy" in refused.json()["detail"]
                for sock in busy:
                    sock.sendall(b'": "x"}')
                    sock.settimeout(10)
                    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
                assert client.get("/v2/jobs").status_code == 200
        finally:
            for sock in busy:
                sock.close()


def test_idle_connections_over_the_file_limit_leave_health_answering(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2500:
        pytest.skip(f"this test opens 1,100+ sockets itself: its hard open-file limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2500), hard))
    idle: list[socket.socket] = []
    try:
        with _server(tmp_path, file_limit=1024) as server:
            for n in range(1100):
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
                if n % 100 == 99:
                    assert _health(server) == 200, f"after {n + 1} idle connections"
            statuses = [_health(server) for _ in range(20)]
            assert statuses == [200] * 20
            assert "out of system resource" not in server.log() and "Too many open files" not in server.log()
    finally:
        for sock in idle:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
