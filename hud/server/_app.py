"""The Starlette app serving openapi.yaml's operations (`_endpoints.py`) and the dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hud._wire import DEFAULT_JOB_LEASE, DEFAULT_MAX_BODY_BYTES
from hud.server._aggregates import Aggregates
from hud.server._auth import Authenticator
from hud.server._db import get_engine
from hud.server._endpoints import Endpoints
from hud.server._http import http_error
from hud.server._middleware import ConcurrencyLimit, LocalOnly
from hud.server._settings import ServerSettings
from hud.server._sweeper import SweepAfterRequests
from hud.server._transactions import Transactions

__all__ = ["app_from_env", "app_from_settings", "create_app"]

Endpoint = Callable[[Request], Awaitable[Response]]


def _by_method(endpoints: dict[str, Endpoint]) -> Endpoint:
    if len(endpoints) == 1:
        return next(iter(endpoints.values()))
    get = endpoints.get("GET")

    async def dispatch(request: Request) -> Response:
        method = request.method
        endpoint = endpoints.get(method) or (get if method == "HEAD" else None)
        assert endpoint is not None  # the Route answered 405 for any other method
        return await endpoint(request)

    return dispatch


def create_app(
    database_url: str,
    *,
    auth: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    dashboard: bool = False,
    job_lease: float = DEFAULT_JOB_LEASE,
    allowed_hosts: Collection[str] | None = None,
    max_concurrent_requests: int | None = None,
) -> Starlette:
    """Builds the reference server's ASGI app over a database, creating or upgrading its schema.

    The app needs no ASGI lifespan events, so it also runs in-process through
    `httpx.ASGITransport`. Engines are shared per database URL within a process.

    Args:
        database_url: `sqlite:///path/to/hud.db` (the folder is created) or
            `postgresql+psycopg://user:password@host/db`.
        auth: When True every operation but `GET /v2/health` and `GET /openapi.yaml` needs
            `Authorization: Bearer <key>` of a key made by `create_key`. When False any
            Authorization header is ignored and every request acts as the account `local`.
        max_body_bytes: Larger request bodies answer 413.
        dashboard: Also serve the HTML dashboard under `/ui/` (needs jinja2: `hud[server]`). With auth
            the browser signs in with an API key and sees that key's account only.
        job_lease: Seconds without a heartbeat after which a `running` job is `crashed` (its open
            environments then close as `crashed` trajectories).
        allowed_hosts: The Host names answered besides loopback ones (`localhost`, 127.0.0.1, `[::1]`);
            `"*"` for any. None: any with auth; loopback only without (so that no web page can drive a
            server without keys, see `_middleware.LocalOnly`).
        max_concurrent_requests: Requests in progress at once; one more answers 503 at once. None: no limit.

    Returns:
        The Starlette app.

    Example:
        >>> app = create_app("sqlite:///hud.db", auth=False)  # doctest: +SKIP
        >>> client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hud")  # doctest: +SKIP
    """
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    if not job_lease > 0:
        raise ValueError("job_lease must be positive")
    transactions = Transactions(get_engine(database_url))
    authenticator = Authenticator(transactions, enabled=auth)
    api = Endpoints(transactions, authenticator, max_body_bytes=max_body_bytes, job_lease=job_lease)
    aggregates = Aggregates(transactions, authenticator, api.sweeper)
    handlers: dict[str, dict[str, Endpoint]] = {
        "/v2/jobs": {"POST": api.create_job, "GET": api.list_jobs},
        "/v2/jobs/{job_id}": {"GET": api.get_job, "PATCH": api.update_job},
        "/v2/jobs/{job_id}/trajectories": {"GET": api.list_trajectories},
        "/v2/jobs/{job_id}/heartbeat": {"POST": api.heartbeat_job},
        "/v2/jobs/{job_id}/environments": {"GET": api.list_environments},
        "/v2/jobs/{job_id}/summary": {"GET": aggregates.summary},
        "/v2/jobs/{job_id}/tasks": {"GET": aggregates.tasks},
        "/v2/trajectories/{trajectory_id}": {"GET": api.get_trajectory},
        "/v2/create_environment": {"POST": api.create_environment},
        "/v2/environments/{env_id}/steps": {"GET": api.list_steps, "POST": api.append_steps},
        "/v2/environments/{env_id}/close": {"POST": api.close_environment},
        "/v2/import": {"POST": api.import_records},
        "/v2/health": {"GET": api.health},
        "/openapi.yaml": {"GET": api.openapi},
    }
    # One route per path, so a 405 lists every method of the path in its Allow header.
    routes: list[BaseRoute] = [
        Route(path, _by_method(methods), methods=list(methods)) for path, methods in handlers.items()
    ]
    if dashboard:
        from hud.server._dashboard import dashboard_mount

        routes.append(dashboard_mount(transactions, authenticator, api.sweeper))
    # Outermost first: a refused host costs nothing; the sweep after an answer is no request in progress.
    middleware: list[Middleware] = []
    if allowed_hosts is not None or not auth:
        middleware.append(Middleware(LocalOnly, allowed_hosts=tuple(allowed_hosts or ())))
    middleware.append(Middleware(SweepAfterRequests, sweeper=api.sweeper))
    if max_concurrent_requests is not None:
        middleware.append(Middleware(ConcurrencyLimit, limit=max_concurrent_requests))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error})
    app.state.database_url = database_url
    return app


def app_from_env() -> Starlette:
    """The app of `hud server --workers N`: each worker process builds it from `HUD_SERVER_*`."""
    settings = ServerSettings()
    if settings.database_url is None:
        raise RuntimeError("HUD_SERVER_DATABASE_URL is not set: start workers with `hud server --workers N`")
    return app_from_settings(settings.database_url, settings)


def app_from_settings(database_url: str, settings: ServerSettings) -> Starlette:
    """The app `hud server` serves: `create_app` with the options of `settings`."""
    return create_app(
        database_url,
        auth=settings.auth,
        max_body_bytes=settings.max_body_bytes,
        dashboard=settings.dashboard,
        job_lease=settings.job_lease,
        allowed_hosts=settings.allowed_hosts or None,
        max_concurrent_requests=settings.max_concurrent_requests,
    )
