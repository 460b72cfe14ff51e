"""The Starlette app serving openapi.yaml's operations.

Every request: authenticate (`_auth`), then read and parse what it carries (`_http`, `_requests`),
then run its operation (`_operations`) in a transaction (`_transactions`), through the idempotency
store for a POST with an Idempotency-Key (`_idempotency`). Nothing reaches the database writer
before the caller is known and the request is valid.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import re
from collections.abc import Awaitable, Callable, Collection, Iterator

from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hud._wire import (
    DEFAULT_MAX_BODY_BYTES,
    IDEMPOTENCY_KEY_HEADER,
    JOB_PAGE_DEFAULT,
    JOB_PAGE_MAX,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_STATUS_LENGTH,
    NEXT_CURSOR_HEADER,
    REPLAYED_HEADER,
    TRAJECTORY_PAGE_MAX,
)
from hud.server._auth import Authenticator
from hud.server._db import get_engine
from hud.server._errors import ApiError
from hud.server._http import JSON, check_query, error_response, http_error, read_body, unexpected
from hud.server._idempotency import Idempotency, InFlight, request_hash
from hud.server._middleware import ConcurrencyLimit, LocalOnly
from hud.server._operations import environments, jobs, trajectories
from hud.server._render import dumps
from hud.server._requests import (
    EnvironmentClose,
    EnvironmentCreate,
    JobCreate,
    JobUpdate,
    StepsAppend,
    check_id,
    parse_body,
    query_int,
    query_str,
)
from hud.server._settings import ServerSettings
from hud.server._transactions import Transactions

__all__ = ["app_from_env", "app_from_settings", "create_app"]

try:
    VERSION = importlib.metadata.version("hud")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0+unknown"

#: An operation bound to its request's arguments: `op(conn, account) -> JSON text`.
Op = Callable[[Connection, str], str]
Endpoint = Callable[[Request], Awaitable[Response]]

_NO_PARAMS: frozenset[str] = frozenset()
#: The Idempotency-Key format of openapi.yaml (`^[!-~]+$`): what travels in a header unchanged.
_VISIBLE_ASCII = re.compile(r"[!-~]+")
_PAGE_PARAMS = frozenset({"limit", "cursor"})
_LIST_JOBS_PARAMS = frozenset({"limit", "cursor", "status", "name"})


class _Api:
    def __init__(self, transactions: Transactions, auth: Authenticator, *, max_body_bytes: int) -> None:
        self.tx = transactions
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        self.idempotency = Idempotency(postgres=transactions.postgres)
        self.in_flight = InFlight()
        self._spec: bytes | None = None

    # -- the request path --------------------------------------------------------------------------

    async def _write(self, request: Request, parse: Callable[[bytes], Awaitable[Op]]) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, _NO_PARAMS)
            raw = await read_body(request, self.max_body_bytes)
            op = await parse(raw)
            key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
            if key is None:
                body = await self.tx.write(lambda conn: op(conn, account))
                return Response(body.encode(), media_type=JSON)
            if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not _VISIBLE_ASCII.fullmatch(key):
                raise ApiError(
                    422,
                    f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII "
                    "characters, no spaces (use a UUID)",
                )
            # scope["path"] is request.url.path without building the whole URL.
            digest = request_hash(request.method, request.scope["path"], raw)
            with self.in_flight.claim(account, key):
                body, replayed = await self.tx.write(
                    lambda conn: self.idempotency.run(conn, account, key, digest, lambda c: op(c, account))
                )
            return Response(body.encode(), media_type=JSON, headers={REPLAYED_HEADER: "true"} if replayed else None)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return unexpected(request, exc)

    async def _read(self, request: Request, build: Callable[[], Op], allowed: frozenset[str] = _NO_PARAMS) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, allowed)
            op = build()
            body = await self.tx.read(lambda conn: op(conn, account))
            return Response(body.encode(), media_type=JSON)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return unexpected(request, exc)

    # -- endpoints ---------------------------------------------------------------------------------

    async def create_job(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            return functools.partial(jobs.create_job, body=await parse_body(JobCreate, raw))

        return await self._write(request, parse)

    async def list_jobs(self, request: Request) -> Response:
        def build() -> Op:
            params = request.query_params
            limit = query_int(params, "limit", low=1, high=JOB_PAGE_MAX, default=JOB_PAGE_DEFAULT)
            assert limit is not None
            return functools.partial(
                jobs.list_jobs,
                limit=limit,
                cursor=params.get("cursor"),
                status=query_str(params, "status", max_length=MAX_STATUS_LENGTH),
                name=query_str(params, "name", max_length=MAX_NAME_LENGTH),
            )

        return await self._read(request, build, _LIST_JOBS_PARAMS)

    async def get_job(self, request: Request) -> Response:
        return await self._read(
            request, lambda: functools.partial(jobs.get_job, job_id=check_id(request.path_params["job_id"], "job_id"))
        )

    async def update_job(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            job_id = check_id(request.path_params["job_id"], "job_id")
            return functools.partial(jobs.update_job, job_id=job_id, body=await parse_body(JobUpdate, raw))

        return await self._write(request, parse)

    async def list_trajectories(self, request: Request) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, _PAGE_PARAMS)
            job_id = check_id(request.path_params["job_id"], "job_id")
            limit = query_int(request.query_params, "limit", low=1, high=TRAJECTORY_PAGE_MAX, default=None)
            cursor = request.query_params.get("cursor")
            first = await self.tx.read(lambda conn: trajectories.first_page(conn, account, job_id, limit, cursor))
            if first.resume_after is None:
                headers = {NEXT_CURSOR_HEADER: first.next_cursor} if first.next_cursor else None
                return Response(first.body, media_type=JSON, headers=headers)
            return StreamingResponse(self._stream(first.body, account, job_id, first.resume_after), media_type=JSON)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return unexpected(request, exc)

    def _stream(self, first: bytes, account: str, job_id: str, after: int) -> Iterator[bytes]:
        batch = trajectories.STREAM_BATCH
        yield first
        # Each batch is its own short read transaction, so a long download never pins a snapshot.
        while True:
            items, seqs = self.tx.read_now(
                functools.partial(trajectories.trajectory_page, account=account, job_id=job_id, after=after, n=batch)
            )
            if not items:
                yield b"]"
                return
            after = seqs[-1]
            yield ("," + ",".join(items)).encode()

    async def get_trajectory(self, request: Request) -> Response:
        return await self._read(
            request,
            lambda: functools.partial(
                trajectories.get_trajectory,
                trajectory_id=check_id(request.path_params["trajectory_id"], "trajectory_id"),
            ),
        )

    async def create_environment(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            return functools.partial(environments.create_environment, body=await parse_body(EnvironmentCreate, raw))

        return await self._write(request, parse)

    async def append_steps(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            env_id = check_id(request.path_params["env_id"], "env_id")
            texts = environments.step_texts(await parse_body(StepsAppend, raw))
            return functools.partial(environments.append_steps, env_id=env_id, texts=texts)

        return await self._write(request, parse)

    async def close_environment(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            env_id = check_id(request.path_params["env_id"], "env_id")
            body = await parse_body(EnvironmentClose, raw, optional=True)
            return functools.partial(environments.close_environment, env_id=env_id, body=body)

        return await self._write(request, parse)

    async def health(self, request: Request) -> Response:
        try:
            await self.tx.health()
        except Exception as exc:
            return unexpected(request, exc)
        return Response(dumps({"status": "ok", "version": VERSION}).encode(), media_type=JSON)

    async def openapi(self, _request: Request) -> Response:
        if self._spec is None:
            self._spec = (importlib.resources.files("hud_api") / "openapi.yaml").read_bytes()
        return Response(self._spec, media_type="application/yaml")


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
    transactions = Transactions(get_engine(database_url))
    authenticator = Authenticator(transactions, enabled=auth)
    api = _Api(transactions, authenticator, max_body_bytes=max_body_bytes)
    handlers: dict[str, dict[str, Endpoint]] = {
        "/v2/jobs": {"POST": api.create_job, "GET": api.list_jobs},
        "/v2/jobs/{job_id}": {"GET": api.get_job, "PATCH": api.update_job},
        "/v2/jobs/{job_id}/trajectories": {"GET": api.list_trajectories},
        "/v2/trajectories/{trajectory_id}": {"GET": api.get_trajectory},
        "/v2/create_environment": {"POST": api.create_environment},
        "/v2/environments/{env_id}/steps": {"POST": api.append_steps},
        "/v2/environments/{env_id}/close": {"POST": api.close_environment},
        "/v2/health": {"GET": api.health},
        "/openapi.yaml": {"GET": api.openapi},
    }
    # One route per path, so a 405 lists every method of the path in its Allow header.
    routes: list[BaseRoute] = [
        Route(path, _by_method(methods), methods=list(methods)) for path, methods in handlers.items()
    ]
    if dashboard:
        from hud.server._dashboard import dashboard_mount

        routes.append(dashboard_mount(transactions, authenticator))
    middleware: list[Middleware] = []
    if allowed_hosts is not None or not auth:
        middleware.append(Middleware(LocalOnly, allowed_hosts=tuple(allowed_hosts or ())))
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
        allowed_hosts=settings.allowed_hosts or None,
        max_concurrent_requests=settings.max_concurrent_requests,
    )
