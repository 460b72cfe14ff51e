"""The Starlette app serving openapi.yaml's operations over a `Store`."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hud.server._db import get_engine
from hud.server._errors import ApiError
from hud.server._store import Op, Store, dumps, in_flight_error
from hud.server._validation import (
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

__all__ = ["DEFAULT_MAX_BODY_BYTES", "app_from_env", "create_app"]

logger = logging.getLogger("hud.server")

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
JSON = "application/json"

# Environment variables through which `hud server --workers N` hands its options to each worker.
ENV_DATABASE_URL = "HUD_SERVER_DATABASE_URL"
ENV_AUTH = "HUD_SERVER_AUTH"
ENV_MAX_BODY_BYTES = "HUD_SERVER_MAX_BODY_BYTES"
ENV_DASHBOARD = "HUD_SERVER_DASHBOARD"

try:
    VERSION = importlib.metadata.version("hud")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0+unknown"


def _error(exc: ApiError) -> Response:
    return Response(exc.body(), status_code=exc.status_code, media_type=JSON, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OperationalError):
        logger.warning("database error on %s %s: %s", request.method, request.url.path, exc)
        return _error(ApiError(503, "the database is unavailable or busy: retry shortly", {"Retry-After": "1"}))
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error(ApiError(500, "internal server error: the server's log has the details"))


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        detail = "method not allowed on this path: see /openapi.yaml for the operations"
    elif exc.status_code == 404:
        detail = "no such path: see /openapi.yaml for the operations"
    else:
        detail = str(exc.detail)
    return Response(
        dumps({"detail": detail}).encode(), status_code=exc.status_code, media_type=JSON, headers=exc.headers
    )


class _Api:
    def __init__(self, store: Store, *, auth: bool, max_body_bytes: int) -> None:
        self.store = store
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        # Idempotency keys being processed by this process: a concurrent retry answers 409.
        self.in_flight: set[tuple[str, str]] = set()
        self._spec: bytes | None = None

    # -- request plumbing ------------------------------------------------------------------------

    def _key(self, request: Request) -> str | None:
        """The bearer token (None without auth); 401 when it is missing or malformed."""
        if not self.auth:
            return None
        header = request.headers.get("authorization")
        if header is None:
            raise ApiError(
                401,
                "missing API key: send the header `Authorization: Bearer <key>` (set HUD_API_KEY); "
                "the server's admin creates keys with `hud keys create`",
                {"WWW-Authenticate": "Bearer"},
            )
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise ApiError(
                401,
                "malformed Authorization header: it must be `Bearer <key>` with the key after one space",
                {"WWW-Authenticate": "Bearer"},
            )
        return token

    async def _body(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        too_large = ApiError(413, f"the request body is over {self.max_body_bytes} bytes: send less per request")
        if length is not None and length.strip().isdigit() and int(length) > self.max_body_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        # Content-Length can be absent (chunked) or lie: count what actually arrives.
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large
            chunks.append(chunk)
        raw = b"".join(chunks)
        content_type = request.headers.get("content-type")
        if raw.strip() and content_type is not None:
            media = content_type.split(";", 1)[0].strip().lower()
            if media != JSON and not media.endswith("+json"):
                raise ApiError(400, f"the body must be JSON: send Content-Type: application/json, not {media!r}")
        return raw

    async def _write(self, request: Request, build: Callable[[bytes], Op[str]]) -> Response:
        try:
            key = self._key(request)
            raw = await self._body(request)
            pending: ApiError | None = None
            op: Op[str] | None = None
            try:
                _check_query(request, _NO_PARAMS)
                op = build(raw)
            except ApiError as exc:
                pending = exc
            idempotency: tuple[str, str] | None = None
            flight: tuple[str, str] | None = None
            idem_key = request.headers.get("idempotency-key")
            if idem_key is not None and pending is None:
                if not 1 <= len(idem_key) <= 255:
                    pending = ApiError(422, "the Idempotency-Key header must be 1 to 255 characters (use a UUID)")
                else:
                    digest = hashlib.sha256(
                        # scope["path"] is request.url.path without building the whole URL.
                        b"\x00".join([request.method.encode(), request.scope["path"].encode("utf-8", "replace"), raw])
                    ).hexdigest()
                    idempotency = (idem_key, digest)
                    flight = (key or "", idem_key)
                    if flight in self.in_flight:
                        raise in_flight_error()
                    self.in_flight.add(flight)
            try:
                body, replayed = await self.store.write(key, pending, _must(op), idempotency)
            finally:
                if flight is not None:
                    self.in_flight.discard(flight)
            headers = {"Idempotency-Replayed": "true"} if replayed else None
            return Response(body.encode(), media_type=JSON, headers=headers)
        except ApiError as exc:
            return _error(exc)
        except Exception as exc:
            return _unexpected(request, exc)

    async def _read(
        self, request: Request, build: Callable[[], Op[str]], allowed: frozenset[str] = frozenset()
    ) -> Response:
        try:
            key = self._key(request)
            pending: ApiError | None = None
            op: Op[str] | None = None
            try:
                _check_query(request, allowed)
                op = build()
            except ApiError as exc:
                pending = exc
            body = await run_in_threadpool(self.store.read, key, pending, _must(op))
            return Response(body.encode(), media_type=JSON)
        except ApiError as exc:
            return _error(exc)
        except Exception as exc:
            return _unexpected(request, exc)

    # -- endpoints -------------------------------------------------------------------------------

    async def create_job(self, request: Request) -> Response:
        return await self._write(request, lambda raw: Store.create_job(parse_body(JobCreate, raw)))

    async def list_jobs(self, request: Request) -> Response:
        def build() -> Op[str]:
            params = request.query_params
            limit = query_int(params, "limit", low=1, high=1000, default=100)
            assert limit is not None
            status = query_str(params, "status", max_length=64)
            name = query_str(params, "name", max_length=256)
            cursor = params.get("cursor")
            return Store.list_jobs(limit, cursor, status, name)

        return await self._read(request, build, _LIST_JOBS_PARAMS)

    async def get_job(self, request: Request) -> Response:
        return await self._read(request, lambda: Store.get_job(check_id(request.path_params["job_id"], "job_id")))

    async def update_job(self, request: Request) -> Response:
        def build(raw: bytes) -> Op[str]:
            job_id = check_id(request.path_params["job_id"], "job_id")
            return Store.update_job(job_id, parse_body(JobUpdate, raw))

        return await self._write(request, build)

    async def list_trajectories(self, request: Request) -> Response:
        try:
            key = self._key(request)
            pending: ApiError | None = None
            job_id = request.path_params["job_id"]
            limit: int | None = None
            try:
                _check_query(request, _PAGE_PARAMS)
                check_id(job_id, "job_id")
                limit = query_int(request.query_params, "limit", low=1, high=10000, default=None)
            except ApiError as exc:
                pending = exc
            cursor = request.query_params.get("cursor")
            first, next_cursor, rest = await run_in_threadpool(
                self.store.list_trajectories, key, pending, job_id, limit, cursor
            )
            if rest is None:
                headers = {"X-Next-Cursor": next_cursor} if next_cursor else None
                return Response(first, media_type=JSON, headers=headers)

            def chunks() -> Any:
                yield first
                yield from rest

            return StreamingResponse(chunks(), media_type=JSON)
        except ApiError as exc:
            return _error(exc)
        except Exception as exc:
            return _unexpected(request, exc)

    async def get_trajectory(self, request: Request) -> Response:
        return await self._read(
            request, lambda: Store.get_trajectory(check_id(request.path_params["trajectory_id"], "trajectory_id"))
        )

    async def create_environment(self, request: Request) -> Response:
        return await self._write(request, lambda raw: Store.create_environment(parse_body(EnvironmentCreate, raw)))

    async def append_steps(self, request: Request) -> Response:
        def build(raw: bytes) -> Op[str]:
            env_id = check_id(request.path_params["env_id"], "env_id")
            return Store.append_steps(env_id, parse_body(StepsAppend, raw))

        return await self._write(request, build)

    async def close_environment(self, request: Request) -> Response:
        def build(raw: bytes) -> Op[str]:
            env_id = check_id(request.path_params["env_id"], "env_id")
            return Store.close_environment(env_id, parse_body(EnvironmentClose, raw, optional=True))

        return await self._write(request, build)

    async def health(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.store.health)
        except Exception as exc:
            return _unexpected(request, exc)
        return Response(dumps({"status": "ok", "version": VERSION}).encode(), media_type=JSON)

    async def openapi(self, _request: Request) -> Response:
        if self._spec is None:
            self._spec = (importlib.resources.files("hud_api") / "openapi.yaml").read_bytes()
        return Response(self._spec, media_type="application/yaml")


Endpoint = Callable[[Request], Awaitable[Response]]

_NO_PARAMS: frozenset[str] = frozenset()
_PAGE_PARAMS = frozenset({"limit", "cursor"})
_LIST_JOBS_PARAMS = frozenset({"limit", "cursor", "status", "name"})


def _check_query(request: Request, allowed: frozenset[str]) -> None:
    # A misspelt parameter (?limt=5) is refused rather than silently ignored, like unknown body fields.
    if not request.scope.get("query_string"):
        return
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) if allowed else "none"
        raise ApiError(422, f"unknown query parameter(s) {', '.join(unknown)}: this operation takes {takes}")


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


def _must(op: Op[str] | None) -> Op[str]:
    # With a pending error the store raises it before calling the op; this stands in for it.
    if op is not None:
        return op

    def unreachable(_conn: Any, _account: str) -> str:
        raise AssertionError("pending error not raised")

    return unreachable


def create_app(
    database_url: str, *, auth: bool = True, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, dashboard: bool = False
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

    Returns:
        The Starlette app.

    Example:
        >>> app = create_app("sqlite:///hud.db", auth=False)  # doctest: +SKIP
        >>> client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hud")  # doctest: +SKIP
    """
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    store = Store(get_engine(database_url), auth=auth)
    api = _Api(store, auth=auth, max_body_bytes=max_body_bytes)
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

        routes.append(dashboard_mount(store, auth=auth))
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.database_url = database_url
    return app


def app_from_env() -> Starlette:
    """The app of `hud server --workers N`: each worker process builds it from the environment."""
    return create_app(
        os.environ[ENV_DATABASE_URL],
        auth=os.environ.get(ENV_AUTH, "1") != "0",
        max_body_bytes=int(os.environ.get(ENV_MAX_BODY_BYTES, str(DEFAULT_MAX_BODY_BYTES))),
        dashboard=os.environ.get(ENV_DASHBOARD, "0") == "1",
    )
