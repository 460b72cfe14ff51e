"""Connection limits of `hud server`: uvicorn's httptools protocol with timeouts and bounds.

uvicorn (checked on 0.54) closes a kept-alive connection `timeout_keep_alive` after an answer, and that
is all: a connection that never sends a byte stays open for ever, a request line and headers may
trickle in for ever (slowloris) and grow without bound (httptools sets no limit), and once the process
runs out of file descriptors it can accept nothing more, health checks included. `HttpProtocol` adds:

- `idle_timeout`: a connection that sends nothing, before its first request or between two, is closed;
- `header_timeout`: a request line and headers not complete after this answer 408 and the connection
  closes (counted from their first byte, so a trickle cannot extend it);
- `max_header_bytes`: larger request line and headers answer 431 and the connection closes;
- `stall_timeout`: a connection whose request body stops arriving, or which stops reading its answer,
  for this long is closed (time the app itself takes, or spends not reading, is not counted);
- `max_connections`: the open connections of the process stay under its open-file limit: a new
  connection closes the one that has waited longest without a request in progress, or, when every one
  is busy, is answered 503 and closed.

`hud server` sets these from `ServerSettings` (the `Limits` class attribute of a subclass, or
`HUD_SERVER_*` in a worker process). They are per process.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import resource
import weakref
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hud.server._render import dumps
from hud.server._settings import ServerSettings

__all__ = ["HttpProtocol", "Limits", "default_max_connections", "protocol_class"]

#: File descriptors kept free for the database pool (a SQLite connection holds up to three), the
#: writer, logs and the event loop, beyond which connections are not taken.
_RESERVED_FDS = 256


def default_max_connections() -> int:
    """Connections per process that stay clear of its open-file limit (`RLIMIT_NOFILE`)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, min(soft - max(_RESERVED_FDS, soft // 8), 100_000))


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What `HttpProtocol` bounds; see the module's docstring."""

    idle_timeout: float = 10.0
    header_timeout: float = 20.0
    stall_timeout: float = 60.0
    max_header_bytes: int = 64 * 1024
    max_connections: int = 0  # 0: default_max_connections()

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> Limits:
        """The limits of `settings`, with `max_connections` worked out when it is 0."""
        return cls(
            idle_timeout=settings.idle_timeout,
            header_timeout=settings.header_timeout,
            stall_timeout=settings.stall_timeout,
            max_header_bytes=settings.max_header_bytes,
            max_connections=settings.max_connections or default_max_connections(),
        )


# The connections of a server that have no request in progress, the one waiting longest first.
_waiting: weakref.WeakKeyDictionary[ServerState, collections.OrderedDict[HttpProtocol, None]] = (
    weakref.WeakKeyDictionary()
)


def _answer(status: int, reason: str, detail: str) -> bytes:
    body = dumps({"detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the limits of the module's docstring."""

    #: Set on a subclass by `protocol_class`; else read from `HUD_SERVER_*` once per process.
    limits: ClassVar[Limits | None] = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        cls = type(self)
        if cls.limits is None:
            cls.limits = Limits.from_settings(ServerSettings())
        self._limits = cls.limits
        self._state = "idle"  # idle: no request in progress; head: one arriving; busy: the app has it
        self._head_bytes = 0
        self._body_done = True  # the current request's body has arrived whole (or it has none)
        self._timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        waiting = _waiting.get(server_state)
        if waiting is None:
            waiting = _waiting[server_state] = collections.OrderedDict()
        self._waiting = waiting

    # -- timers ----------------------------------------------------------------------------------

    def _arm(self, delay: float, callback: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_answer(status, reason, detail))
            self.transport.close()

    def _idle_expired(self) -> None:
        if self._state == "idle" and not self.transport.is_closing():
            self.transport.close()

    def _head_expired(self) -> None:
        if self._state == "head":
            self._state = "refused"
            self._refuse(
                408, "Request Timeout", f"the request line and headers took over {self._limits.header_timeout:g} s"
            )

    def _body_stalled(self) -> None:
        if self._body_done or self.transport.is_closing():
            return
        if self.flow.read_paused:  # the app has not read what came: its time, not the client's
            self._arm(self._limits.stall_timeout, self._body_stalled)
            return
        self.transport.abort()

    def _write_stalled(self) -> None:
        # The client stopped reading the answer: what is buffered for it would never drain.
        self._write_timer = None
        if self.flow.write_paused:
            self.transport.abort()

    def _wait(self) -> None:
        """No request in progress: the connection may idle for idle_timeout, and may make room."""
        self._state = "idle"
        self._waiting[self] = None
        self._waiting.move_to_end(self)
        self._arm(self._limits.idle_timeout, self._idle_expired)

    # -- uvicorn's protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections and not self._make_room():
            self._refuse(503, "Service Unavailable", "the server is at its connection limit: retry shortly")
            return
        self._wait()

    def _make_room(self) -> bool:
        for other in self._waiting:
            if other is not self:
                # Forgotten now, not when its close completes: the next new connection picks another.
                del self._waiting[other]
                self.connections.discard(other)
                other._disarm()
                other.transport.close()
                return True
        return False

    def data_received(self, data: bytes) -> None:
        if self._state == "refused":
            return  # answered and closing: the rest is not parsed
        if self._state == "idle":
            self._state = "head"
            self._head_bytes = 0
            self._waiting.move_to_end(self)
            self._arm(self._limits.header_timeout, self._head_expired)
        if self._state == "head":
            self._head_bytes += len(data)
        elif not self._body_done:
            self._arm(self._limits.stall_timeout, self._body_stalled)
        super().data_received(data)
        # Counted before parsing: a head still incomplete after this many bytes is over the limit
        # (a complete one is measured exactly in on_headers_complete).
        if self._state == "head" and self._head_bytes > self._limits.max_header_bytes:
            self._refuse_large_head()

    def _refuse_large_head(self) -> None:
        self._state = "refused"
        self._refuse(
            431,
            "Request Header Fields Too Large",
            f"the request line and headers are over {self._limits.max_header_bytes} bytes",
        )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._body_done = False

    def on_headers_complete(self) -> None:
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self._limits.max_header_bytes:
            self._refuse_large_head()
            return
        self._state = "busy"
        self._waiting.pop(self, None)
        self._disarm()
        super().on_headers_complete()
        if not self._body_done and not self.transport.is_closing():
            self._arm(self._limits.stall_timeout, self._body_stalled)

    def on_body(self, body: bytes) -> None:
        if self._state != "refused":
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._state == "refused":
            return
        super().on_message_complete()
        self._body_done = True
        if self._state == "busy":
            self._disarm()  # the body is in: the app's time is not counted
            if self.cycle is not None and self.cycle.response_complete and not self.transport.is_closing():
                self._wait()  # answered before its body ended: now drained

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return  # closing, or a pipelined request started
        if self._body_done:
            self._wait()
        else:
            # Answered before its body ended (a 401 from the headers alone): the rest of the body is
            # read and dropped, as this request's, not taken for the next request's headers.
            self._arm(self._limits.stall_timeout, self._body_stalled)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self._limits.stall_timeout, self._write_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        self._waiting.pop(self, None)
        super().connection_lost(exc)


def protocol_class(limits: Limits) -> type[HttpProtocol]:
    """An `HttpProtocol` with `limits`, for uvicorn's `http=` in this process."""
    return type("HttpProtocol", (HttpProtocol,), {"limits": limits})


def uvicorn_options(settings: ServerSettings, *, workers: int) -> dict[str, Any]:
    """uvicorn's options for these limits and `settings.forwarded_allow_ips`.

    One worker runs a subclass holding the limits; worker processes import `HttpProtocol` by name and
    read the limits from `HUD_SERVER_*`, which the caller exports (`ServerSettings.environ`).
    """
    limits = Limits.from_settings(settings)
    trusted = [ip.strip() for ip in settings.forwarded_allow_ips.split(",") if ip.strip()]
    return {
        "http": protocol_class(limits) if workers == 1 else f"{__name__}:HttpProtocol",
        # uvicorn's own timer for kept-alive connections: the same as ours, it takes whole seconds.
        "timeout_keep_alive": max(1, round(settings.idle_timeout)),
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }
