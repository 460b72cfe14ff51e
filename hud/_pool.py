"""The SDK's HTTP/1.1 connection pool: httpcore's, with bookkeeping that does not grow with idle connections.

httpcore 1.0's `AsyncConnectionPool` runs one bookkeeping pass when a request is sent and another when
its answer is closed. Each pass asks every idle connection whether the server closed it
(`has_expired()`: on asyncio, anyio builds a dict of socket attributes with a `getpeername()` call, then
`poll()`; about 15 µs per connection on a 2-core VM), and its keep-alive check counts all connections
once per idle connection. A burst of concurrent calls leaves its connections idle, and every later
request pays for each of them twice: after 100 concurrent calls, a sequential call cost 1.3 to 1.5x a
fresh client's. The same check compares the *total* number of connections with
`max_keepalive_connections`, so with more requests in flight than that limit, each answered request
closes its connection and the next one opens a new one (encode/httpcore#1035).

`LifoConnectionPool` keeps httpcore's connections, requests and limits, and replaces that pass:

- connections are kept in order of last use; a request takes the most recently used idle connection
  for its origin, probed as httpcore probes it before it is handed out, so sequential calls after a
  burst keep using one warm connection and the others are not touched;
- one other idle connection (the least recently used) is probed per pass, at most every
  `SWEEP_INTERVAL` seconds, so connections the server closed, or idle longer than `keepalive_expiry`,
  are still closed, one at a time;
- `max_keepalive_connections` bounds the *idle* connections, and only once fewer requests than that
  are in the pool, so up to `max_connections` requests in flight reuse their connections instead of
  reconnecting;
- a connection handed to a request that has not started yet is neither handed out again nor closed.
"""

from __future__ import annotations

import logging
import time

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest
from httpcore._async.interfaces import AsyncConnectionInterface

__all__ = ["LIMITS", "SWEEP_INTERVAL", "LifoConnectionPool", "use_lifo_pool"]

logger = logging.getLogger("hud")

#: The SDK's connection limits over HTTP: httpx's defaults, named so that the benchmarks' baselines use
#: the same. 100 connections, as many as the requests `hud._api` lets in flight per event loop.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
#: Seconds between two probes of the least recently used idle connection: keep-alive timeouts are
#: seconds long (httpx 5 s, uvicorn 5 s), and a probe costs what a tenth of a request does.
SWEEP_INTERVAL = 0.1


class LifoConnectionPool(httpcore.AsyncConnectionPool):
    """An `httpcore.AsyncConnectionPool` for HTTP/1.1 whose per-request work is O(1) in idle connections.

    Probes (`has_expired()`) per pass: the connection handed out, and the least recently used idle one
    when `SWEEP_INTERVAL` has passed. The rest of the pass walks the connection and request lists once,
    with no I/O.
    """

    _swept_at = 0.0  # a class default: `use_lifo_pool` swaps the class of a pool already built

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        queued: list[AsyncPoolRequest] = []
        reserved: set[AsyncConnectionInterface] = set()  # connections hash by identity
        for request in self._requests:
            if request.connection is None:
                queued.append(request)
            else:
                reserved.add(request.connection)
        live: list[AsyncConnectionInterface] = []
        spare: list[AsyncConnectionInterface] = []  # idle, spoken for by no request; least recently used first
        for pooled in self._connections:
            # An HTTP/1.1 connection is available exactly when it is idle and open; only the others
            # (busy, connecting, failed, closed) need the second question.
            if pooled.is_available():
                live.append(pooled)
                if pooled not in reserved:
                    spare.append(pooled)
            elif not pooled.is_closed():
                live.append(pooled)
        # Idle connections beyond the keep-alive limit are closed, least recently used first, but never
        # below the number of requests in the pool: under sustained concurrency the next requests are
        # about to take them, and closing them would only make those requests reconnect.
        keep = max(self._max_keepalive_connections, len(self._requests))
        closing = spare[: max(0, len(spare) - keep)]
        spare = spare[len(closing) :]
        if len(spare) > 1 and (now := time.monotonic()) - self._swept_at >= SWEEP_INTERVAL:
            self._swept_at = now
            if spare[0].has_expired():
                closing.append(spare.pop(0))
        if closing:
            gone = set(closing)
            live = [c for c in live if c not in gone]
        used: list[AsyncConnectionInterface] = []
        for request in queued:
            origin = request.request.url.origin
            connection = self._take_spare(spare, origin, closing, live)
            if connection is None:
                if len(live) >= self._max_connections:
                    if not spare:
                        continue  # stays queued until a connection is released
                    oldest = spare.pop(0)  # pool full of other origins' idle connections: make room
                    closing.append(oldest)
                    live.remove(oldest)
                connection = self.create_connection(origin)
                live.append(connection)
            used.append(connection)
            request.assign_to_connection(connection)
        if used:
            taken = set(used)
            live = [c for c in live if c not in taken] + used
        self._connections = live
        return closing

    @staticmethod
    def _take_spare(
        spare: list[AsyncConnectionInterface],
        origin: httpcore.Origin,
        closing: list[AsyncConnectionInterface],
        live: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        """The most recently used spare connection to `origin` that the server has not closed, if any."""
        for index in range(len(spare) - 1, -1, -1):
            connection = spare[index]
            if not connection.can_handle_request(origin):
                continue
            del spare[index]
            if not connection.has_expired():
                return connection
            closing.append(connection)
            live.remove(connection)
        return None


def use_lifo_pool(client: httpx.AsyncClient) -> bool:
    """Give `client`'s default transport a `LifoConnectionPool` (its settings and connections kept).

    Returns False, and leaves the client as it is, when its transport is not httpx's default one on
    httpcore's stock pool (a proxy, a custom transport) or httpcore is not the 1.0 series this pool is
    written against. Proxied origins (`mounts`) keep httpcore's pool either way.
    """
    pool = getattr(client._transport, "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool or not httpcore.__version__.startswith("1.0."):
        logger.debug("hud: httpcore %s: keeping its own connection pool", httpcore.__version__)
        return False
    # Same class layout (a subclass with no state of its own): only the pass changes.
    pool.__class__ = LifoConnectionPool
    return True
