"""The SDK's connection pool over HTTP (hud/_pool.py): its pass on stand-in connections, then live.

What made a sequential call after a burst cost 1.3 to 1.5x a fresh client's: httpcore's pool probed
every idle connection's socket twice per request, and with more requests in flight than its
keep-alive limit it closed each connection as its answer arrived. These tests count what the pool
does (socket probes, connections handed out or closed), never how long it takes. The pass runs in
an event loop (a request's wake-up is an anyio event), hence `async def` throughout.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpcore
import httpx
import pytest
from _servers import live_server
from httpcore._async.connection_pool import AsyncPoolRequest

import hud
from hud import _api
from hud._pool import LIMITS, SWEEP_INTERVAL, LifoConnectionPool, use_lifo_pool
from hud.job import create_job, load_job
from hud.server import create_key
from hud.settings import get_settings

ORIGIN = "http://a.test"


class _Connection:
    """A pooled HTTP/1.1 connection's state, as the pool's pass sees it; counts its socket probes."""

    def __init__(self, name: str, *, idle: bool = True, expired: bool = False, origin: str = ORIGIN) -> None:
        self.name = name
        self.idle = idle
        self.expired = expired
        self.origin = httpcore.URL(origin).origin
        self.probes = 0

    def is_idle(self) -> bool:
        return self.idle

    def is_available(self) -> bool:
        return self.idle

    def is_closed(self) -> bool:
        return False

    def has_expired(self) -> bool:
        self.probes += 1
        return self.expired

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self.origin

    def __repr__(self) -> str:
        return self.name


def _pool(connections: list[_Connection], requests: int, *, keepalive: int = 2) -> LifoConnectionPool:
    pool = LifoConnectionPool(max_connections=6, max_keepalive_connections=keepalive)
    pool._connections = list(connections)  # type: ignore[arg-type]
    pool._requests = [AsyncPoolRequest(httpcore.Request("GET", ORIGIN + "/")) for _ in range(requests)]
    pool._swept_at = time.monotonic()  # no sweep unless a test asks for one
    return pool


async def test_a_request_takes_the_most_recently_used_connection_and_probes_only_it() -> None:
    old, recent = _Connection("old"), _Connection("recent")
    pool = _pool([old, recent], requests=1)
    assert pool._assign_requests_to_connections() == []
    assert pool._requests[0].connection is recent
    assert (old.probes, recent.probes) == (0, 1)
    assert pool._connections == [old, recent]  # recent stays the most recently used


async def test_a_connection_found_closed_is_dropped_and_the_next_one_taken() -> None:
    old, dead = _Connection("old"), _Connection("dead", expired=True)
    pool = _pool([old, dead], requests=1)
    assert pool._assign_requests_to_connections() == [dead]
    assert pool._requests[0].connection is old
    assert pool._connections == [old]


async def test_surplus_idle_connections_close_least_recently_used_first() -> None:
    connections = [_Connection(str(i)) for i in range(5)]
    pool = _pool(connections, requests=0, keepalive=2)
    assert pool._assign_requests_to_connections() == connections[:3]
    assert pool._connections == connections[3:]
    assert sum(c.probes for c in connections) == 0  # closing needs no probe


async def test_idle_connections_are_kept_while_as_many_requests_are_in_the_pool() -> None:
    # Five requests in flight (on busy connections) and five idle connections: the next requests
    # take the idle ones, so none is closed although the keep-alive limit is 2.
    busy = [_Connection(f"busy{i}", idle=False) for i in range(5)]
    idle = [_Connection(f"idle{i}") for i in range(5)]
    pool = _pool(busy + idle, requests=0, keepalive=2)
    for request, connection in zip(
        [AsyncPoolRequest(httpcore.Request("GET", ORIGIN + "/")) for _ in busy], busy, strict=True
    ):
        request.assign_to_connection(connection)  # type: ignore[arg-type]
        pool._requests.append(request)
    assert pool._assign_requests_to_connections() == []
    assert len(pool._connections) == 10


async def test_a_connection_handed_to_a_request_not_yet_started_is_neither_reused_nor_closed() -> None:
    spoken_for, other = _Connection("spoken-for"), _Connection("other")
    pool = _pool([other, spoken_for], requests=2, keepalive=0)
    pool._requests[0].assign_to_connection(spoken_for)  # type: ignore[arg-type]
    closing = pool._assign_requests_to_connections()
    assert pool._requests[1].connection is other
    assert spoken_for not in closing and spoken_for in pool._connections


async def test_the_least_recently_used_idle_connection_is_probed_once_per_sweep_interval() -> None:
    stale, fresh, recent = _Connection("stale", expired=True), _Connection("fresh"), _Connection("recent")
    pool = _pool([stale, fresh, recent], requests=0, keepalive=5)
    pool._swept_at = time.monotonic() - SWEEP_INTERVAL
    assert pool._assign_requests_to_connections() == [stale]
    assert pool._assign_requests_to_connections() == []  # within the interval: no probe at all
    assert (stale.probes, fresh.probes, recent.probes) == (1, 0, 0)


async def test_a_full_pool_closes_another_origin_s_idle_connection_to_make_room() -> None:
    others = [_Connection(f"other{i}", origin="http://b.test") for i in range(6)]
    pool = _pool(others, requests=1, keepalive=6)
    assert pool._assign_requests_to_connections() == [others[0]]
    assert pool._requests[0].connection not in others
    assert len(pool._connections) == 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('pool') / 'hud.db'}"
    key = create_key(database_url, "pool")
    with live_server(database_url) as base_url:
        yield base_url, key


@pytest.fixture
async def sdk_pool(server: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The pool of the SDK's own client for `server`, in this test's event loop."""
    monkeypatch.setenv("HUD_BASE_URL", server[0])
    monkeypatch.setenv("HUD_API_KEY", server[1])
    get_settings.cache_clear()
    client = _api._pooled_client(get_settings()).get_async_httpx_client()
    yield client._transport._pool
    await hud.aclose()


def _count_calls(monkeypatch: pytest.MonkeyPatch, target: Any, name: str) -> list[int]:
    """Counts the calls of `target.name` (still called through) in the returned one-item list."""
    count = [0]
    original: Callable[..., Any] = getattr(target, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, counted)
    return count


@pytest.mark.live
async def test_sdk_client_uses_the_lifo_pool_with_its_limits(sdk_pool: Any) -> None:
    # Guards the wiring: an httpx or httpcore upgrade that drops it fails here, not in a benchmark.
    assert type(sdk_pool) is LifoConnectionPool
    assert sdk_pool._max_connections == LIMITS.max_connections
    assert sdk_pool._max_keepalive_connections == LIMITS.max_keepalive_connections


@pytest.mark.live
async def test_sequential_calls_after_a_burst_probe_one_socket_not_every_idle_one(
    server: tuple[str, str], sdk_pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await create_job("pool-probes")
    await asyncio.gather(*(load_job(job.id) for _ in range(100)))
    idle = sum(c.is_idle() for c in sdk_pool.connections)
    # The burst left many idle connections (httpcore's pool too): what made later calls slow.
    assert idle >= 10
    probes = _count_calls(monkeypatch, httpcore._backends.anyio, "is_socket_readable")
    calls = 20
    for _ in range(calls):
        await load_job(job.id)
    # httpcore's own pass probes every idle connection twice per call (2 x 20 x 20 = 800 here); this
    # one probes the connection it hands out, plus one idle connection every SWEEP_INTERVAL.
    assert 0 < probes[0] <= 2 * calls
    assert sum(c.is_idle() for c in sdk_pool.connections) == idle  # none dropped to get there


@pytest.mark.live
async def test_a_connection_the_server_closed_is_not_handed_out(sdk_pool: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    job = await create_job("pool-closed")
    monkeypatch.setenv("HUD_MAX_RETRIES", "0")  # a retry on a new connection would hide a dead one used
    get_settings.cache_clear()
    (connection,) = sdk_pool.connections
    # Our socket's read side shut: it polls readable with nothing to read, as after the server's FIN.
    connection._connection._network_stream.get_extra_info("socket").shutdown(socket.SHUT_RD)
    assert (await load_job(job.id)).id == job.id
    assert connection not in sdk_pool.connections
    assert len(sdk_pool.connections) == 1


def test_other_transports_are_left_alone() -> None:
    with_custom = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    assert use_lifo_pool(with_custom) is False
    plain = httpx.AsyncClient()
    assert use_lifo_pool(plain) is True
    assert type(plain._transport._pool) is LifoConnectionPool
