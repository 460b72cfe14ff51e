"""A misbehaving HTTP/1.1 proxy on 127.0.0.1, between the SDK and a real `hud server`.

Each request it relays gets a fault chosen by a seeded random plan, decided per logical request (its
Idempotency-Key, else its method, path and body) so that only its first `faulty_attempts` attempts
can be hit: a client with a larger retry budget always gets through, and a test can require that.

Faults:
    drop_before   close the connection without forwarding (nothing reached the server)
    drop_after    forward, let the server commit, close without answering
    delay         hold the request past the client's timeout, then forward it (it commits late)
    503           answer 503 without forwarding
    503_after     forward (the server commits), answer 503 instead of its answer
    429           answer 429 with `Retry-After: 0` without forwarding
    truncate      forward, send the answer's head and half its body, close
    duplicate     forward the request twice at once (a duplicated packet train); relay the 409
                  "in flight" answer when the server gave one, else the first answer
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import random
from typing import Final

__all__ = ["FAULTS", "FaultProxy"]

FAULTS: Final = ("drop_before", "drop_after", "delay", "503", "503_after", "429", "truncate", "duplicate")


class FaultProxy:
    """Relays HTTP/1.1 requests from 127.0.0.1 to `upstream`, injecting faults.

    Attributes:
        injected: How many times each fault was injected.
        in_flight_409s: How many 409 "in flight" answers (from `duplicate`) reached the client.
        requests: Requests received, faulted or not.
    """

    def __init__(
        self,
        upstream_port: int,
        *,
        rate: float,
        delay: float,
        seed: int = 1234,
        faulty_attempts: int = 2,
        faults: tuple[str, ...] = FAULTS,
    ) -> None:
        self.upstream_port = upstream_port
        self.rate = rate
        self.delay = delay
        self.faulty_attempts = faulty_attempts
        self.faults = faults
        self.injected: collections.Counter[str] = collections.Counter()
        self.in_flight_409s = 0
        self.requests = 0
        self._random = random.Random(seed)
        self._attempts: collections.Counter[bytes] = collections.Counter()
        self._server: asyncio.Server | None = None
        self.url = ""
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Starts listening; returns the proxy's base URL."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def aclose(self) -> None:
        """Stops listening and waits for the requests it still holds (delayed ones)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _plan(self, identity: bytes) -> str | None:
        self._attempts[identity] += 1
        if self._attempts[identity] > self.faulty_attempts or self._random.random() >= self.rate:
            return None
        return self._random.choice(self.faults)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.requests += 1
            head, body, key = request
            identity = key or hashlib.sha256(head.split(b"\r\n", 1)[0] + b"\x00" + body).digest()
            fault = self._plan(identity)
            if fault is not None:
                self.injected[fault] += 1
            await self._relay(fault, head, body, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up (timeout): what matters is what reached the server
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _relay(self, fault: str | None, head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        if fault == "drop_before":
            return
        if fault == "503":
            writer.write(_answer(503, b'{"detail":"proxy: service unavailable"}'))
            return await writer.drain()
        if fault == "429":
            writer.write(_answer(429, b'{"detail":"proxy: slow down"}', b"Retry-After: 0\r\n"))
            return await writer.drain()
        if fault == "delay":
            await asyncio.sleep(self.delay)
        if fault == "duplicate":
            answers = await asyncio.gather(self._forward(head, body), self._forward(head, body))
            in_flight = [a for a in answers if a.startswith(b"HTTP/1.1 409") and b"idempotency-in-flight" in a.lower()]
            if in_flight:
                self.in_flight_409s += 1
            answer = in_flight[0] if in_flight else answers[0]
        else:
            answer = await self._forward(head, body)
        if fault in ("drop_after",):
            return
        if fault == "503_after":
            writer.write(_answer(503, b'{"detail":"proxy: lost the answer"}'))
        elif fault == "truncate":
            answer_head, _, answer_body = answer.partition(b"\r\n\r\n")
            writer.write(answer_head + b"\r\n\r\n" + answer_body[: len(answer_body) // 2])
        else:
            writer.write(answer)
        await writer.drain()

    async def _forward(self, head: bytes, body: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            # Read while writing, as a real proxy does: a server may answer before it has read the whole
            # body (a 413) and close, and the answer must be read before the reset discards it.
            answering = asyncio.ensure_future(_read_all(reader))  # it closes after one answer: we asked it to
            try:
                writer.write(head + body)
                await writer.drain()
            except ConnectionError:
                pass
            answer = await answering
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        answer_head, _, answer_body = answer.partition(b"\r\n\r\n")
        lines = [line for line in answer_head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + answer_body


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes, kept when the close is a reset (it answered early and closed
    with part of the body unread: a 413)."""
    chunks: list[bytes] = []
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes, bytes | None] | None:
    """(head with `Connection: close`, body, Idempotency-Key) of one request, None at EOF."""
    try:
        raw_head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = raw_head[:-4].split(b"\r\n")
    kept = [lines[0]]
    length = 0
    key: bytes | None = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"connection":
            continue
        if name == b"content-length":
            length = int(value.strip())
        if name == b"idempotency-key":
            key = value.strip()
        kept.append(line)
    body = await reader.readexactly(length)
    return b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n", body, key


def _answer(status: int, body: bytes, extra: bytes = b"") -> bytes:
    reason = {429: b"Too Many Requests", 503: b"Service Unavailable"}[status]
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n"
        % (status, reason, len(body), extra)
        + body
    )
