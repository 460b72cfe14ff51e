"""hud: the Python SDK for the HUD Jobs API.

The seed API lives in `hud.job` (`job`, `create_job`, `load_job`, `Job`); environments in `hud.gym`;
trajectories in `hud.trajectory`; errors in `hud.errors`; settings in `hud.settings`; `hud.sync` copies
jobs between stores. With no key and no base URL configured, everything runs against an embedded local
server (see `hud.settings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hud import errors, gym, job, trajectory
from hud._api import aclose
from hud._sync import sync
from hud._sync_report import SyncReport
from hud.job import Job, create_job, current_job, load_job
from hud.settings import Settings, get_settings
from hud.trajectory import Trajectory, TrajectoryStep

if TYPE_CHECKING:
    from hud_api import AuthenticatedClient

__all__ = [
    "Job",
    "Settings",
    "SyncReport",
    "Trajectory",
    "TrajectoryStep",
    "__version__",
    "aclose",
    "client",
    "create_job",
    "current_job",
    "errors",
    "get_settings",
    "gym",
    "job",
    "load_job",
    "sync",
    "trajectory",
]

__version__ = "0.1.0"


def client(api_key: str | None = None) -> AuthenticatedClient:
    """The generated low-level client (`hud_api`), configured from the same settings as the SDK.

    For calls the facade does not cover. The returned client is yours: use it as a context manager,
    or close it, when done. On the embedded default it talks to the in-process server.

    Example:
        >>> from hud_api.api.jobs import list_jobs
        >>> async with hud.client() as c:
        ...     page = await list_jobs.asyncio(client=c, limit=10)
    """
    from hud._api import new_client

    return new_client(get_settings().with_api_key(api_key))
