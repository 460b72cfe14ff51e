"""Everything a store holds, read through its API, for comparing two stores object by object (`hud sync`).

Usage:
    from _stores import embedded_client, server_client, snapshot

    async with embedded_client(home) as source, server_client(base_url, key) as target:
        assert await snapshot(target) == await snapshot(source)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

__all__ = ["embedded_client", "server_client", "snapshot"]


@contextlib.asynccontextmanager
async def embedded_client(home: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the embedded store in `home` (its own in-process app, as the SDK builds it)."""
    from hud.server import create_app, dispose

    url = f"sqlite:///{home / 'hud.db'}"
    # A server without keys answers loopback names only; the SDK's own app also allows its made-up host.
    app = create_app(url, auth=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            yield client
    finally:
        dispose(url)


@contextlib.asynccontextmanager
async def server_client(base_url: str, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a live server, with the key of one account."""
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        yield client


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def _pages(client: httpx.AsyncClient, path: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        page = await _get(client, path, **params)
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


async def snapshot(client: httpx.AsyncClient, job_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Every job of the account (or `job_ids`), newest first, each with its environments (open and closed,
    in order), its trajectories (in closing order, steps included) and the steps of its open environments."""
    if job_ids is None:
        job_ids = [job["id"] for job in await _pages(client, "/v2/jobs", 1000)]
    found = []
    for job_id in job_ids:
        envs = await _pages(client, f"/v2/jobs/{job_id}/environments", 1000)
        open_steps = {
            env["id"]: (await _get(client, f"/v2/environments/{env['id']}/steps", limit=1000))["steps"]
            for env in envs
            if env["state"] == "open"
        }
        found.append(
            {
                "job": await _get(client, f"/v2/jobs/{job_id}"),
                "environments": envs,
                "trajectories": await _get(client, f"/v2/jobs/{job_id}/trajectories"),
                "open_steps": open_steps,
            }
        )
    return found
