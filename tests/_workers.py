"""Which worker process of a `hud server --workers N` served each request, read from /proc (Linux).

uvicorn's workers share one listening socket and each serves, itself, every request of the
connections its accept() took. So a request's worker is the process holding the server's end of the
request's connection: in /proc/net/tcp (tcp6), the socket whose local port is the server's and whose
remote port is the client's gives an inode, and /proc/<pid>/fd shows which process holds it. Nothing
in the server is changed or asked.

Usage:
    workers = Workers(port)                       # the worker processes listening on `port`
    served = ServedBy(workers)
    with httpx.Client(base_url=..., event_hooks={"response": [served.record]},
                      limits=FRESH_CONNECTIONS) as client:
        ...
    served.assert_spread()                        # at least two workers served requests
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

__all__ = ["FRESH_CONNECTIONS", "ConnectionSampler", "ServedBy", "Workers"]

#: httpx limits that close each connection after its response: every request opens its own, so the
#: kernel hands concurrent requests to whichever worker accepts first (a kept-alive connection stays
#: on the worker that accepted it).
FRESH_CONNECTIONS = httpx.Limits(max_keepalive_connections=0)

_WORKER = "hud_test_worker_pid"
_LISTEN = "0A"
_ESTABLISHED = "01"


def _sockets(port: int) -> Iterator[tuple[int, str, int]]:
    """(remote port, state, inode) of every TCP socket whose local port is `port`."""
    # The tables list every socket of the machine (thousands in TIME_WAIT after a load test): a
    # substring test first keeps a sample cheap for the test process that takes it.
    needle = f":{port:04X} "
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                if needle not in line:
                    continue
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
                if int(local.rsplit(":", 1)[1], 16) == port and inode != 0:
                    yield int(remote.rsplit(":", 1)[1], 16), state, inode


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(FileNotFoundError, PermissionError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _is_uvicorn_worker(pid: int) -> bool:
    # uvicorn starts its workers with multiprocessing's spawn; the supervisor is the command itself,
    # and multiprocessing's resource tracker, another child, never holds the listening socket.
    with contextlib.suppress(FileNotFoundError, PermissionError):
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


class Workers:
    """The uvicorn worker processes serving `port`: those holding its listening socket, the supervisor excepted.

    Args:
        port: The server's port on loopback.
        expected: How many workers the server was started with; waits (up to `timeout`) until
            that many hold the socket.
    """

    def __init__(self, port: int, expected: int, timeout: float = 30.0) -> None:
        self.port = port
        listening = {inode for _, state, inode in _sockets(port) if state == _LISTEN}
        assert listening, f"nothing listens on port {port}"
        deadline = time.monotonic() + timeout
        while True:
            pids = {
                int(entry)
                for entry in os.listdir("/proc")
                if entry.isdigit() and _is_uvicorn_worker(int(entry)) and listening & _socket_inodes(int(entry))
            }
            if len(pids) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(pids) == expected, f"{len(pids)} worker process(es) listen on port {port}, not {expected}"
        self.pids = frozenset(pids)

    def holder(self, inode: int) -> int | None:
        """The worker holding the socket `inode`, or None."""
        for pid in self.pids:
            if inode in _socket_inodes(pid):
                return pid
        return None

    def serving(self, client_port: int) -> int:
        """The worker holding the server's end of the open connection from `client_port`."""
        for remote, _state, inode in _sockets(self.port):
            if remote == client_port:
                pid = self.holder(inode)
                assert pid is not None, f"the connection from port {client_port} is held by no worker"
                return pid
        raise AssertionError(f"no open connection from port {client_port} to port {self.port}")

    def accepted(self) -> dict[int, int]:
        """The open connections to the server right now: client port -> the worker holding it."""
        by_inode = {inode: pid for pid in self.pids for inode in _socket_inodes(pid)}
        return {
            remote: by_inode[inode]
            for remote, state, inode in _sockets(self.port)
            if state == _ESTABLISHED and inode in by_inode
        }


class ServedBy:
    """Records the worker that served each response, as an httpx response hook (sync or async client).

    The hook runs when the response's headers arrive, before its body is read: the connection is still
    open (the client asked for none to be closed), so the server's end of it is still in its worker.
    """

    def __init__(self, workers: Workers) -> None:
        self.workers = workers
        self.served: collections.Counter[int] = collections.Counter()
        self._lock = threading.Lock()

    def record(self, response: httpx.Response) -> None:
        """The hook for an `httpx.Client`."""
        client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        pid = self.workers.serving(client_port)
        response.extensions[_WORKER] = pid
        with self._lock:
            self.served[pid] += 1

    @staticmethod
    def worker_of(response: httpx.Response) -> int:
        """The worker that served `response` (recorded by the hook)."""
        return int(response.extensions[_WORKER])

    async def arecord(self, response: httpx.Response) -> None:
        """The hook for an `httpx.AsyncClient`."""
        self.record(response)

    @contextlib.contextmanager
    def spread(self, at_least: int = 2) -> Iterator[None]:
        """Asserts that the requests of the block were served by at least `at_least` workers."""
        before = self.served.copy()
        yield
        during = self.served - before
        assert len(during) >= at_least, f"the requests reached {dict(during)} (worker: count), not {at_least} workers"

    def assert_spread(self, at_least: int = 2) -> None:
        """Asserts that the requests so far were served by at least `at_least` workers."""
        assert len(self.served) >= at_least, f"the requests reached {dict(self.served)} (worker: count)"


class ConnectionSampler:
    """For a client whose connections cannot be hooked (the SDK's pool): samples, in a thread, the
    open connections to the server and the worker holding each.

    A client opens a connection only to send a request on it, so every connection seen carried at least
    one request served by the worker that holds it.
    """

    def __init__(self, workers: Workers, every: float = 0.25) -> None:
        self.workers = workers
        self.every = every
        self.seen: set[tuple[int, int]] = set()  # (client port, worker)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connection-sampler", daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.update(self.workers.accepted().items())
            self._stop.wait(self.every)

    def assert_spread(self, at_least: int = 2) -> None:
        """Asserts that the connections seen were held by at least `at_least` workers."""
        by_worker = collections.Counter(pid for _port, pid in self.seen)
        assert len(by_worker) >= at_least, f"the connections reached {dict(by_worker)} (worker: count)"
