"""The worst request a stranger can send: an unknown key with a 16 MiB body of tiny JSON values.

It is answered 401 from its headers alone, so sixteen at once neither grow the server's memory nor
hold up a health check sent meanwhile (before, each was read and parsed on the event loop first).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from hud.server import dispose

from ._process import ServerProcess

BODY = b'{"steps":[{"actions":[{"v":[' + b"0," * (8 * 1024 * 1024 - 64) + b"0]}]}]}"
ATTACKS = 16


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _attack(port: int) -> bytes:
    """Sends the headers and as much of the body as the server takes; returns its status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /v2/environments/e/steps HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Authorization: Bearer hud_not_a_real_key\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode()

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(head)
            for start in range(0, len(BODY), 1 << 20):
                writer.write(BODY[start : start + (1 << 20)])
                await writer.drain()

    sending = asyncio.ensure_future(send())
    try:
        return await asyncio.wait_for(reader.readline(), 30)
    finally:
        sending.cancel()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


@pytest.mark.live
async def test_unknown_key_with_a_huge_body_costs_the_server_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'attack.db'}"
    server = ServerProcess(url, tmp_path / "server.log")
    server.start()
    try:
        assert server.process is not None
        before = _rss_mib(server.process.pid)
        attacks = [asyncio.ensure_future(_attack(server.port)) for _ in range(ATTACKS)]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            health = await client.get("/v2/health")
        statuses = await asyncio.gather(*attacks)
        after = _rss_mib(server.process.pid)
    finally:
        server.stop()
        dispose(url)
    assert health.status_code == 200
    assert all(line.startswith(b"HTTP/1.1 401") for line in statuses), statuses
    assert after - before < 100, f"the server grew from {before:.0f} to {after:.0f} MiB"
